import csv
import json
from pathlib import Path

import pytest

from propscope.batch.report import collect, render_html, write_csv
from propscope.errors import InputError


def analysis_line(article_id: str, text: str, spans: list[tuple[int, int, str]], **meta) -> str:
    return json.dumps(
        {
            "id": article_id,
            **meta,
            "article": {"id": article_id, "title": "", "text": text},
            "spans": [{"start": s, "end": e, "technique": t, "score": 0.9, "text": text[s:e]} for s, e, t in spans],
            "summary": {"sentences": 2, "flagged_sentences": 1 if spans else 0},
        }
    )


@pytest.fixture
def analyses(tmp_path: Path) -> Path:
    text = "Shameful plan. Calm words here."  # 5 words
    rows = [
        analysis_line("1", text, [(0, 8, "Loaded_Language")], source="Daily", date="2026-01-01T08:00"),
        analysis_line("2", text, [(0, 8, "Loaded_Language"), (0, 13, "Doubt")], source="Daily", date="2026-01-01"),
        analysis_line("3", text, [], source="<Weekly & Co>", date="2026-01-02"),
        analysis_line("4", text, [(15, 20, "Slogans")]),
    ]
    path = tmp_path / "out.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_groups_by_source(analyses: Path):
    groups = {g.name: g for g in collect(analyses, "source")}
    assert set(groups) == {"Daily", "<Weekly & Co>", "(unknown)"}
    daily = groups["Daily"]
    assert (daily.articles, daily.words, daily.spans) == (2, 10, 3)
    assert daily.spans_per_1000_words == pytest.approx(300.0)
    assert daily.flagged_share == pytest.approx(0.5)
    assert daily.phrases.most_common(1) == [("shameful", 2)]
    assert groups["<Weekly & Co>"].spans == 0


def test_groups_by_day(analyses: Path):
    assert [(g.name, g.articles) for g in collect(analyses, "date")] == [
        ("(unknown)", 1),
        ("2026-01-01", 2),
        ("2026-01-02", 1),
    ]


def test_csv_and_html(analyses: Path, tmp_path: Path):
    groups = collect(analyses, "source")
    with (tmp_path / "r.csv").open("w", newline="", encoding="utf-8") as out:
        write_csv(groups, out)
    table = list(csv.DictReader((tmp_path / "r.csv").open(encoding="utf-8")))
    daily = next(r for r in table if r["group"] == "Daily")
    assert daily["Loaded_Language"] == "2" and daily["Doubt"] == "1" and daily["spans_per_1000_words"] == "300.00"
    page = render_html(groups, "source")
    assert "<svg" in page and "&lt;Weekly &amp; Co&gt;" in page and "<Weekly" not in page
    assert "http://" not in page and "https://" not in page


def test_a_line_that_is_not_an_analysis_is_named(tmp_path: Path):
    path = tmp_path / "out.jsonl"
    path.write_text('{"id": "1"}\n', encoding="utf-8")
    with pytest.raises(InputError, match="out.jsonl:1"):
        collect(path, "source")


def test_csv_cells_never_start_a_formula(tmp_path: Path):
    text = '=HYPERLINK("http://x.test","y") is loaded.'
    sources = ['=cmd|"/c calc"!A1', "+1+1", "-2", "@SUM(A1)", "Plain"]
    rows = [analysis_line(str(i), text, [(0, 10, "Loaded_Language")], source=s) for i, s in enumerate(sources)]
    path = tmp_path / "out.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with (tmp_path / "r.csv").open("w", newline="", encoding="utf-8") as out:
        write_csv(collect(path, "source"), out)
    table = list(csv.DictReader((tmp_path / "r.csv").open(encoding="utf-8")))
    cells = [row[column] for row in table for column in ("group", "top_phrases")]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@")]
    assert sorted(row["group"] for row in table) == sorted(["'" + s for s in sources[:4]] + ["Plain"])
    assert table[0]["top_phrases"] == "'=hyperlink (1)"


@pytest.mark.parametrize(
    "line",
    [
        b"[]",
        b"3",
        b'{"article": []}',
        b"\x80\xff",
        b'{"article": {"text": 3}}',
        analysis_line("1", "Words.", [], source="\ud800").encode(),  # JSON-escaped lone surrogate
    ],
)
def test_a_line_of_any_other_shape_is_named(tmp_path: Path, line: bytes):
    path = tmp_path / "out.jsonl"
    path.write_bytes(line + b"\n")
    with pytest.raises(InputError, match="out.jsonl:1: not a PropScope analysis line"):
        collect(path, "source")
