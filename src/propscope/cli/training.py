"""The train command: reproduce a model from its configuration file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from propscope.cli.app import app, reports_errors, stderr
from propscope.errors import InputError


@app.command()
@reports_errors
def train(
    config: Annotated[Path, typer.Option("--config", "-c", help="Training configuration (TOML).")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Model folder (overrides the config).")] = None,
    overrides: Annotated[
        list[str] | None, typer.Option("--set", help="Override a setting, e.g. --set training.epochs=10.")
    ] = None,
) -> None:
    """Train a model from a configuration file (needs the train extra)."""
    from propscope.model.config import load_config, with_overrides

    extra = [f"export.output={str(output)!r}"] if output is not None else []
    settings = with_overrides(load_config(config), [*(overrides or []), *extra])
    try:
        from propscope.model.recipe import train as run_training
    except ImportError as err:
        raise InputError(f"training needs the train extra: pip install 'propscope[train]' ({err})") from None
    directory = run_training(settings, progress=lambda line: stderr.print(line, highlight=False))
    stderr.print(f"model written to {directory}")
