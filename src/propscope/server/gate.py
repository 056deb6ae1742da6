"""Admission control: a bounded number of jobs at once, and a clear "come back later" beyond it.

Analyses share the machine's cores, so running more of them at once only makes every one slower; a
short queue in front of a few workers keeps each accepted request fast, and the rest are told at once
to retry (HTTP 503 with Retry-After) instead of waiting behind everyone.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import TypeVar

T = TypeVar("T")


class Busy(Exception):
    """Every place is taken; the caller should retry after ``retry_after`` seconds."""

    def __init__(self, what: str, retry_after: int) -> None:
        super().__init__(f"the server is busy with other {what}; try again in {retry_after} s")
        self.retry_after = retry_after


class Gate:
    """Counts admitted jobs across threads; a job beyond ``limit`` is refused with ``Busy``."""

    def __init__(self, limit: int, what: str, retry_after: int) -> None:
        self.limit, self.what, self.retry_after = limit, what, retry_after
        self._lock = threading.Lock()
        self._admitted = 0

    @property
    def admitted(self) -> int:
        return self._admitted

    def enter(self) -> None:
        with self._lock:
            if self._admitted >= self.limit:
                raise Busy(self.what, self.retry_after)
            self._admitted += 1

    def leave(self) -> None:
        with self._lock:
            self._admitted -= 1

    @asynccontextmanager
    async def place(self) -> AsyncIterator[None]:
        self.enter()
        try:
            yield
        finally:
            self.leave()


class WorkQueue:
    """``workers`` threads run jobs; up to ``waiting`` more wait in line; beyond that ``Busy``.

    A job's place is given back when the job ends, not when its caller stops waiting, so a client that
    hangs up cannot make room for more work than the workers can do.
    """

    def __init__(self, workers: int, waiting: int, retry_after: int) -> None:
        self._gate = Gate(workers + waiting, "analyses", retry_after)
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="propscope-analysis")

    @property
    def admitted(self) -> int:
        return self._gate.admitted

    async def run(self, job: Callable[[], T]) -> T:
        self._gate.enter()

        def run_and_leave() -> T:
            try:
                return job()
            finally:
                self._gate.leave()

        return await asyncio.wrap_future(self._executor.submit(run_and_leave))
