"""Where analysis runs: local worker processes, or Ray Data actors on a cluster.

Both engines hold one model per worker, take records in input order and give results back in that
order, so their outputs are identical line for line. For Parquet output Ray actors write the analyses
into the output folder themselves, as hidden parts the driver commits, so only each record's status
travels back.
"""

from __future__ import annotations

import ctypes
import itertools
import json
import logging
import multiprocessing
import os
import resource
import signal
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from propscope.batch.parquet import write_hidden_part
from propscope.batch.records import Record
from propscope.corpus.labels import format_label, technique_labels
from propscope.document import Article
from propscope.errors import PropScopeError
from propscope.pipeline.analyzer import Analyzer

IN_FLIGHT_PER_WORKER = 8  # records queued per worker: no idle worker, bounded memory on any input
RAY_CHUNK = 4096  # records per Ray dataset; each dataset starts its actors (and loads the model) anew
RAY_PART_ROWS = 100  # records per Parquet part a Ray actor writes: ~30 s of its work, as PART_SECONDS locally
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}  # the parent's to handle: it ends the run and its workers
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


@dataclass(frozen=True)
class Result:
    id: str
    line: str  # the JSON line, with its newline
    rows: str  # corpus rows, ID<TAB>technique<TAB>start<TAB>end, each with its newline
    spans: int
    error: str  # empty where the analysis succeeded
    worker: int
    peak_rss_mb: float
    where: str = ""  # the record's place in the input
    part: str = ""  # a hidden Parquet part a Ray actor wrote with its batch's analyses, on the batch's last result


class Worker:
    """One model, analyzing one record at a time into finished output lines."""

    def __init__(self, model: str, threads: int, min_score: float = 0.0) -> None:
        self.analyzer = Analyzer.load(model, threads=threads)
        self.min_score = min_score

    def analyze(self, record: Record) -> Result:
        try:
            analysis = self.analyzer.analyze(Article(record.id, record.text, record.title)).above(self.min_score)
        except PropScopeError as err:
            return Result(record.id, "", "", 0, str(err), os.getpid(), _peak_rss_mb(), record.where)
        payload = {"id": record.id, **record.meta, **analysis.to_dict()}
        rows = "".join(format_label(label) + "\n" for label in technique_labels(analysis))
        line = json.dumps(payload, ensure_ascii=False) + "\n"
        return Result(record.id, line, rows, len(analysis.spans), "", os.getpid(), _peak_rss_mb(), record.where)


def _peak_rss_mb() -> float:
    """This process's peak resident memory so far, read after the work it should include."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


_worker: Worker | PropScopeError | None = None


def _start_worker(model: str, threads: int, min_score: float, parent: int) -> None:
    global _worker
    _die_with_parent(parent)
    try:
        _worker = Worker(model, threads, min_score)
    except PropScopeError as err:  # raised with the first record instead, so the parent can report it
        _worker = err


def _die_with_parent(parent: int) -> None:
    """Leave signals to the parent, and never outlive it: a killed run must leave no process behind.

    The parent started this process with ``STOP_SIGNALS`` blocked, so none reached it before now. On Linux
    the kernel kills it when the parent dies; elsewhere a thread watches for the parent's death.
    """
    for number in STOP_SIGNALS:
        signal.signal(number, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    else:
        threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


@contextmanager
def _stop_signals_blocked() -> Iterator[None]:
    """Workers start with the stop signals blocked (they inherit the mask); the parent gets them afterwards."""
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def _analyze_in_worker(record: Record) -> Result:
    assert _worker is not None, "worker not started"
    if isinstance(_worker, PropScopeError):
        raise _worker
    return _worker.analyze(record)


def _chunks(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    iterator = iter(records)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def run_local(
    records: Iterable[Record],
    model: str,
    workers: int,
    threads: int,
    should_stop: Callable[[], bool],
    min_score: float = 0.0,
) -> Iterator[Result]:
    """Keep every worker busy with a sliding window of records, yielding results in input order.

    Once ``should_stop()``, queued records are dropped and those being analyzed are still yielded, so a
    stopped run keeps all its finished work and its output stays a prefix of the input's order.
    """
    context = multiprocessing.get_context("spawn")
    in_flight: deque[Future[Result]] = deque()
    pool = ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(model, threads, min_score, os.getpid())
    )
    try:
        for record in records:
            if should_stop():
                break
            with _stop_signals_blocked():  # submitting may start a worker
                in_flight.append(pool.submit(_analyze_in_worker, record))
            if len(in_flight) >= IN_FLIGHT_PER_WORKER * workers:
                yield in_flight.popleft().result()
        while in_flight:
            if should_stop():
                _cancel_queued(in_flight)
            future = in_flight.popleft()
            if future.cancelled():
                break
            yield future.result()
    except BrokenProcessPool:
        raise PropScopeError(
            "a worker process ended unexpectedly (out of memory?); what was finished is kept and the same "
            "command resumes the run"
        ) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _cancel_queued(in_flight: deque[Future[Result]]) -> None:
    """Cancel from the back: workers take records in order, so the futures left form a prefix."""
    for future in reversed(in_flight):
        future.cancel()


class _RayActor:
    """A Ray Data actor: loads the model once, then analyzes batches of records into one row of results each,
    so the driver takes a batch whole. Given ``parts``, a folder, it writes each batch's analyses there."""

    def __init__(self, model: str, threads: int, parts: str | None, min_score: float) -> None:
        self.worker = Worker(model, threads, min_score)
        self.parts = Path(parts) if parts is not None else None

    def __call__(self, batch: dict) -> dict:
        columns = (batch["id"], batch["text"], batch["title"], batch["meta"], batch["where"])
        results = [
            self.worker.analyze(Record(i, t, ti, json.loads(m), w)) for i, t, ti, m, w in zip(*columns, strict=True)
        ]
        if self.parts is not None:
            results = _into_part(results, self.parts)
        return {"results": [json.dumps([asdict(r) for r in results])]}


def _into_part(results: list[Result], folder: Path) -> list[Result]:
    """Write the analyses as one hidden part and leave only their status in the results; the last result
    names the part, for the driver to commit once it has taken the whole batch."""
    rows = [json.loads(r.line) for r in results if r.line]
    if not rows:
        return results
    hidden = write_hidden_part(folder, rows, uuid.uuid4().hex)
    statuses = [replace(r, line="") for r in results]
    statuses[-1] = replace(statuses[-1], part=str(hidden))
    return statuses


def run_ray(
    records: Iterable[Record],
    model: str,
    workers: int,
    threads: int,
    address: str | None,
    should_stop: Callable[[], bool],
    parts: Path | None = None,
    min_score: float = 0.0,
) -> Iterator[Result]:
    """Results in input order, a batch at a time; with ``parts``, a folder on storage the Ray nodes share,
    the actors write the analyses there (``Result.part``) and results carry no JSON line."""
    try:
        import ray
    except ImportError:
        raise PropScopeError("the Ray engine needs the ray extra: pip install 'propscope[ray]'") from None
    logging.getLogger("ray.data").setLevel(logging.ERROR)  # our progress bar speaks for the run
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False
    for chunk in _chunks(records, RAY_CHUNK):
        rows = [asdict(r) | {"meta": json.dumps(r.meta)} for r in chunk]
        if parts is None:  # JSON lines: batches of 8 keep results flowing back
            dataset, batch_size = ray.data.from_items(rows), 8
        else:  # one block per part, each a whole batch: parts of RAY_PART_ROWS, not of what blocks happen to hold
            dataset, batch_size = ray.data.from_items(rows, override_num_blocks=-(-len(rows) // RAY_PART_ROWS)), None
        batches = dataset.map_batches(
            _RayActor,
            fn_constructor_kwargs={
                "model": model,
                "threads": threads,
                "parts": None if parts is None else str(parts),
                "min_score": min_score,
            },
            batch_size=batch_size,
            concurrency=workers,
            batch_format="numpy",
        )
        for batch in batches.iter_rows():
            if should_stop():  # between batches: a part is committed whole or not at all
                return
            yield from (Result(**fields) for fields in json.loads(batch["results"]))
