import csv
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from propscope.batch.report import TOP_PHRASES, GroupStats, collect, render_html, write_csv
from propscope.errors import InputError
from propscope.techniques import TECHNIQUE_NAMES, TECHNIQUES, get_technique


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


def test_parquet_parts_give_the_same_groups(analyses: Path, tmp_path: Path):
    from propscope.batch.parquet import ParquetWriter

    with ParquetWriter(tmp_path / "out.parquet") as writer:
        for line in analyses.read_text(encoding="utf-8").splitlines(keepends=True):
            writer.write(line)
    from_json, from_parquet = collect(analyses, "source"), collect(tmp_path / "out.parquet", "source")
    assert [(g.name, g.articles, g.words, g.spans, g.techniques, g.phrases) for g in from_parquet] == [
        (g.name, g.articles, g.words, g.spans, g.techniques, g.phrases) for g in from_json
    ]


@pytest.fixture
def timeline(tmp_path: Path) -> Path:
    text = "Shameful plan. Calm words here."
    rows = [
        analysis_line("1", text, [(0, 8, "Loaded_Language")], source="Daily", date="2026-01-05T08:00"),  # a Monday
        analysis_line("2", text, [(0, 8, "Loaded_Language"), (0, 13, "Doubt")], source="Daily", date="2026-01-11"),
        analysis_line("3", text, [(15, 20, "Slogans")], source="Daily", date="2026-01-12"),
        analysis_line("4", text, [], source="Weekly", date="2026-02-01"),
        analysis_line("5", text, [(0, 8, "Loaded_Language")], source="Weekly", date="not a date"),
    ]
    path = tmp_path / "timeline.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_groups_by_source_and_week(timeline: Path):
    groups = [(g.name, g.period, g.articles, g.spans) for g in collect(timeline, "source", "week")]
    assert groups == [
        ("Daily", "2026-01-05", 2, 3),
        ("Daily", "2026-01-12", 1, 1),
        ("Weekly", "(unknown)", 1, 1),
        ("Weekly", "2026-01-26", 1, 0),
    ]


def test_groups_by_month(timeline: Path):
    assert [(g.name, g.period, g.articles) for g in collect(timeline, "date", "month")] == [
        ("(unknown)", "", 1),
        ("2026-01", "", 3),
        ("2026-02", "", 1),
    ]


def test_period_report_has_time_series_links_and_a_period_column(timeline: Path, tmp_path: Path):
    groups = collect(timeline, "source", "month")
    page = render_html(groups, "source", "month")
    assert page.count("<polyline") == 3  # Daily: loaded language, doubt, slogans; Weekly's only dated month has none
    assert get_technique("Doubt").colour in page and "Techniques over time" in page
    assert page.count('<a href="#group-') == 2 * len(groups) and 'id="group-0"' in page  # from the table and chart
    with (tmp_path / "r.csv").open("w", newline="", encoding="utf-8") as out:
        write_csv(groups, out)
    table = list(csv.DictReader((tmp_path / "r.csv").open(encoding="utf-8")))
    assert [(r["group"], r["period"], r["articles"]) for r in table] == [
        ("Daily", "2026-01", "3"),
        ("Weekly", "(unknown)", "1"),
        ("Weekly", "2026-02", "1"),
    ]


def test_each_group_lists_its_articles_with_their_surest_spans(tmp_path: Path):
    text = "A <b>shameful</b> plan. Calm words."
    rows = [
        json.loads(analysis_line("1", text, [(2, 17, "Loaded_Language"), (18, 22, "Doubt")], source="Daily"))
        | {"url": "https://example.org/a?x=1&y=2"},
        json.loads(analysis_line("2", text, [], source="Daily")) | {"url": "javascript:alert(1)"},
    ]
    rows[0]["spans"][1]["score"] = 0.95
    path = tmp_path / "out.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (daily,) = collect(path, "source")
    assert [a.id for a in daily.top_articles] == ["1", "2"]
    assert [t for t, _, _ in daily.top_articles[0].spans] == ["Doubt", "Loaded_Language"]
    page = render_html([daily], "source")
    assert 'href="https://example.org/a?x=1&amp;y=2"' in page
    assert "javascript:" not in page and "&lt;b&gt;shameful&lt;/b&gt;" in page and "<b>" not in page


def test_frequent_phrases_are_normalised_and_recur(tmp_path: Path):
    text = "Red flag! A one-off here. Red flag again."
    rows = [
        analysis_line("1", text, [(0, 8, "Loaded_Language"), (0, 8, "Doubt"), (10, 18, "Doubt")], source="Daily"),
        analysis_line("2", "“red flag”, they said", [(0, 10, "Loaded_Language")], source="Daily"),
        analysis_line("3", "Red Flag” and red-flag.", [(0, 9, "Slogans"), (14, 22, "Slogans")], source="Daily"),
        analysis_line("4", "!!! and ???", [(0, 3, "Loaded_Language"), (8, 11, "Doubt")], source="Daily"),
    ]
    path = tmp_path / "out.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    (daily,) = collect(path, "source")
    # One place with two techniques counts once; "a one-off" is flagged once; punctuation alone is no phrase.
    assert daily.phrases == Counter({"red flag": 4})


def test_each_group_shows_its_spread_and_its_articles_rates(tmp_path: Path):
    text = " ".join(["word"] * 100)
    spans_per_article = [0, 1, 1, 2, 10]
    rows = [
        analysis_line(str(k), text, [(0, 4, "Loaded_Language")] * n, source="Daily")
        for k, n in enumerate(spans_per_article)
    ]
    path = tmp_path / "out.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    (daily,) = collect(path, "source")
    assert daily.spread == (0.0, 10.0, 10.0, 20.0, 100.0)  # per 1,000 words: least, quartiles, most
    assert daily.rates == [0.0, 10.0, 10.0, 20.0, 100.0]
    assert daily.spans_per_1000_words == pytest.approx(28.0)
    assert [(a.id, a.count, a.spans_per_1000_words) for a in daily.top_articles][:2] == [
        ("4", 10, 100.0),
        ("3", 2, 20.0),
    ]
    page = render_html([daily], "source")
    chart = page[page.index("<svg") : page.index("</svg>")]
    assert chart.count("<circle") == 5 and "<rect" in chart and '<a href="#group-0">' in chart
    assert "<td>10</td><td>100.0</td>" in page  # the article's row: its spans and its rate


def test_the_report_paints_techniques_in_the_catalogues_colours(timeline: Path):
    page = render_html(collect(timeline, "source", "month"), "source", "month")
    colours = set(re.findall(r"#[0-9a-fA-F]{6}\b", page))
    assert colours and colours <= {t.colour for t in TECHNIQUES}


def test_the_report_fits_a_phone(chromium, tmp_path: Path):
    long = "A-very-long-source-name-without-any-space-" * 3
    rows = [
        analysis_line(
            str(k),
            "Shameful plan. Calm words here.",
            [(0, 8, "Loaded_Language")],
            source=source,
            date=f"2026-0{k % 3 + 1}-01",
        )
        for k, source in enumerate(["Daily", "Weekly", long] * 4)
    ]
    path = tmp_path / "out.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    page = chromium.new_page()
    try:
        page.set_viewport_size({"width": 390, "height": 844})
        page.set_content(render_html(collect(path, "source", "month"), "source", "month"))
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        page.close()


def test_a_broken_json_line_is_named(tmp_path: Path):
    path = tmp_path / "out.jsonl"
    good = analysis_line("1", "Calm words.", [])
    path.write_text(good + "\n\n" + good[:20] + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="out.jsonl:3: not a PropScope analysis line"):
        collect(path, "source")


def test_report_command_reads_parquet_parts(analyses: Path, tmp_path: Path):
    from typer.testing import CliRunner

    from propscope.batch.parquet import ParquetWriter
    from propscope.cli.main import app

    with ParquetWriter(tmp_path / "out.parquet") as writer:
        writer.write(analyses.read_text(encoding="utf-8").splitlines(keepends=True)[0])
    (tmp_path / "out.parquet" / ".part-000001.parquet.tmp").write_bytes(b"a part being written by a running batch")
    done = CliRunner().invoke(app, ["report", str(tmp_path / "out.parquet"), "--every", "week"])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "out.report.html").is_file() and (tmp_path / "out.report.csv").is_file()
    missing = CliRunner().invoke(app, ["report", str(tmp_path / "nothing.jsonl")])
    assert missing.exit_code == 1 and "nothing.jsonl: no such file or folder" in missing.output


def phrase(text: str) -> str:
    """What the report takes for a phrase: its words in lower case, apostrophes made straight."""
    return " ".join(re.findall(r"[^\W_]+(?:'[^\W_]+)*", re.sub("[’‘ʼ]", "'", text.lower())))


texts = st.text(alphabet=st.sampled_from(list("abÁé \n\t\u00a0\u2028\x0b.'’“”")), min_size=1, max_size=30)
analysis_rows = st.lists(
    st.tuples(st.sampled_from(["Daily", "Weekly", ""]), texts, st.lists(st.sampled_from(TECHNIQUE_NAMES), max_size=3)),
    min_size=1,
    max_size=12,
)


@settings(max_examples=40, deadline=None)
@given(analysis_rows, st.booleans())
def test_duckdb_aggregates_agree_with_python(tmp_path_factory, generated, words_in_summary):
    lines, expected = [], {}
    for number, (source, text, techniques) in enumerate(generated):
        spans = [(0, len(text), t) for t in techniques]
        row = json.loads(analysis_line(str(number), text, spans, source=source))
        if words_in_summary:
            row["summary"]["words"] = len(text.split())
        lines.append(json.dumps(row))
        group = expected.setdefault(source or "(unknown)", {"articles": 0, "words": 0, "techniques": Counter()})
        group["articles"] += 1
        group["words"] += len(text.split())
        group["techniques"].update(techniques)
        group.setdefault("phrases", Counter()).update([phrase(text)] if techniques else [])  # one place each
    path = tmp_path_factory.mktemp("report") / "out.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    groups = {g.name: g for g in collect(path, "source")}
    assert set(groups) == set(expected)
    for name, want in expected.items():
        got = groups[name]
        assert (got.articles, got.words) == (want["articles"], want["words"])
        assert +got.techniques == +want["techniques"]
        recurring = Counter({p: n for p, n in want.get("phrases", Counter()).items() if p and n >= 2})
        assert len(got.phrases) == min(TOP_PHRASES, len(recurring))
        assert all(recurring[p] == n for p, n in got.phrases.items())
        assert all(n <= min(got.phrases.values()) for p, n in recurring.items() if p not in got.phrases)


def test_csv_cells_never_start_a_formula(tmp_path: Path):
    text = '=HYPERLINK("http://x.test","y") is loaded.'
    sources = ['=cmd|"/c calc"!A1', "+1+1", "-2", "@SUM(A1)", "Plain"]
    rows = [
        analysis_line(f"{i}{k}", text, [(0, 10, "Loaded_Language")], source=s)
        for i, s in enumerate(sources)
        for k in "ab"
    ]
    path = tmp_path / "out.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with (tmp_path / "r.csv").open("w", newline="", encoding="utf-8") as out:
        write_csv(collect(path, "source"), out)
    table = list(csv.DictReader((tmp_path / "r.csv").open(encoding="utf-8")))
    cells = [row[column] for row in table for column in ("group", "top_phrases")]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@")]
    assert sorted(row["group"] for row in table) == sorted(["'" + s for s in sources[:4]] + ["Plain"])
    assert table[0]["top_phrases"] == "hyperlink (2)"  # a phrase is its words: no "=" to start with


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


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("n" * 300 + ".jsonl", "cannot read (File name too long)"),
        ("missing.jsonl", "no such file or folder"),
        ("empty.parquet/", "no .parquet files in this folder"),
        ("broken.parquet", "cannot be read as PropScope analyses"),
    ],
)
def test_an_input_that_cannot_be_read_is_named(tmp_path: Path, name: str, reason: str):
    path = tmp_path / name
    if name.endswith("/"):
        path.mkdir()
    elif name.startswith("broken"):
        path.write_bytes(b"PAR1 not really")
    with pytest.raises(InputError, match="^" + re.escape(f"{path}: {reason}")):
        collect(path, "source")


def test_spans_under_the_min_score_are_left_out(analyses: Path):
    lines = analyses.read_text(encoding="utf-8").splitlines()
    row = json.loads(lines[1])
    row["spans"][1]["score"] = 0.3  # article 2's Doubt span
    analyses.write_text("\n".join([lines[0], json.dumps(row), *lines[2:]]) + "\n", encoding="utf-8")
    daily = next(g for g in collect(analyses, "source", min_score=0.5) if g.name == "Daily")
    assert daily.techniques == Counter({"Loaded_Language": 2})
    assert all(technique != "Doubt" for a in daily.top_articles for technique, _, _ in a.spans)
    assert next(g for g in collect(analyses, "source") if g.name == "Daily").techniques["Doubt"] == 1


def test_ties_rank_the_same_whatever_order_spans_were_counted_in():
    counts = {"Doubt": 2, "Slogans": 3, "Exaggeration,Minimisation": 2, "Causal_Oversimplification": 2}
    forwards = GroupStats("a", techniques=Counter(counts), phrases=Counter({"x y": 2, "a b": 2}))
    backwards = GroupStats(
        "a", techniques=Counter(dict(reversed(counts.items()))), phrases=Counter({"a b": 2, "x y": 2})
    )
    assert forwards.ranked_techniques() == backwards.ranked_techniques()
    assert [name for name, _ in forwards.ranked_techniques()] == [
        "Slogans",
        "Causal_Oversimplification",
        "Doubt",
        "Exaggeration,Minimisation",
    ]
    assert forwards.ranked_phrases(1) == backwards.ranked_phrases(1) == [("a b", 2)]
