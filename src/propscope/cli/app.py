"""The ``propscope`` Typer app and what its commands share: error reporting, safe output, options."""

from __future__ import annotations

import functools
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TextIO, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.text import Text
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

import propscope
from propscope.corpus.articles import article_files
from propscope.errors import InputError, PropScopeError
from propscope.render.terminal import terminal_safe


class _UntypedArgument(TyperArgument):
    def display_type_rich(self, ctx: typer.Context) -> None:
        return None  # its name says what it takes


class _NamedValues:
    """Help that names a value by its metavar or choices, never by a Python type: Typer shows ``<bool>`` beside
    every flag (``--help`` too) and ``<list[str]>`` beside a list argument, whatever its metavar."""

    def get_params(self, ctx: typer.Context) -> list[Any]:
        params = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            if isinstance(param, TyperArgument):
                param.__class__ = _UntypedArgument
            elif isinstance(param, TyperOption) and param.is_flag:
                param.metavar = ""
        return params


class _Command(_NamedValues, TyperCommand):
    pass


class _Group(_NamedValues, TyperGroup):
    pass


class _App(typer.Typer):
    """The app, whose commands all show their help as ``_NamedValues`` does."""

    def command(self, name: str | None = None, *, cls: type[TyperCommand] | None = None, **settings: Any) -> Any:
        return super().command(name, cls=cls or _Command, **settings)


app = _App(
    cls=_Group,
    help="Find and explain propaganda techniques in news articles, offline.",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
stderr = Console(stderr=True, markup=False)  # messages quote the user's names and text: never markup
F = TypeVar("F", bound=Callable)


def examples(*lines: str) -> str:
    """A command's help epilog: example command lines, shown as written (never read as markup)."""
    return "Examples:\n" + "\n".join(escape(line) for line in lines)


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


def check_output_path(path: Path, inputs: Iterable[Path] = ()) -> None:
    """Fail before any work if ``path`` cannot be an output file, or is a file this command reads: writing it
    would replace what the user asked to have read."""
    if path.is_dir():
        raise InputError(f"{path}: is a folder; name a file to write")
    if not path.parent.is_dir():
        raise InputError(f"{path}: the folder {path.parent} does not exist")
    for source in inputs:
        if _reads(source, path):
            among = "" if source.is_file() else f" (an article of {source})"
            raise InputError(f"{path}: is also read by this command{among}; write the output elsewhere")


def check_distinct(paths: dict[str, Path | None]) -> None:
    """Fail if two of a command's files, named by role (the source, --output ...), are one: one would replace
    the other."""
    seen: dict[Path, str] = {}
    for role, path in paths.items():
        if path is None:
            continue
        if (where := path.resolve()) in seen:
            raise InputError(f"{path}: {seen[where]} and {role} name the same file; name another")
        seen[where] = role


def _reads(source: Path, path: Path) -> bool:
    """Whether reading ``source`` (a file, or a folder of articles) reads the existing file ``path``."""
    if not path.is_file() or not source.exists():
        return False
    if source.is_dir():
        if path.resolve().parent != source.resolve():  # articles are read from the folder itself, not below
            return False
        try:
            return path.resolve() in {f.resolve() for f in article_files(source)}
        except InputError:  # no articles there (a folder of Parquet parts, say)
            return False
    return os.path.samefile(source, path)


def input_paths(raw: Iterable[str]) -> list[Path]:
    """The files and folders among command-line inputs (``-`` is standard input)."""
    return [path_argument(r) for r in raw if r != "-"]


@contextmanager
def output_stream(path: Path | None) -> Iterator[TextIO]:
    """Standard output, or a file that appears whole: written beside its target, then renamed."""
    if path is None:
        yield sys.stdout
        return
    check_output_path(path)
    try:
        handle, temporary = tempfile.mkstemp(prefix=".propscope.", dir=path.parent)  # short: any name fits
    except OSError as err:  # its message would name the temporary file, not the one asked for
        raise InputError(f"{path}: cannot write there ({err.strerror})") from None
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


class ArticleProgress:
    """Articles done out of a total, their rate and the time left: what a long run shows while it works."""

    def __init__(self, progress: Progress, total: int | None) -> None:
        self.progress = progress
        self.task = progress.add_task("analyzing", total=total, rate="")

    def set_total(self, total: int) -> None:
        self.progress.update(self.task, total=total)

    def advance(self, n: int = 1) -> None:
        self.progress.advance(self.task, n)
        speed = self.progress.tasks[self.task].speed
        self.progress.update(self.task, rate=f"{speed:.1f} articles/s" if speed else "")


@contextmanager
def article_progress(
    total: int | None = None, *, transient: bool = False, terminal_only: bool = False
) -> Iterator[ArticleProgress]:
    """A progress bar on standard error, so a long run is never a blank screen. Where stderr is no terminal Rich
    prints the finished bar once, a record of the run; ``terminal_only`` leaves even that out."""
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
    )
    hidden = terminal_only and not stderr.is_terminal
    with Progress(*columns, console=stderr, transient=transient, disable=hidden) as progress:
        yield ArticleProgress(progress, total)


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


ModelOption = Annotated[
    str, typer.Option("--model", "-m", metavar="<model>", help="Shipped model name or model folder.")
]
OutputOption = Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of standard output.")]
MinScoreOption = Annotated[
    float,
    typer.Option(
        "--min-score",
        metavar="<score>",
        min=0,
        max=1,
        help="Hide spans scored below this. A score is meant as the probability that the span is right "
        "(calibrated); the default, 0, shows every span the model keeps.",
    ),
]
