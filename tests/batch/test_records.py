import json
from pathlib import Path

import pytest

from propscope.batch.records import Record, Rejected, count_records, read_records
from propscope.errors import InputError


def test_jsonl_records_carry_metadata_and_bad_lines_are_rejected(tmp_path: Path):
    path = tmp_path / "in.jsonl"
    lines = [
        json.dumps({"id": 7, "text": "Body text.", "title": "T", "source": "Daily", "date": "2026-01-01", "x": 1}),
        "[1, 2]",
        "{broken",
        json.dumps({"id": "8"}),
        json.dumps({"text": "no id"}),
    ]
    path.write_bytes(("\n".join(lines) + "\n").encode() + b'{"id": "9", "text": "caf\xe9"}\n')
    items = list(read_records(path))
    assert items[0] == Record("7", "Body text.", "T", {"source": "Daily", "date": "2026-01-01"})
    reasons = [(i.id, i.where.rsplit(":", 1)[-1], i.reason) for i in items[1:]]
    assert reasons[0] == (None, "2", "a line must hold a JSON object")
    assert reasons[1][2].startswith("invalid JSON")
    assert reasons[2] == ("8", "4", "missing text")
    assert reasons[3] == (None, "5", "missing id")
    assert reasons[4][2] == "undecodable bytes (not UTF-8)"
    assert count_records(path) == 6


def test_csv_records_with_multiline_text(tmp_path: Path):
    path = tmp_path / "in.csv"
    path.write_text('id,text,source\n1,"Line one.\nLine two.",Weekly\n2,,Weekly\n', encoding="utf-8")
    items = list(read_records(path))
    assert items[0] == Record("1", "Line one.\nLine two.", "Line one.", {"source": "Weekly"})
    assert items[1] == Record("2", "", "", {"source": "Weekly"})  # empty text is judged by the runner
    assert count_records(path) == 2


def test_csv_without_required_columns_is_an_error(tmp_path: Path):
    path = tmp_path / "in.csv"
    path.write_text("name,body\n1,x\n", encoding="utf-8")
    with pytest.raises(InputError, match="in.csv:1: .*id, text"):
        list(read_records(path))


def test_folder_of_text_files(tmp_path: Path):
    (tmp_path / "article5.txt").write_text("Title\n\nBody.", encoding="utf-8")
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe")
    items = list(read_records(tmp_path))
    assert items[0] == Record("5", "Title\n\nBody.", "Title")
    assert isinstance(items[1], Rejected) and items[1].id == "bad"


def test_unknown_input_kind(tmp_path: Path):
    path = tmp_path / "in.xml"
    path.write_text("<a/>", encoding="utf-8")
    with pytest.raises(InputError, match="expected a folder"):
        read_records(path)
