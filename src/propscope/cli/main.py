"""The ``propscope`` command line."""

from __future__ import annotations

import functools
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TextIO, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

import propscope
from propscope.corpus import load_articles, read_article, read_labels, write_labels
from propscope.corpus.articles import decode_text, title_of
from propscope.document import Article
from propscope.errors import InputError, PropScopeError
from propscope.metrics import Report, evaluate
from propscope.render import OutputFormat, write_analyses
from propscope.techniques import TECHNIQUES

app = typer.Typer(
    help="Find and explain propaganda techniques in news articles, offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
stderr = Console(stderr=True)
F = TypeVar("F", bound=Callable)


def reports_errors(command: F) -> F:
    """Turn the user's problems into one line on stderr and exit status 1, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except PropScopeError as err:
            stderr.print(Text.assemble(("error: ", "bold red"), str(err)), soft_wrap=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            stderr.print("interrupted")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


@contextmanager
def output_stream(path: Path | None) -> Iterator[TextIO]:
    """Standard output, or a file that appears whole: written beside its target, then renamed."""
    if path is None:
        yield sys.stdout
        return
    if not path.parent.is_dir():
        raise InputError(f"{path}: the folder {path.parent} does not exist")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            yield out
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def read_inputs(paths: list[str]) -> list[Article]:
    """Articles from files, folders of ``article<ID>.txt`` and ``-`` (standard input)."""
    articles: list[Article] = []
    for raw in paths:
        if raw == "-":
            text = decode_text(sys.stdin.buffer.read(), "<stdin>")
            found = [Article(id="stdin", text=text, title=title_of(text))]
        else:
            path = Path(raw)
            found = load_articles(path) if path.is_dir() else [read_article(path)]
        for article in found:
            if not article.text.strip():
                source = "<stdin>" if raw == "-" else (raw if len(found) == 1 else f"{raw} (article {article.id})")
                raise InputError(f"{source}: empty input, nothing to analyze")
        articles.extend(found)
    return articles


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


@app.command()
@reports_errors
def analyze(
    paths: Annotated[list[str], typer.Argument(help="Text files, folders of article<ID>.txt, or - for stdin.")],
    format: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = OutputFormat.text,
    output: OutputOption = None,
    model: ModelOption = "default",
    min_score: Annotated[float, typer.Option(help="Drop spans scored below this.", min=0, max=1)] = 0.0,
) -> None:
    """Analyze articles and show or write the techniques found."""
    articles = read_inputs(paths)
    analyzer = propscope.load_analyzer(model)
    analyses = []
    for article in articles:
        analysis = analyzer.analyze(article)
        analysis.spans = [s for s in analysis.spans if s.score >= min_score]
        analyses.append(analysis)
    with output_stream(output) as out:
        terminal = Console() if output is None and format is OutputFormat.text else None
        write_analyses(analyses, format, out, console=terminal)


@app.command()
@reports_errors
def classify(
    articles: Annotated[Path, typer.Argument(help="An article file or a folder of article<ID>.txt.")],
    template: Annotated[Path, typer.Argument(help="Template rows ID<TAB>?<TAB>start<TAB>end (or any technique).")],
    output: OutputOption = None,
    model: ModelOption = "default",
) -> None:
    """Technique classification: fill in the technique of each template row, in the template's order."""
    rows = read_labels(template)
    if not rows:
        raise InputError(f"{template}: no rows to classify")
    if any(row.technique is None for row in rows):
        raise InputError(f"{template}: template rows need four fields: ID<TAB>?<TAB>start<TAB>end")
    by_id = {a.id: a for a in load_articles(articles)}
    for number, row in enumerate(rows, start=1):
        article = by_id.get(row.article_id)
        if article is not None and row.end > len(article.text):
            raise InputError(
                f"{template}:{number}: span {row.start}..{row.end} is past the end of article "
                f"{row.article_id} ({len(article.text)} characters)"
            )
    filled = propscope.load_analyzer(model).classify_template(by_id, rows)
    with output_stream(output) as out:
        write_labels(filled, out)


class Task(StrEnum):
    si = "si"
    tc = "tc"
    flc = "flc"


def report_table(report: Report) -> Table:
    names = {"si": "span identification", "tc": "technique classification", "flc": "full task"}
    table = Table(title=f"{names[report.task]} ({report.task})")
    for column in ("", "precision", "recall", "F1", "predicted", "gold"):
        table.add_column(column, justify="left" if not column else "right")
    rows = [("overall", report.overall), *report.per_technique.items()]
    for name, score in rows:
        style = "bold" if name == "overall" else ""
        table.add_row(
            name,
            f"{score.precision:.4f}",
            f"{score.recall:.4f}",
            f"{score.f1:.4f}",
            str(score.predicted),
            str(score.gold),
            style=style,
        )
    return table


@app.command("evaluate")
@reports_errors
def evaluate_command(
    predictions: Annotated[Path, typer.Argument(help="Predicted label file.")],
    gold: Annotated[Path, typer.Argument(help="Gold label file or folder of .labels files.")],
    task: Annotated[Task, typer.Option("--task", "-t", help="si, tc or flc.")] = Task.flc,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Score predictions against gold labels with the SemEval-2020 Task 11 metrics."""
    predicted, reference = read_labels(predictions), read_labels(gold)
    if task is not Task.si:
        for path, rows in ((predictions, predicted), (gold, reference)):
            if any(row.technique in (None, "?") for row in rows):
                raise InputError(f"{path}: task {task.value} needs ID<TAB>technique<TAB>start<TAB>end rows")
    report = evaluate(task.value, predicted, reference)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        Console().print(report_table(report))


@app.command()
def techniques(
    as_json: Annotated[bool, typer.Option("--json", help="Print the catalogue as JSON.")] = False,
) -> None:
    """List the techniques PropScope recognises, with definitions and examples."""
    if as_json:
        typer.echo(json.dumps([t.__dict__ for t in TECHNIQUES], indent=2, ensure_ascii=False))
        return
    table = Table(show_lines=True)
    for column in ("", "technique", "label", "definition", "example"):
        table.add_column(column, overflow="fold")
    for t in TECHNIQUES:
        swatch = Text("  ", style=f"on {t.colour}")
        table.add_row(swatch, t.display_name, t.name, t.definition, Text(t.example, "italic"))
    Console().print(table)


@app.command()
@reports_errors
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on; only this machine by default.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    model: ModelOption = "default",
    max_chars: Annotated[int, typer.Option(help="Longest text accepted, in characters.", min=1)] = 200_000,
    allow_private_urls: Annotated[
        bool, typer.Option(help="Let URL input reach private, loopback and link-local addresses.")
    ] = False,
) -> None:
    """Serve the web page and HTTP API (needs the web extra)."""
    try:
        import uvicorn

        from propscope.server import FetchPolicy, ServerSettings, create_app
    except ImportError as err:
        raise InputError(f"the web app needs the web extra: pip install 'propscope[web]' ({err})") from None
    settings = ServerSettings(model=model, max_chars=max_chars, fetch=FetchPolicy(allow_private=allow_private_urls))
    propscope.load_analyzer(model)  # fail before listening if the model cannot load
    stderr.print(f"PropScope on http://{host}:{port}/ (API docs at /docs)")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")


class Engine(StrEnum):
    local = "local"
    ray = "ray"


@app.command()
@reports_errors
def batch(
    source: Annotated[Path, typer.Argument(help="A folder of .txt files, a .jsonl file or a .csv file.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="JSON lines, one analysis per line; resumed.")],
    workers: Annotated[int, typer.Option(help="Worker processes or Ray actors; 0 = one per CPU core.", min=0)] = 0,
    engine: Annotated[Engine, typer.Option(help="local processes or a Ray cluster.")] = Engine.local,
    ray_address: Annotated[str | None, typer.Option(help="Ray cluster to join; a local Ray starts if unset.")] = None,
    ptc: Annotated[Path | None, typer.Option(help="Also write ID<TAB>technique<TAB>start<TAB>end rows here.")] = None,
    model: ModelOption = "default",
    max_chars: Annotated[int, typer.Option(help="Longer texts are recorded as errors.", min=1)] = 200_000,
    threads_per_worker: Annotated[int, typer.Option(help="ONNX Runtime threads in each worker.", min=1)] = 1,
) -> None:
    """Analyze a whole corpus; a rerun with the same output skips what is done."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from propscope.batch import BatchOptions, errors_path, run_batch

    if not output.parent.is_dir():
        raise InputError(f"{output}: the folder {output.parent} does not exist")
    options = BatchOptions(
        model=model,
        engine=engine.value,
        workers=workers,
        threads_per_worker=threads_per_worker,
        ray_address=ray_address,
        max_chars=max_chars,
        ptc_path=ptc,
    )
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=stderr, transient=False) as progress:
        task = progress.add_task("analyzing", total=None, rate="")

        def advance(n: int) -> None:
            progress.advance(task, n)
            speed = progress.tasks[task].speed
            progress.update(task, rate=f"{speed:.1f} articles/s" if speed else "")

        summary = run_batch(
            source, output, options, on_total=lambda t: progress.update(task, total=t), on_advance=advance
        )
    memory = ", ".join(f"{mb:.0f} MB" for mb in sorted(summary.peak_rss_mb.values())) or "-"
    stderr.print(
        f"{summary.analyzed} analyzed, {summary.skipped} already done, {summary.errors} errors, "
        f"{summary.spans} spans in {summary.seconds:.1f} s ({summary.rate:.2f} articles/s); "
        f"peak memory per worker: {memory}",
        highlight=False,
        soft_wrap=True,
    )
    if summary.errors:
        stderr.print(f"errors and their reasons: {errors_path(output)}", highlight=False)


class GroupBy(StrEnum):
    source = "source"
    date = "date"


@app.command()
@reports_errors
def report(
    analyses: Annotated[Path, typer.Argument(help="The JSON lines written by propscope batch.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="HTML page; a .csv is written beside it.")
    ] = None,
    by: Annotated[GroupBy, typer.Option(help="Compare by source or by date.")] = GroupBy.source,
) -> None:
    """Compare outlets or days: spans per 1,000 words, techniques, frequent phrases."""
    from propscope.batch.report import collect, render_html, write_csv

    groups = collect(analyses, by.value)
    page = output or analyses.with_name(analyses.name.removesuffix(".jsonl") + ".report.html")
    with output_stream(page) as out:
        out.write(render_html(groups, by.value))
    with output_stream(page.with_suffix(".csv")) as out:
        write_csv(groups, out)
    stderr.print(f"{len(groups)} groups: {page} and {page.with_suffix('.csv')}", highlight=False)


@app.command()
@reports_errors
def train(
    config: Annotated[Path, typer.Option("--config", "-c", help="Training configuration (TOML).")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Model folder (overrides the config).")] = None,
) -> None:
    """Train a model from a configuration file (needs the train extra)."""
    from dataclasses import replace

    from propscope.model.config import load_config

    settings = load_config(config)
    if output is not None:
        settings = replace(settings, export=replace(settings.export, output=str(output)))
    try:
        from propscope.model.recipe import train as run_training
    except ImportError as err:
        raise InputError(f"training needs the train extra: pip install 'propscope[train]' ({err})") from None
    directory = run_training(settings, progress=lambda line: stderr.print(line, highlight=False))
    stderr.print(f"model written to {directory}")
