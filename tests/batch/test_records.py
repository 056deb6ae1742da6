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
    assert reasons[1][2] == "invalid JSON (Expecting property name enclosed in double quotes at character 2)"
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


def test_csv_quoting_mistakes_reject_their_rows_and_change_no_other(tmp_path: Path):
    path = tmp_path / "in.csv"
    path.write_text(
        'id,text\n1,He said "stop" now\n2,"He said "stop" now"\n3,"Two\nlines"\n4,"never closed\n5,five\n',
        encoding="utf-8",
    )
    items = list(read_records(path))
    assert items[0] == Record("1", 'He said "stop" now', 'He said "stop" now')  # a quote inside unquoted text
    assert isinstance(items[1], Rejected) and items[1].where.endswith("in.csv:3") and '""' in items[1].reason
    assert items[2] == Record("3", "Two\nlines", "Two") and items[2].where.endswith("in.csv:4")  # where it starts
    assert isinstance(items[3], Rejected) and items[3].where.endswith("in.csv:6") and "never closes" in items[3].reason
    assert len(items) == 4  # row 5 went into the unclosed field: the rejection says the rest was not read


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


@pytest.mark.parametrize("field", ["id", "text", "title", "source"])
def test_a_lone_surrogate_rejects_its_record_only(tmp_path: Path, field: str):
    path = tmp_path / "in.jsonl"
    row = {"id": "s1", "text": "Plain words.", "title": "T", "source": "Daily"} | {field: "a \ud800 b"}
    path.write_text(json.dumps(row) + "\n" + json.dumps({"id": "ok", "text": "Fine."}) + "\n", encoding="utf-8")
    bad, good = list(read_records(path))
    assert isinstance(bad, Rejected) and "lone surrogate" in bad.reason and bad.where.endswith("in.jsonl:1")
    assert good.id == "ok" and good.where.endswith("in.jsonl:2")


@pytest.mark.parametrize("record_id", ["a\tb", "a\nb", "a\rb", "a\x1bb", "a\u2028b"])
def test_ids_that_would_break_rows_are_rejected(tmp_path: Path, record_id: str):
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"id": record_id, "text": "Words."}) + "\n", encoding="utf-8")
    (item,) = read_records(path)
    assert isinstance(item, Rejected) and "control character" in item.reason


def test_csv_with_byte_order_mark_and_a_long_field(tmp_path: Path):
    path = tmp_path / "in.csv"
    long_text = "word " * 40_000  # 200,000 characters: past the csv module's own limit of 131,072
    path.write_text(f'id,text\n1,"{long_text}"\n2,Short.\n', encoding="utf-8-sig")
    items = list(read_records(path))
    assert [(i.id, len(i.text)) for i in items] == [("1", len(long_text)), ("2", 6)]
    assert count_records(path) == 2


def test_jsonl_with_byte_order_mark(tmp_path: Path):
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"id": "1", "text": "Words."}) + "\n", encoding="utf-8-sig")
    assert [i.id for i in read_records(path)] == ["1"]


def test_places_are_absolute_however_the_path_is_spelled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"id": "1"}) + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    spellings = [Path("in.jsonl"), Path("./in.jsonl"), tmp_path / "." / "in.jsonl"]
    assert {next(read_records(p)).where for p in spellings} == {f"{tmp_path}/in.jsonl:1"}


def test_folder_file_in_utf16_without_byte_order_mark(tmp_path: Path):
    (tmp_path / "article1.txt").write_bytes("Title\n\nBody.".encode("utf-16-le"))
    (item,) = read_records(tmp_path)
    assert isinstance(item, Rejected) and "NUL" in item.reason and item.where == f"{tmp_path}/article1.txt:1"
