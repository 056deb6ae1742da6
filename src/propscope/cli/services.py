"""Commands for many articles and for the browser: serve, batch, report."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

import propscope
from propscope.cli.app import (
    MinScoreOption,
    ModelOption,
    app,
    article_progress,
    check_distinct,
    check_output_path,
    examples,
    output_stream,
    reports_errors,
    stderr,
)
from propscope.errors import InputError
from propscope.render.terminal import terminal_safe
from propscope.techniques import get_technique

if TYPE_CHECKING:
    from propscope.batch.report import GroupStats

GROUPS_SHOWN = 20  # rows of the terminal table; the page and the CSV hold every group


@app.command(
    epilog=examples(
        "propscope serve                                  # http://127.0.0.1:8000/",
        "propscope serve --port 9000 --model accurate",
        "propscope serve --host 0.0.0.0 --allowed-host propscope.example.org",
    )
)
@reports_errors
def serve(
    host: Annotated[
        str, typer.Option(metavar="<address>", help="Address to listen on; only this machine by default.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    model: ModelOption = "default",
    max_chars: Annotated[int, typer.Option(help="Longest text accepted, in characters.", min=1)] = 200_000,
    allow_private_urls: Annotated[
        bool, typer.Option(help="Let URL input reach private, loopback and link-local addresses.")
    ] = False,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            metavar="<host>",
            help="Another host name to answer to, besides --host and localhost (repeatable; '*': any).",
        ),
    ] = None,
) -> None:
    """Serve the web page and HTTP API (needs the web extra)."""
    try:
        import uvicorn

        from propscope.server import FetchPolicy, ServerSettings, create_app
        from propscope.server.app import LOCAL_HOSTS
    except ImportError as err:
        raise InputError(f"the web app needs the web extra: pip install 'propscope[web]' ({err})") from None
    hosts = (f"[{host}]" if ":" in host else host, *LOCAL_HOSTS, *(allowed_host or ()))
    settings = ServerSettings(
        model=model, max_chars=max_chars, allowed_hosts=hosts, fetch=FetchPolicy(allow_private=allow_private_urls)
    )
    propscope.load_analyzer(model)  # fail before listening if the model cannot load
    stderr.print(f"PropScope on http://{host}:{port}/ (API docs at /docs)")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")


class Engine(StrEnum):
    local = "local"
    ray = "ray"


class BatchFormat(StrEnum):
    jsonl = "jsonl"
    parquet = "parquet"


@dataclass
class StopRequest:
    """Set by the first SIGINT or SIGTERM; the run then stops taking records and keeps what it finished."""

    received: signal.Signals | None = None

    def __call__(self) -> bool:
        return self.received is not None


BATCH_RECORDS_FAILED = 3  # a run that finished and wrote everything else


@contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """SIGTERM (``timeout``, systemd) ends a run as Ctrl-C does; a second signal stops it at once."""
    request = StopRequest()

    def handle(number: int, frame: object) -> None:
        if request.received is not None:
            raise KeyboardInterrupt
        request.received = signal.Signals(number)

    previous = {number: signal.signal(number, handle) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield request
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@app.command(
    epilog=examples(
        "propscope batch feed.jsonl -o out.jsonl --ptc out.tsv   # JSON lines and corpus rows",
        "propscope batch articles/ -o out.parquet -f parquet      # a folder of .txt files, to Parquet",
        "propscope batch feed.csv -o out.jsonl --engine ray       # the same job on a Ray cluster",
    )
)
@reports_errors
def batch(
    source: Annotated[Path, typer.Argument(help="A folder of .txt files, a .jsonl file or a .csv file.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="JSON lines, or a folder of Parquet parts; a rerun resumes it.")
    ],
    format: Annotated[
        BatchFormat, typer.Option("--format", "-f", help="jsonl, or parquet (needs the parquet extra).")
    ] = BatchFormat.jsonl,
    workers: Annotated[int, typer.Option(help="Worker processes or Ray actors; 0 = one per CPU core.", min=0)] = 0,
    engine: Annotated[Engine, typer.Option(help="local processes or a Ray cluster.")] = Engine.local,
    ray_address: Annotated[
        str | None, typer.Option(metavar="<address>", help="Ray cluster to join; a local Ray starts if unset.")
    ] = None,
    ptc: Annotated[Path | None, typer.Option(help="Also write ID<TAB>technique<TAB>start<TAB>end rows here.")] = None,
    model: ModelOption = "default",
    max_chars: Annotated[int, typer.Option(help="Longer texts are recorded as errors.", min=1)] = 200_000,
    threads_per_worker: Annotated[int, typer.Option(help="ONNX Runtime threads in each worker.", min=1)] = 1,
    min_score: MinScoreOption = 0.0,
) -> None:
    """Analyze a whole corpus; a rerun with the same output skips what is done.

    Exits 3 when it finished but some records could not be analyzed (their reasons are in the errors file),
    130 or 143 when stopped by a signal.
    """
    from propscope.batch import BatchOptions, errors_path, run_batch

    files = (errors_path(output), *([ptc] if ptc else []))
    check_distinct({"the source": source, "--output": output, "the errors file": errors_path(output), "--ptc": ptc})
    for path in files if format is BatchFormat.parquet else (output, *files):  # Parquet output is a folder
        check_output_path(path, (source,))
    options = BatchOptions(
        model=model,
        engine=engine.value,
        workers=workers,
        threads_per_worker=threads_per_worker,
        ray_address=ray_address,
        max_chars=max_chars,
        ptc_path=ptc,
        output_format=format.value,
        min_score=min_score,
    )
    with stop_on_signals() as stop, article_progress() as progress:
        summary = run_batch(
            source, output, options, on_total=progress.set_total, on_advance=progress.advance, should_stop=stop
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
    if stop.received is not None:
        stderr.print(
            f"stopped by {stop.received.name}: everything finished is kept; the same command resumes the run",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(128 + stop.received)
    if summary.errors:
        raise typer.Exit(BATCH_RECORDS_FAILED)


class GroupBy(StrEnum):
    source = "source"
    date = "date"


class Every(StrEnum):
    week = "week"
    month = "month"


def groups_table(groups: list[GroupStats], by: str) -> Table:
    """The report at a glance: per group its articles, spans per 1,000 words and most used technique."""
    table = Table(show_edge=False)
    table.add_column(by)
    for column in ("articles", "spans / 1,000 words"):
        table.add_column(column, justify="right")
    table.add_column("top technique")
    for group in groups[:GROUPS_SHOWN]:
        top = group.ranked_techniques()[:1]
        table.add_row(
            Text(terminal_safe(group.label)),
            str(group.articles),
            f"{group.spans_per_1000_words:.1f}",
            get_technique(top[0][0]).display_name if top else "-",
        )
    if len(groups) > GROUPS_SHOWN:
        table.caption = f"and {len(groups) - GROUPS_SHOWN} more groups"
    return table


@app.command(
    epilog=examples(
        "propscope report out.jsonl                          # out.report.html and out.report.csv",
        "propscope report out.jsonl --by source --every month -o outlets.html",
        "propscope report out.parquet --by date --min-score 0.25",
    )
)
@reports_errors
def report(
    analyses: Annotated[
        Path, typer.Argument(help="What propscope batch wrote: JSON lines, or a folder of Parquet parts.")
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="HTML page; a .csv is written beside it.")
    ] = None,
    by: Annotated[GroupBy, typer.Option(help="Compare by source or by date.")] = GroupBy.source,
    every: Annotated[
        Every | None, typer.Option(help="Also per period (week or month), with a time series per outlet.")
    ] = None,
    min_score: MinScoreOption = 0.0,
) -> None:
    """Compare outlets or periods: spans per 1,000 words, techniques, frequent phrases (needs the report extra)."""
    from propscope.batch.report import collect, render_html, write_csv

    period = every.value if every else None
    named = analyses.resolve()  # "", "." and ".." are folders whose own name the page takes
    if not output and not named.name:
        raise InputError(f"{analyses}: has no name to name the report by; give one with --output")
    stem = named.name.removesuffix(".jsonl").removesuffix(".parquet")
    page = output or named.with_name(stem + ".report.html")
    for path in (page, page.with_suffix(".csv")):
        check_output_path(path, (analyses,))
    groups = collect(analyses, by.value, period, min_score=min_score)
    with output_stream(page) as out:
        out.write(render_html(groups, by.value, period))
    with output_stream(page.with_suffix(".csv")) as out:
        write_csv(groups, out)
    Console().print(groups_table(groups, by.value))
    written = f"{len(groups)} groups: wrote {page} and {page.with_suffix('.csv')}"
    stderr.print(terminal_safe(written), highlight=False, soft_wrap=True)
