"""Commands that build models: train one from its configuration file, or combine trained ones."""

from __future__ import annotations

import shlex
from pathlib import Path
from types import ModuleType
from typing import Annotated

import typer

from propscope.cli.app import app, examples, reports_errors, stderr
from propscope.errors import InputError

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="Training configuration (TOML).")]
OverridesOption = Annotated[
    list[str] | None,
    typer.Option("--set", metavar="<key=value>", help="Override a setting, e.g. --set training.epochs=10."),
]


def _recipe() -> ModuleType:
    try:
        from propscope.training import recipe
    except ImportError as err:
        raise InputError(f"this needs the train extra: pip install 'propscope[train]' ({err})") from None
    return recipe


def _progress(line: str) -> None:
    stderr.print(line, highlight=False)


def _command_line(*words: str | Path, overrides: list[str] | None) -> str:
    """How this run was asked for, as a shell would take it: model cards record it so it can be rerun."""
    settings = [word for item in overrides or [] for word in ("--set", item)]
    return shlex.join(["propscope", *map(str, words), *settings])


@app.command(
    epilog=examples(
        "propscope train --config configs/default.toml -o runs/default",
        "propscope train --config configs/default.toml --set training.epochs=10 -o runs/try",
        "propscope train --config configs/default.toml --tagger src/propscope/resources/models/default -o runs/default",
        "propscope train --config configs/default.toml --stand-in runs/default.work/chooser -o runs/all",
        "propscope train --config configs/default.toml --reading-of default -o runs/default",
    )
)
@reports_errors
def train(
    config: ConfigOption,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Model folder (overrides the config).")] = None,
    overrides: OverridesOption = None,
    tagger: Annotated[
        Path | None,
        typer.Option(
            "--tagger",
            help="Keep this model folder's tagger (trained on the training split) and train only the verifier.",
        ),
    ] = None,
    stand_in: Annotated[
        Path | None,
        typer.Option(
            "--stand-in",
            help="Train on the whole pool; make every choice on the validation split as this model (trained on "
            "the training split) reads it.",
        ),
    ] = None,
    reading_of: Annotated[
        str | None,
        typer.Option(
            "--reading-of",
            metavar="MODEL",
            help="Train on the whole pool and read articles as this model (a shipped name or a folder) does: its "
            "decoding, technique thresholds and calibration, unchanged. Reproduces it in its networks' training time.",
        ),
    ] = None,
) -> None:
    """Train a model from a configuration file (needs the train extra)."""
    from propscope.training.config import load_config, with_overrides

    extra = [f"export.output={str(output)!r}"] if output is not None else []
    settings = with_overrides(load_config(config), [*(overrides or []), *extra])
    named = [
        flag for flag, value in (("--tagger", tagger), ("--stand-in", stand_in), ("--reading-of", reading_of)) if value
    ]
    if len(named) > 1:
        raise InputError(f"{' and '.join(named)} are different ways to train: name one of them")
    words = ["--config", config, *(["-o", output] if output else []), *(["--tagger", tagger] if tagger else [])]
    words += ["--stand-in", stand_in] if stand_in else []
    words += ["--reading-of", reading_of] if reading_of else []
    command = _command_line("train", *words, overrides=overrides)
    if reading_of is not None:
        from propscope.pipeline.analyzer import model_directory

        model = model_directory(reading_of)
        directory = _recipe().train_reading_as(settings, model, progress=_progress, command=command)
    elif tagger is not None:
        directory = _recipe().add_verifier(settings, tagger, progress=_progress, command=command)
    elif stand_in is not None:
        directory = _recipe().train_with_stand_in(settings, stand_in, progress=_progress, command=command)
    else:
        directory = _recipe().train(settings, progress=_progress, command=command)
    stderr.print(f"model written to {directory}")


@app.command(
    epilog=examples(
        "propscope ensemble runs/a runs/b -o runs/pair --config configs/default.toml --folds runs/a.work "
        "--folds runs/b.work",
        "propscope ensemble runs/a runs/b -o runs/pair --config configs/default.toml --set data.folds=0",
    )
)
@reports_errors
def ensemble(
    members: Annotated[list[Path], typer.Argument(help="Trained model folders (same windows and techniques).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The ensemble's folder.")],
    config: ConfigOption,
    folds: Annotated[
        list[Path] | None,
        typer.Option(
            "--folds",
            metavar="<folder>",
            help="A member's work folder with its fold networks (once per member, in order).",
        ),
    ] = None,
    overrides: OverridesOption = None,
    stand_ins: Annotated[
        list[Path] | None,
        typer.Option(
            "--stand-in",
            metavar="<folder>",
            help="A folder that reads the validation split in a member's place (once per member, in order); "
            "choices are then made there.",
        ),
    ] = None,
    own_verifier: Annotated[
        bool,
        typer.Option(
            "--verifier",
            help="Name techniques with a verifier of the ensemble's own, trained with the config's [verifier] "
            "settings (with --stand-in; shipped as a delta over its encoder).",
        ),
    ] = False,
) -> None:
    """Combine trained models into one more accurate, slower model (needs the train extra).

    With a cross-fitting config, its decoding and calibration are chosen on out-of-fold predictions of the
    members' fold networks (``--folds runs/NAME.work`` per member); with ``--set data.folds=0``, on dev articles.
    """
    from propscope.training.config import load_config, with_overrides

    settings = with_overrides(load_config(config), overrides or [])
    named = [word for work in folds or [] for word in ("--folds", work)]
    named += [word for folder in stand_ins or [] for word in ("--stand-in", folder)]
    named += ["--verifier"] if own_verifier else []
    command = _command_line("ensemble", *members, "-o", output, "--config", config, *named, overrides=overrides)
    directory = _recipe().build_ensemble(
        settings,
        members,
        output,
        progress=_progress,
        fold_works=folds,
        command=command,
        stand_ins=stand_ins,
        own_verifier=own_verifier,
    )
    stderr.print(f"ensemble written to {directory}")
