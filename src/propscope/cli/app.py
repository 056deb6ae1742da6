"""The ``propscope`` Typer app and what its commands share: error reporting, safe output, options."""

from __future__ import annotations

import functools
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TextIO, TypeVar

import typer
from rich.console import Console
from rich.text import Text

import propscope
from propscope.errors import InputError, PropScopeError
from propscope.render.terminal import terminal_safe

app = typer.Typer(
    help="Find and explain propaganda techniques in news articles, offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
stderr = Console(stderr=True, markup=False)  # messages quote the user's names and text: never markup
F = TypeVar("F", bound=Callable)


def reports_errors(command: F) -> F:
    """Turn the user's problems into one line on stderr and exit status 1, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except PropScopeError as err:
            _print_error(str(err))
            raise typer.Exit(1) from None
        except OSError as err:  # the system refused a path: a name too long, no permission, a full disk
            _print_error(f"{err.filename}: {err.strerror}" if err.filename else str(err))
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            stderr.print("interrupted")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def _print_error(message: str) -> None:
    stderr.print(Text.assemble(("error: ", "bold red"), terminal_safe(message)), soft_wrap=True)


def path_argument(raw: str) -> Path:
    """A path given as plain text (where ``-`` may mean standard input): Typer does not check these."""
    if "\x00" in raw:
        raise InputError(f"{raw!r}: not a file name (it holds a NUL character)")
    return Path(raw)


def check_output_path(path: Path) -> None:
    """Fail before any work if ``path`` cannot be an output file."""
    if path.is_dir():
        raise InputError(f"{path}: is a folder; name a file to write")
    if not path.parent.is_dir():
        raise InputError(f"{path}: the folder {path.parent} does not exist")


@contextmanager
def output_stream(path: Path | None) -> Iterator[TextIO]:
    """Standard output, or a file that appears whole: written beside its target, then renamed."""
    if path is None:
        yield sys.stdout
        return
    check_output_path(path)
    handle, temporary = tempfile.mkstemp(prefix=".propscope.", dir=path.parent)  # short: any name fits
    try:
        os.fchmod(handle, 0o666 & ~_umask())  # mkstemp's 0600 would outlive the rename
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            yield out
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _umask() -> int:
    """The process's umask. Reading it means setting it: to a strict one for that instant, then straight back."""
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"propscope {propscope.__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """PropScope marks the passages of an article that use a propaganda technique."""


ModelOption = Annotated[str, typer.Option("--model", "-m", help="Shipped model name or model folder.")]
OutputOption = Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of standard output.")]
