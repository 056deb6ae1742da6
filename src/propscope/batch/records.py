"""Reading batch input — a folder of .txt files, JSON lines or CSV — one record at a time.

A record that cannot be used becomes a ``Rejected`` with its place and reason instead of stopping the
run; only a file that cannot be read at all is an error.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from propscope.corpus.articles import article_id_from_path, title_of
from propscope.errors import InputError

META_FIELDS = ("source", "url", "date")


@dataclass(frozen=True)
class Record:
    id: str
    text: str
    title: str = ""
    meta: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Rejected:
    id: str | None
    where: str
    reason: str

    def to_dict(self) -> dict[str, str | None]:
        return {"id": self.id, "where": self.where, "reason": self.reason}


def _from_mapping(row: dict, where: str) -> Record | Rejected:
    raw_id = row.get("id")
    record_id = str(raw_id).strip() if raw_id is not None else ""
    if not record_id:
        return Rejected(None, where, "missing id")
    text = row.get("text")
    if not isinstance(text, str):
        return Rejected(record_id, where, "missing text" if text is None else "text is not a string")
    title = row.get("title")
    meta = {k: str(row[k]) for k in META_FIELDS if row.get(k) not in (None, "")}
    return Record(record_id, text, str(title) if title else title_of(text), meta)


def _jsonl_records(path: Path) -> Iterator[Record | Rejected]:
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            where = f"{path}:{number}"
            if not raw.strip():
                continue
            try:
                row = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                yield Rejected(None, where, "undecodable bytes (not UTF-8)")
                continue
            except json.JSONDecodeError as err:
                yield Rejected(None, where, f"invalid JSON ({err.msg})")
                continue
            if not isinstance(row, dict):
                yield Rejected(None, where, "a line must hold a JSON object")
                continue
            yield _from_mapping(row, where)


def _csv_records(path: Path) -> Iterator[Record | Rejected]:
    with path.open(encoding="utf-8", errors="surrogateescape", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"id", "text"} - set(reader.fieldnames or ())
        if missing:
            raise InputError(f"{path}:1: the CSV header needs the column(s) {', '.join(sorted(missing))}")
        for row in reader:
            where = f"{path}:{reader.line_num}"
            if any(isinstance(v, str) and _has_surrogates(v) for v in row.values()):
                yield Rejected(row.get("id") or None, where, "undecodable bytes (not UTF-8)")
                continue
            yield _from_mapping(row, where)


def _has_surrogates(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _folder_records(folder: Path) -> Iterator[Record | Rejected]:
    for path in sorted(folder.glob("*.txt")):
        record_id = article_id_from_path(path)
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            yield Rejected(record_id, str(path), "undecodable bytes (not UTF-8)")
            continue
        except OSError as err:
            yield Rejected(record_id, str(path), f"cannot read ({err.strerror})")
            continue
        yield Record(record_id, text, title_of(text))


def read_records(path: Path) -> Iterator[Record | Rejected]:
    if path.is_dir():
        return _folder_records(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file or folder")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return _jsonl_records(path)
    if suffix == ".csv":
        return _csv_records(path)
    raise InputError(f"{path}: expected a folder of .txt files, a .jsonl file or a .csv file")


def count_records(path: Path) -> int:
    """A cheap first pass, so the progress bar can show time left."""
    if path.is_dir():
        return sum(1 for _ in path.glob("*.txt"))
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8", errors="replace", newline="") as handle:
            return max(0, sum(1 for _ in csv.reader(handle)) - 1)
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())
