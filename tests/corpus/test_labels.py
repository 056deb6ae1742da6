import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from propscope.corpus import Label, format_label, read_labels, write_labels
from propscope.corpus.labels import parse_labels
from propscope.errors import InputError
from propscope.techniques import TECHNIQUE_NAMES


def test_technique_names_with_commas_are_split_on_tabs_only():
    rows = parse_labels("7\tName_Calling,Labeling\t3\t9\n7\tRepetition\t10\t12\n", "x")
    assert rows == [Label("7", 3, 9, "Name_Calling,Labeling"), Label("7", 10, 12, "Repetition")]


def test_span_rows_and_template_rows():
    rows = parse_labels("7\t3\t9\n8\t?\t1\t4\n", "x")
    assert rows[0] == Label("7", 3, 9, None)
    assert rows[1].is_template


def test_crlf_and_blank_lines_are_tolerated():
    assert parse_labels("7\t3\t9\r\n\n8\t1\t2\r\n", "x") == [Label("7", 3, 9), Label("8", 1, 2)]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("7\tLoaded_Language\t3", "a technique row needs ID<TAB>technique<TAB>start<TAB>end"),  # no end
        ("7\t?\t3", "this one has no end"),
        ("7\tthree\t9", "whole numbers"),
        ("7\tNot_A_Technique\t3\t9", "unknown technique"),
        ("7\tDoubt\tthree\t9", "whole numbers"),
        ("7\tDoubt\t9\t3", "start < end"),
        ("7 Doubt 3 9", "found 1"),
    ],
)
def test_malformed_row_names_file_and_line(line, message, tmp_path: Path):
    path = tmp_path / "bad.labels"
    path.write_text(f"1\tDoubt\t0\t4\n{line}\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_labels(path)
    assert f"{path}:2:" in str(err.value)
    assert message in str(err.value)


def test_round_trip(tmp_path: Path):
    rows = [Label("1", 0, 4, "Doubt"), Label("2", 5, 8), Label("3", 1, 2, "?")]
    path = tmp_path / "out.labels"
    with path.open("w", encoding="utf-8") as out:
        write_labels(rows, out)
    assert read_labels(path) == rows


def test_folder_of_label_files(tmp_path: Path):
    (tmp_path / "a.labels").write_text("1\tDoubt\t0\t4\n", encoding="utf-8")
    (tmp_path / "b.labels").write_text("2\tSlogans\t1\t3\n", encoding="utf-8")
    assert [r.article_id for r in read_labels(tmp_path)] == ["1", "2"]


def test_missing_file():
    with pytest.raises(InputError, match="no such file"):
        read_labels(Path("/nonexistent/gold.labels"))


def test_a_byte_order_mark_is_not_part_of_the_first_id(tmp_path: Path):
    path = tmp_path / "gold.labels"
    path.write_text("7\tDoubt\t3\t9\n8\t1\t4\n", encoding="utf-8-sig")
    assert [row.article_id for row in read_labels(path)] == ["7", "8"]


@pytest.mark.parametrize("offset", ["+1_0", "1_0", "٣", "３", "-1", "1e3", "0x10", "²"])
def test_offsets_are_ascii_digits(offset: str):
    with pytest.raises(InputError, match="x:1: offsets must be whole numbers"):
        parse_labels(f"7\tDoubt\t{offset}\t99\n", "x")


label_rows = st.builds(
    Label,
    article_id=st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp")), min_size=1),
    start=st.integers(0, 10**6),
    end=st.integers(1, 10**6),
    technique=st.sampled_from([None, "?", *TECHNIQUE_NAMES]),
).filter(lambda label: label.start < label.end)


@given(st.lists(label_rows, max_size=5))
def test_written_labels_read_back_the_same(rows: list[Label]):
    text = "".join(format_label(row) + "\n" for row in rows)
    assert parse_labels(text, "x") == rows


@given(st.text(st.sampled_from("0123456789\t\n\r ?-+_x٣\ufeff") | st.characters(), max_size=60))
def test_any_text_parses_or_names_its_line(text: str):
    try:
        rows = parse_labels(text, "x")
    except InputError as err:
        assert re.match(r"x:\d+: ", str(err))
    else:
        assert all(0 <= row.start < row.end and row.article_id == row.article_id.strip() for row in rows)
