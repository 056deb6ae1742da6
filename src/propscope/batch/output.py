"""Append-only JSON-lines output that survives being killed at any moment.

Each line is written whole and flushed. A run killed mid-write can leave at most one partial last
line; ``recover`` cuts it off, so a rerun appends after the last complete line and skips the ids
already there.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TextIO


def recover(path: Path, keys: tuple[str, ...] = ("id",)) -> set[str]:
    """Keys of the complete lines of ``path`` (each line's first non-null field among ``keys``).

    A trailing partial or broken line is cut off.
    """
    if not path.exists():
        return set()
    ids: set[str] = set()
    keep = 0
    with path.open("rb") as handle:
        for raw in handle:
            if not raw.endswith(b"\n"):
                break
            try:
                row = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                break
            found = [row[k] for k in keys if isinstance(row, dict) and row.get(k) is not None]
            if found:
                ids.add(str(found[0]))
            keep += len(raw)
    if keep < path.stat().st_size:
        with path.open("r+b") as handle:
            handle.truncate(keep)
    return ids


def keep_rows_of(path: Path, ids: set[str]) -> None:
    """Drop corpus rows whose article is not in ``ids``: rows written just before a kill."""
    if not path.exists():
        return
    temporary = path.with_name(f".{path.name}.tmp")
    with path.open(encoding="utf-8") as source, temporary.open("w", encoding="utf-8") as target:
        for line in source:
            if line.endswith("\n") and line.split("\t", 1)[0] in ids:
                target.write(line)
    os.replace(temporary, path)


class LineWriter:
    """Appends whole lines and flushes each, so the OS holds every line written before a kill."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: TextIO = path.open("a", encoding="utf-8", newline="\n")

    def write(self, text: str) -> None:
        if text:
            self._handle.write(text)
            self._handle.flush()

    def write_json(self, row: dict) -> None:
        """One JSON line; text that is not valid Unicode (a lone surrogate) is written as ``\\uXXXX`` escapes."""
        line = json.dumps(row, ensure_ascii=False)
        try:
            line.encode("utf-8")
        except UnicodeEncodeError:
            line = json.dumps(row)
        self.write(line + "\n")

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> LineWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
