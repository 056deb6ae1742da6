"""Reading batch input — a folder of .txt files, JSON lines or CSV — one record at a time.

A record that cannot be used becomes a ``Rejected`` with its place and reason instead of stopping the
run; only a file that cannot be read at all is an error.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from propscope.corpus.articles import article_files, article_id_from_path, decode_text, title_of
from propscope.corpus.labels import id_problem
from propscope.errors import InputError

META_FIELDS = ("source", "url", "date")
CSV_FIELD_LIMIT = 2**31 - 1  # the csv module stops at 131,072 characters; --max-chars judges length instead


@dataclass(frozen=True)
class Record:
    id: str
    text: str
    title: str = ""
    meta: dict[str, str] = field(default_factory=dict)
    where: str = field(default="", compare=False)  # file and line (or file) it came from, for the errors file


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
    if problem := id_problem(record_id):
        return Rejected(record_id, where, problem)
    text = row.get("text")
    if not isinstance(text, str):
        return Rejected(record_id, where, "missing text" if text is None else "text is not a string")
    title = row.get("title")
    meta = {k: str(row[k]) for k in META_FIELDS if row.get(k) not in (None, "")}
    record = Record(record_id, text, str(title) if title else title_of(text), meta, where)
    for name, value in (("text", record.text), ("title", record.title), *record.meta.items()):
        if _has_surrogates(value):
            return Rejected(record_id, where, f"{name} is not valid Unicode (it holds a lone surrogate)")
    return record


def _jsonl_records(path: Path) -> Iterator[Record | Rejected]:
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            where = f"{path}:{number}"
            if not raw.strip():
                continue
            try:
                row = json.loads(raw.decode("utf-8-sig"))
            except UnicodeDecodeError:
                yield Rejected(None, where, "undecodable bytes (not UTF-8)")
                continue
            except json.JSONDecodeError as err:
                yield Rejected(None, where, f"invalid JSON ({err.msg} at character {err.pos + 1})")
                continue
            if not isinstance(row, dict):
                yield Rejected(None, where, "a line must hold a JSON object")
                continue
            yield _from_mapping(row, where)


def _csv_records(path: Path) -> Iterator[Record | Rejected]:
    """Rows of a CSV file, each placed at the line where it starts. Quoting is read strictly: a stray quote
    inside a quoted field rejects that row (lenient reading would silently change its text), and a quoted field
    that never closes rejects the rest of the file, which it would otherwise swallow into one article."""
    _allow_long_csv_fields()
    # utf-8-sig: spreadsheet programs start "CSV UTF-8" files with a byte order mark
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        lines = _Counted(handle)  # the reader's own count skips a line it failed on
        reader = csv.DictReader(lines, strict=True)
        try:
            missing = {"id", "text"} - set(reader.fieldnames or ())
        except csv.Error as err:
            raise InputError(f"{path}:1: the CSV header is not readable as CSV ({err})") from None
        if missing:
            raise InputError(f"{path}:1: the CSV header needs the column(s) {', '.join(sorted(missing))}")
        while True:
            where = f"{path}:{lines.read + 1}"
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                yield Rejected(None, where, _csv_problem(str(err)))
                continue
            if any(isinstance(v, str) and _has_surrogates(v) for v in row.values()):
                yield Rejected(row.get("id") or None, where, "undecodable bytes (not UTF-8)")
                continue
            yield _from_mapping(row, where)


class _Counted:
    """The lines of a file, counting those handed out."""

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines, self.read = lines, 0

    def __iter__(self) -> _Counted:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.read += 1
        return line


def _csv_problem(error: str) -> str:
    if "unexpected end of data" in error:
        return "a quoted field opens in this row and never closes: the rest of the file could not be read"
    return f'not readable as CSV ({error}): a quote inside a quoted field is written twice ("")'


def _allow_long_csv_fields() -> None:
    """The csv module's limit is process-wide; it is only ever raised here, never lowered."""
    csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))


def _has_surrogates(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _folder_records(folder: Path) -> Iterator[Record | Rejected]:
    for path in sorted(folder.glob("*.txt")):
        record_id = article_id_from_path(path)
        where = str(path)
        if problem := id_problem(record_id):
            yield Rejected(record_id, where, problem)
            continue
        try:
            text = decode_text(path.read_bytes(), where)
        except InputError as err:  # "<where>:<line>: <reason>"
            line, _, reason = str(err).removeprefix(f"{where}:").partition(": ")
            yield Rejected(record_id, f"{where}:{line}", reason)
            continue
        except OSError as err:
            yield Rejected(record_id, where, f"cannot read ({err.strerror})")
            continue
        yield Record(record_id, text, title_of(text), where=where)


def read_records(path: Path) -> Iterator[Record | Rejected]:
    """Records of ``path``; each names its place by the absolute path, the same however a rerun spells it."""
    path = Path(os.path.abspath(path))
    if path.is_dir():
        article_files(path)  # a folder without articles is refused as analyze refuses it, not run as nothing
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
        _allow_long_csv_fields()
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
            try:
                return max(0, sum(1 for _ in csv.reader(handle)) - 1)
            except csv.Error:
                return 0  # the reading pass names the problem and its line
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())
