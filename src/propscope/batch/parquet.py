"""Parquet output of a batch run (the parquet extra): a folder of part files, each written whole.

Parquet cannot be appended to, so rows are held until ``PART_ROWS`` of them or ``PART_SECONDS`` have
gone by, then written to a hidden file and renamed into place. A run killed at any moment leaves only
complete parts; a rerun reads their ids and carries on (the rows it held are analyzed again). Columns
mirror the JSON lines (``article``, ``spans``, ``summary`` ... as nested columns), so one query reads both.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from propscope.batch.records import META_FIELDS
from propscope.errors import InputError

PART_ROWS = 1000
PART_SECONDS = 30.0


def _pyarrow() -> Any:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError("Parquet output needs the parquet extra: pip install 'propscope[parquet]'") from None
    return pa, pq


def _evidence_type(pa: Any) -> Any:
    """``Evidence.to_dict`` as Arrow types."""
    cue = pa.struct([("start", pa.int32()), ("end", pa.int32()), ("text", pa.string()), ("weight", pa.float32())])
    return pa.struct(
        [
            ("words", pa.list_(cue)),
            ("repeats", pa.list_(cue)),
            ("signals", pa.list_(pa.string())),
            ("techniques", pa.list_(pa.struct([("technique", pa.string()), ("probability", pa.float32())]))),
        ]
    )


def schema() -> Any:
    pa, _ = _pyarrow()
    return pa.schema(
        [
            ("id", pa.string()),
            *((name, pa.string()) for name in META_FIELDS),
            ("article", pa.struct([("id", pa.string()), ("text", pa.string()), ("title", pa.string())])),
            ("model", pa.string()),
            (
                "spans",
                pa.list_(
                    pa.struct(
                        [
                            ("start", pa.int32()),
                            ("end", pa.int32()),
                            ("technique", pa.string()),
                            ("score", pa.float32()),
                            ("confidence", pa.string()),
                            ("text", pa.string()),
                            ("evidence", _evidence_type(pa)),
                        ]
                    )
                ),
            ),
            (
                "sentences",
                pa.list_(
                    pa.struct([("start", pa.int32()), ("end", pa.int32()), ("techniques", pa.list_(pa.string()))])
                ),
            ),
            (
                "summary",
                pa.struct(
                    [
                        ("sentences", pa.int32()),
                        ("flagged_sentences", pa.int32()),
                        ("flagged_share", pa.float32()),
                        ("technique_counts", pa.map_(pa.string(), pa.int32())),
                        ("words", pa.int32()),
                    ]
                ),
            ),
        ]
    )


def _parts(folder: Path) -> list[Path]:
    return sorted(folder.glob("part-*.parquet"))


def recover_parts(folder: Path) -> set[str]:
    """Ids in the folder's complete parts; a hidden part left by a kill is removed."""
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder}: Parquet output is a folder of parts, and this is a file")
    if not folder.exists():
        return set()
    for leftover in folder.glob(".part-*"):
        leftover.unlink()
    _, pq = _pyarrow()
    ids: set[str] = set()
    for part in _parts(folder):
        ids.update(pq.read_table(part, columns=["id"]).column("id").to_pylist())
    return ids


def write_hidden_part(folder: Path, rows: list[dict], name: str) -> Path:
    """Write ``rows`` (JSON lines' objects) as ``.part-<name>.tmp``: without the .parquet ending readers of
    the folder skip it, and ``recover_parts`` removes it, until ``ParquetWriter.commit`` renames it."""
    pa, pq = _pyarrow()
    hidden = folder / f".part-{name}.tmp"
    pq.write_table(pa.Table.from_pylist(rows, schema=schema()), hidden, compression="zstd")
    return hidden


class ParquetWriter:
    """Takes the JSON lines a worker makes and writes them as Parquet parts, or commits parts written elsewhere
    (Ray actors write theirs in the folder, so analyses need not travel to the driver)."""

    def __init__(self, folder: Path) -> None:
        _pyarrow()  # the parquet extra is missing: say so before any analysis
        self.folder = folder
        folder.mkdir(exist_ok=True)
        parts = _parts(folder)
        self.next_part = int(parts[-1].stem.removeprefix("part-")) + 1 if parts else 0
        self.rows: list[dict] = []
        self.since = time.monotonic()

    def write(self, line: str) -> None:
        if not line:
            return
        self.rows.append(json.loads(line))
        if len(self.rows) >= PART_ROWS or time.monotonic() - self.since >= PART_SECONDS:
            self.flush()

    def flush(self) -> None:
        self.since = time.monotonic()
        if not self.rows:
            return
        self.commit(write_hidden_part(self.folder, self.rows, f"{self.next_part:06d}.parquet"))
        self.rows = []

    def commit(self, hidden: Path) -> None:
        """Rename a whole hidden part into place as the next part: the one step that makes its rows done."""
        os.replace(hidden, self.folder / f"part-{self.next_part:06d}.parquet")
        self.next_part += 1

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> ParquetWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
