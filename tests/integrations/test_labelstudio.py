"""Label Studio's task and export formats on hand-made fixtures (the real server: test_labelstudio_server.py)."""

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from propscope.cli.main import app
from propscope.corpus import Label, read_corpus_folder
from propscope.corpus.folder import write_corpus_folder
from propscope.document import Analysis, Article, Span
from propscope.errors import InputError
from propscope.integrations.labelstudio import labeling_config, read_export, task
from propscope.techniques import TECHNIQUE_NAMES

TEXT = "Rally 😀 today\r\nThey are 🇬🇧 traitors, all of them!\r\n"


def analysis_of(article_id: str, text: str, spans: list[Span]) -> Analysis:
    return Analysis.build(Article(article_id, text, text.split("\r\n")[0]), spans, [(0, len(text))], model="default")


def annotated(tasks: list[dict]) -> list[dict]:
    """What Label Studio exports once an annotator accepts every pre-annotation."""
    return [
        {"id": number, **t, "annotations": [{"id": number, "result": t["predictions"][0]["result"]}]}
        for number, t in enumerate(tasks, start=1)
    ]


def write_export(tmp_path: Path, records: list[dict]) -> Path:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return path


def spans_of(text: str) -> list[Span]:
    traitors = text.index("traitors")
    return [Span(traitors, traitors + 8, "Name_Calling,Labeling", 0.71), Span(0, 13, "Slogans", 0.42)]


def test_a_task_carries_the_spans_as_predictions():
    made = task(analysis_of("7", TEXT, spans_of(TEXT)).to_dict() | {"id": "7", "source": "Daily"})
    assert made["data"] == {"text": TEXT, "article_id": "7", "title": "Rally 😀 today", "source": "Daily"}
    (prediction,) = made["predictions"]
    assert prediction["model_version"] == "propscope default"
    values = [region["value"] for region in prediction["result"]]
    assert all(TEXT[v["start"] : v["end"]] == v["text"] for v in values)
    assert [v["labels"] for v in values] == [["Slogans"], ["Name_Calling,Labeling"]]


def test_the_labeling_config_names_the_fourteen_techniques_and_matches_the_tasks():
    root = ET.fromstring(labeling_config())
    labels = root.find("Labels")
    assert [label.get("value") for label in labels.findall("Label")] == list(TECHNIQUE_NAMES)
    region = task(analysis_of("7", TEXT, spans_of(TEXT)).to_dict())["predictions"][0]["result"][0]
    assert (labels.get("name"), labels.get("toName")) == (region["from_name"], region["to_name"])
    assert root.find("Text").get("name") == region["to_name"] and root.find("Text").get("value") == "$text"


def test_round_trip_keeps_text_and_offsets_exactly(tmp_path: Path):
    other = "Calm news.\nNothing to see here."
    tasks = [task(analysis_of("7", TEXT, spans_of(TEXT)).to_dict()), task(analysis_of("8", other, []).to_dict())]
    imported = read_export(write_export(tmp_path, annotated(tasks)))
    write_corpus_folder(tmp_path / "corpus", imported.articles, imported.labels)
    assert (tmp_path / "corpus" / "article7.txt").read_bytes() == TEXT.encode("utf-8")
    articles, labels = read_corpus_folder(tmp_path / "corpus")
    assert {a.id: a.text for a in articles} == {"7": TEXT, "8": other}
    assert sorted(labels) == sorted(Label("7", s.start, s.end, s.technique) for s in spans_of(TEXT))


texts = st.text(alphabet=st.sampled_from(list("ab c\r\n\t😀🇬é,.")), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(texts, st.data())
def test_any_text_and_spans_survive_the_round_trip(tmp_path_factory, text, data):
    bounds = st.tuples(st.integers(0, len(text) - 1), st.integers(1, len(text))).filter(lambda b: b[0] < b[1])
    chosen = data.draw(st.lists(st.tuples(bounds, st.sampled_from(TECHNIQUE_NAMES)), max_size=5))
    spans = [Span(start, end, technique, 0.5) for (start, end), technique in chosen]
    folder = tmp_path_factory.mktemp("trip")
    imported = read_export(write_export(folder, annotated([task(analysis_of("1", text, spans).to_dict())])))
    write_corpus_folder(folder / "corpus", imported.articles, imported.labels)
    articles, labels = read_corpus_folder(folder / "corpus")
    assert [a.text for a in articles] == [text]
    assert sorted(labels) == sorted({Label("1", s.start, s.end, s.technique) for s in spans})


def region(start: int, end: int, text: str, labels: list[str]) -> dict:
    return {"id": "r", "from_name": "technique", "to_name": "text", "type": "labels",
            "value": {"start": start, "end": end, "text": text, "labels": labels}}  # fmt: skip


def test_utf16_offsets_of_older_exports_are_read_back_to_characters(tmp_path: Path):
    traitors = TEXT.index("traitors")
    units = len(TEXT[:traitors].encode("utf-16-le")) // 2  # 😀 and the flag's two letters take 2 units each
    assert units == traitors + 3
    record = {"id": 3, "data": {"text": TEXT, "article_id": "7"},
              "annotations": [{"result": [region(units, units + 8, "traitors", ["Doubt"])]}]}  # fmt: skip
    (label,) = read_export(write_export(tmp_path, [record])).labels
    assert (label.start, label.end) == (traitors, traitors + 8)


def record(task_id: int, annotations: list[dict] | None, text: str = "abcd efgh", **data) -> dict:
    return {
        "id": task_id,
        "data": {"text": text, **data},
        **({} if annotations is None else {"annotations": annotations}),
    }


def results(*regions: dict) -> list[dict]:
    return [{"result": list(regions)}]


def test_choosing_the_annotation(tmp_path: Path):
    def annotation(number, start, **flags):
        result = [region(start, start + 4, None, ["Doubt"])]
        return {"id": number, "updated_at": f"2026-01-0{number}", "result": result, **flags}

    records = [
        record(1, [annotation(1, 0), annotation(2, 5)], article_id="a"),  # the latest
        record(2, [annotation(1, 0, ground_truth=True), annotation(2, 5)], article_id="b"),  # the ground truth
        record(3, [annotation(1, 0), annotation(2, 5, was_cancelled=True)], article_id="c"),  # not the skipped one
        record(4, [annotation(1, 0, was_cancelled=True)], article_id="d"),
        record(5, None, article_id="e"),
    ]
    imported = read_export(write_export(tmp_path, records))
    assert [(label.article_id, label.start) for label in imported.labels] == [("a", 5), ("b", 0), ("c", 0)]
    assert imported.skipped == 2 and [a.id for a in imported.articles] == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ({"id": 1}, "expected a JSON list"),
        ([{"id": 4, "data": {}}], "task 4: needs data.text"),
        ([record(4, results(), article_id="../x")], "cannot name a file"),
        ([record(4, results(region(0, 2, None, ["Nope"])))], "task 4, region r: unknown technique 'Nope'"),
        ([record(4, results(region(0, 19, None, ["Doubt"])))], "lie outside the text"),
        ([record(4, results(region(0, 2, "bc", ["Doubt"])))], "offsets 0..2 hold 'ab', the export says 'bc'"),
        ([record(4, results(region(0, 99, "bc", ["Doubt"])))], "offsets 0..99 lie outside the text"),
        ([record(4, results(region(3, 1, "bc", ["Doubt"])))], "offsets 3..1 hold no character"),
        ([record(4, results(), article_id="x"), record(5, results(), article_id="x")], "appears twice"),
    ],
)
def test_bad_exports_are_named(tmp_path: Path, records, message):
    with pytest.raises(InputError, match=f"^{re.escape(str(tmp_path / 'export.json'))}: .*{re.escape(message)}"):
        read_export(write_export(tmp_path, records))


def test_an_export_that_is_not_json_is_named(tmp_path: Path):
    path = tmp_path / "export.json"
    path.write_bytes(b'[{"id": 1,')
    with pytest.raises(InputError, match="export.json: not a JSON file of Label Studio tasks"):
        read_export(path)


def test_export_and_import_commands(tmp_path: Path):
    analysis = analysis_of("7", TEXT, spans_of(TEXT))
    batch = tmp_path / "out.jsonl"
    batch.write_text(json.dumps({"id": "7", **analysis.to_dict()}, ensure_ascii=False) + "\n", encoding="utf-8")
    runner = CliRunner()
    tasks, config = tmp_path / "tasks.json", tmp_path / "config.xml"
    done = runner.invoke(app, ["export", str(batch), "-o", str(tasks), "--labeling-config", str(config),
                               "--min-score", "0.5"])  # fmt: skip
    assert done.exit_code == 0, done.output
    (made,) = json.loads(tasks.read_text(encoding="utf-8"))
    assert [r["value"]["labels"] for r in made["predictions"][0]["result"]] == [["Name_Calling,Labeling"]]
    assert ET.fromstring(config.read_text(encoding="utf-8")).tag == "View"
    export = write_export(tmp_path, annotated([made]))
    done = runner.invoke(app, ["import", str(export), "-o", str(tmp_path / "corpus")])
    assert done.exit_code == 0, done.output
    assert "1 articles and 1 spans" in done.output
    traitors = TEXT.index("traitors")
    assert read_corpus_folder(tmp_path / "corpus")[1] == [Label("7", traitors, traitors + 8, "Name_Calling,Labeling")]
    bad = runner.invoke(app, ["import", str(tmp_path / "missing.json"), "-o", str(tmp_path / "c2")])
    assert bad.exit_code == 1 and "missing.json: no such file" in bad.output and "Traceback" not in bad.output
