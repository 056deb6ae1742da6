"""A batch run: read records, skip what is done, reject what is bad, analyze the rest, write as we go."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from propscope.batch.engines import Result, run_local, run_ray
from propscope.batch.output import LineWriter, keep_rows_of, recover
from propscope.batch.parquet import ParquetWriter, recover_parts
from propscope.batch.records import Record, Rejected, count_records, read_records
from propscope.corpus.articles import has_substance


@dataclass(frozen=True)
class BatchOptions:
    model: str = "default"
    engine: str = "local"
    workers: int = 0  # 0: one per CPU core
    threads_per_worker: int = 1
    ray_address: str | None = None
    max_chars: int = 200_000
    ptc_path: Path | None = None
    output_format: str = "jsonl"  # or "parquet": a folder of part files
    min_score: float = 0.0  # spans scored below it are left out

    def worker_count(self) -> int:
        return self.workers or os.cpu_count() or 1


@dataclass
class BatchSummary:
    total: int = 0
    analyzed: int = 0
    skipped: int = 0
    errors: int = 0
    spans: int = 0
    seconds: float = 0.0
    peak_rss_mb: dict[int, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.analyzed / self.seconds if self.seconds else 0.0


def errors_path(output: Path) -> Path:
    return output.with_name(output.name.removesuffix(".jsonl") + ".errors.jsonl")


def _problem(record: Record, max_chars: int) -> str | None:
    if not record.text.strip():
        return "empty text"
    if not has_substance(record.text):
        return "no readable text (only control, invisible or private-use characters)"
    if len(record.text) > max_chars:
        return f"text has {len(record.text)} characters; the limit is {max_chars}"
    return None


def run_batch(
    source: Path,
    output: Path,
    options: BatchOptions,
    on_total: Callable[[int], None] = lambda total: None,
    on_advance: Callable[[int], None] = lambda n: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> BatchSummary:
    """Analyze ``source`` into ``output``; once ``should_stop()`` turns true (a signal), the run takes no new
    record, writes what its workers are analyzing and returns."""
    records = read_records(source)  # fails early on an unreadable input
    summary = BatchSummary(total=count_records(source))
    on_total(summary.total)
    parquet = options.output_format == "parquet"
    done = recover_parts(output) if parquet else recover(output)
    reported = recover(errors_path(output), keys=("id", "where"))
    if options.ptc_path is not None:
        keep_rows_of(options.ptc_path, done)
    seen: set[str] = set()
    started = time.monotonic()

    with ParquetWriter(output) if parquet else LineWriter(output) as out, LineWriter(errors_path(output)) as errors:
        rows_out = LineWriter(options.ptc_path) if options.ptc_path is not None else None

        def reject(item: Rejected) -> None:
            summary.errors += 1
            if (item.id or item.where) not in reported:
                errors.write_json(item.to_dict())

        def to_analyze() -> Iterator[Record]:
            for item in records:
                if isinstance(item, Rejected):
                    reject(item)
                elif problem := _problem(item, options.max_chars):  # before the id: it may be done by a twin
                    reject(Rejected(item.id, item.where, problem))
                elif item.id in seen:
                    reject(Rejected(item.id, item.where, "duplicate id: analyzed once, at its first record"))
                elif item.id in done:
                    seen.add(item.id)
                    summary.skipped += 1
                else:
                    seen.add(item.id)
                    yield item
                    continue
                on_advance(1)

        try:
            for result in _engine(options, output)(to_analyze(), should_stop):
                _write(result, out, rows_out, summary, reject)
                on_advance(1)
        finally:
            if rows_out is not None:
                rows_out.close()
    summary.seconds = time.monotonic() - started
    return summary


def _write(
    result: Result,
    out: LineWriter | ParquetWriter,
    rows_out: LineWriter | None,
    summary: BatchSummary,
    reject: Callable[[Rejected], None],
) -> None:
    summary.peak_rss_mb[result.worker] = max(summary.peak_rss_mb.get(result.worker, 0.0), result.peak_rss_mb)
    if result.error:
        reject(Rejected(result.id, result.where, result.error))
    else:
        if rows_out is not None:  # rows first: a kill before the JSON line (or the part) is undone by keep_rows_of
            rows_out.write(result.rows)
        out.write(result.line)
        summary.analyzed += 1
        summary.spans += result.spans
    if result.part and isinstance(out, ParquetWriter):  # the batch's last result: all its rows are written
        out.commit(Path(result.part))


def _engine(options: BatchOptions, output: Path) -> Callable[[Iterator[Record], Callable[[], bool]], Iterator[Result]]:
    workers, threads, floor = options.worker_count(), options.threads_per_worker, options.min_score
    if options.engine == "ray":
        parts = output.absolute() if options.output_format == "parquet" else None  # the actors write them
        return lambda records, stop: run_ray(
            records, options.model, workers, threads, options.ray_address, stop, parts, min_score=floor
        )
    return lambda records, stop: run_local(records, options.model, workers, threads, stop, min_score=floor)
