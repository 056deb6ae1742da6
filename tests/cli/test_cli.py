import io
import json
import os
import re
import stat
from pathlib import Path

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from propscope.cli import app as cli_app
from propscope.cli.main import app
from propscope.corpus import read_labels
from propscope.techniques import TECHNIQUES, get_technique

runner = CliRunner()
SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample_article.txt"
DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "src" / "propscope" / "resources" / "models" / "default"


def run(*args, input=None):
    result = runner.invoke(app, [str(a) for a in args], input=input)
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def folder(tmp_path: Path, sample_text: str) -> Path:
    (tmp_path / "article10.txt").write_text(sample_text, encoding="utf-8")
    (tmp_path / "article11.txt").write_text("Calm news\n\nThe <script>x</script> library opens at nine.\n", "utf-8")
    return tmp_path


def test_text_output_has_legend_and_summary():
    result = run("analyze", SAMPLE)
    assert result.exit_code == 0
    assert "Techniques found" in result.output
    assert "sentences" in result.output


def test_json_is_the_full_analysis(sample_text):
    result = run("analyze", SAMPLE, "--format", "json")
    data = json.loads(result.stdout)
    assert data["article"]["id"] == "sample_article"
    assert data["spans"] and all(sample_text[s["start"] : s["end"]] == s["text"] for s in data["spans"])
    assert data["summary"]["sentences"] == len(data["sentences"])


def test_jsonl_and_ptc_for_a_folder(folder: Path, tmp_path: Path):
    lines = run("analyze", folder, "-f", "jsonl").stdout.strip().split("\n")
    assert [json.loads(line)["article"]["id"] for line in lines] == ["10", "11"]
    out = tmp_path / "pred.labels"
    assert run("analyze", folder, "-f", "ptc", "-o", out).exit_code == 0
    rows = read_labels(out)
    assert rows and {r.article_id for r in rows} <= {"10", "11"}
    assert all(r.technique for r in rows)


def test_ptc_si_rows_do_not_overlap(folder: Path, tmp_path: Path):
    out = tmp_path / "si.labels"
    run("analyze", folder, "-f", "ptc-si", "-o", out)
    rows = sorted(read_labels(out))
    assert rows and all(r.technique is None for r in rows)
    for a, b in zip(rows, rows[1:], strict=False):
        assert a.article_id != b.article_id or a.end <= b.start


def test_html_escapes_article_text(folder: Path, tmp_path: Path):
    out = tmp_path / "page.html"
    run("analyze", folder, "-f", "html", "-o", out)
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "<mark" in page
    assert "<script" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in re.sub(r"<[^>]*>", "", page)


def test_standard_input(sample_text):
    result = run("analyze", "-", "-f", "json", input=sample_text)
    assert json.loads(result.stdout)["article"]["id"] == "stdin"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing.txt", "no such file"),
        (lambda p: (p / "e.txt").write_text(" \n") and p / "e.txt", "empty input"),
        (lambda p: (p / "b.txt").write_bytes(b"ok\n\xc3\x28") and p / "b.txt", "b.txt:2: not valid UTF-8"),
    ],
)
def test_bad_input_is_one_clear_message(tmp_path: Path, make, message):
    result = run("analyze", make(tmp_path))
    assert result.exit_code == 1
    assert "error:" in result.output and message in result.output


def test_empty_standard_input():
    result = run("analyze", "-", input="")
    assert result.exit_code == 1 and "empty input" in result.output


def test_classify_fills_template_in_order(folder: Path, tmp_path: Path, sample_text: str):
    start = sample_text.index("greedy developers")
    template = tmp_path / "template.labels"
    template.write_text(f"10\t?\t{start}\t{start + 17}\n10\t?\t0\t7\n10\t?\t{start}\t{start + 17}\n", "utf-8")
    out = tmp_path / "filled.labels"
    assert run("classify", folder, template, "-o", out).exit_code == 0
    rows = read_labels(out)
    assert [(r.start, r.end) for r in rows] == [(start, start + 17), (0, 7), (start, start + 17)]
    assert all(r.technique not in (None, "?") for r in rows)


def test_classify_rejects_span_past_article_end(folder: Path, tmp_path: Path):
    template = tmp_path / "template.labels"
    template.write_text("11\t?\t0\t99999\n", "utf-8")
    result = run("classify", folder, template)
    assert result.exit_code == 1 and "template.labels:1" in result.output


def test_evaluate_prints_official_figures(tmp_path: Path):
    gold = tmp_path / "gold.labels"
    pred = tmp_path / "pred.labels"
    gold.write_text("1\tDoubt\t0\t10\n1\tSlogans\t20\t30\n", "utf-8")
    pred.write_text("1\tDoubt\t5\t10\n1\tDoubt\t20\t30\n", "utf-8")
    si = json.loads(run("evaluate", "--task", "si", pred, gold, "--json").stdout)
    assert (si["precision"], si["recall"]) == (1.0, 0.75)
    flc = json.loads(run("evaluate", "--task", "flc", pred, gold, "--json").stdout)
    assert (flc["precision"], flc["recall"]) == (0.5, 0.25)
    assert flc["per_technique"]["Slogans"]["recall"] == 0.0
    table = run("evaluate", "--task", "tc", pred, gold)
    assert table.exit_code == 0 and "Doubt" in table.output
    assert "1 of 2 prediction rows match no gold span" in table.output  # (1, 5, 10) is no gold span
    pred.write_text("1\tDoubt\t0\t10\n1\tDoubt\t20\t30\n", "utf-8")
    assert "match no gold span" not in run("evaluate", "--task", "tc", pred, gold).output


def test_evaluate_malformed_gold_names_line(tmp_path: Path):
    gold = tmp_path / "gold.labels"
    gold.write_text("1\tDoubt\t0\t10\n1\tDoubt\tx\t10\n", "utf-8")
    result = run("evaluate", gold, gold)
    assert result.exit_code == 1 and "gold.labels:2" in result.output


def test_techniques_and_version():
    shown = run("techniques").output
    assert "Flag-waving" in shown
    assert re.findall(r"^ ([A-Z]{2})  \S", shown, re.M) == [t.tag for t in TECHNIQUES]  # as spans are marked
    assert all(re.search(rf"^ +{re.escape(t.name)} *$", shown, re.M) for t in TECHNIQUES)  # labels never broken
    catalogue = json.loads(run("techniques", "--json").stdout)
    assert len(catalogue) == 14
    assert run("--version").output.startswith("propscope ")


def test_unknown_model_is_named():
    result = run("analyze", SAMPLE, "--model", "no-such-model")
    assert result.exit_code == 1 and "no model 'no-such-model'" in result.output


def test_train_with_a_broken_config_is_one_message(tmp_path: Path):
    config = tmp_path / "c.toml"
    config.write_text("[training]\nepochs = 'many'\nlearning_rat = 1\n", "utf-8")
    result = run("train", "--config", config)
    assert result.exit_code == 1 and "learning_rat" in result.output


def test_train_records_its_command_line_in_the_card(tiny_corpus: Path, tmp_path: Path):
    pytest.importorskip("torch", reason="training needs the train extra: pip install '.[train]'")
    config = tmp_path / "c.toml"
    config.write_text(
        f'[data]\nptc_dir = "{tiny_corpus.as_posix()}"\ndev_articles = 1\n'
        "[model]\nwindow_tokens = 32\nstride = 16\ntrain_stride = 16\nspan_hidden = 16\n"
        "[training]\nepochs = 1\nbatch_size = 4\n",
        "utf-8",
    )
    output = tmp_path / "my model"
    result = run("train", "--config", config, "-o", output, "--set", "training.seed=7", "--set", 'export.name="x y"')
    assert result.exit_code == 0, result.output
    command = f"propscope train --config {config} -o '{output}' --set training.seed=7 --set 'export.name=\"x y\"'"
    assert f"by `{command}`" in (output / "MODEL_CARD.md").read_text("utf-8")
    meta = json.loads((output / "meta.json").read_text("utf-8"))
    assert meta["command"] == command and meta["config"]["training"]["seed"] == 7 and meta["name"] == "x y"


def test_train_reading_as_a_model_names_what_does_not_fit(tiny_corpus: Path, tmp_path: Path):
    pytest.importorskip("torch", reason="training needs the train extra: pip install '.[train]'")
    config = tmp_path / "c.toml"
    config.write_text(f'[data]\nptc_dir = "{tiny_corpus.as_posix()}"\n', "utf-8")
    result = run("train", "--config", config, "--reading-of", "no-such-model")
    assert result.exit_code == 1 and "no model 'no-such-model'" in result.output
    result = run("train", "--config", config, "--reading-of", "default", "--tagger", "x")
    assert result.exit_code == 1 and "--tagger and --reading-of are different ways to train" in result.output
    ensemble = tmp_path / "ensemble"
    ensemble.mkdir()
    (ensemble / "meta.json").write_text(json.dumps({"decoding": {}, "members": ["one", "two"]}), "utf-8")
    result = run("train", "--config", config, "--reading-of", ensemble)
    assert result.exit_code == 1 and "an ensemble reads with choices made for its members" in result.output
    other_windows = tmp_path / "other-windows"
    other_windows.mkdir()
    model = {"window_tokens": 64, "stride": 32, "window_merge": "centre"}
    (other_windows / "meta.json").write_text(json.dumps({"decoding": {}, "config": {"model": model}}), "utf-8")
    result = run("train", "--config", config, "--reading-of", other_windows)
    assert result.exit_code == 1 and "its choices were made for other windows" in result.output
    output = tmp_path / "m"
    result = run("train", "--config", config, "--reading-of", "default", "-o", output)  # no verifier in this config
    assert result.exit_code == 1 and "names techniques with a verifier" in result.output
    result = run("train", "--config", config, "--reading-of", "default", "-o", output, "--set", "verifier.enabled=true")
    assert result.exit_code == 1 and "must carry a verifier trained with the configuration's" in result.output
    assert not output.exists() and not (tmp_path / "m.work").exists()  # refused before any training


def test_ensemble_of_a_cross_fitting_config_asks_for_its_members_folds(tiny_corpus: Path, tmp_path: Path):
    pytest.importorskip("torch", reason="building an ensemble needs the train extra: pip install '.[train]'")
    config = tmp_path / "c.toml"
    config.write_text(f'[data]\nptc_dir = "{tiny_corpus.as_posix()}"\nfolds = 2\n', "utf-8")
    result = run("ensemble", "src/propscope/resources/models/default", "-o", tmp_path / "e", "--config", config)
    assert result.exit_code == 1 and "--folds" in result.output
    result = run("ensemble", "x", "-o", tmp_path / "e", "--config", config, "--set", "data.folds=1")
    assert result.exit_code == 1 and "folds must be 0" in result.output


@pytest.mark.parametrize("format", ["ptc", "ptc-si"])
def test_corpus_rows_name_one_article_each(folder: Path, tmp_path: Path, sample_text: str, format: str):
    result = run("analyze", folder / "article10.txt", folder, "-f", format)  # article 10 twice
    assert result.exit_code == 1 and "'10' is given twice" in result.output
    tabbed = tmp_path / "a\tb.txt"
    tabbed.write_text(sample_text, encoding="utf-8")
    result = run("analyze", tabbed, "-f", format)
    assert result.exit_code == 1 and "tab, line break or other control character" in result.output
    assert run("analyze", tabbed, "-f", "json").exit_code == 0  # JSON holds the id as a string


def test_an_unwritable_output_is_named_not_its_temporary_file(tmp_path: Path, monkeypatch):
    def refused(prefix: str, dir: Path):
        raise PermissionError(13, "Permission denied", f"{dir}/{prefix}x1y2")

    monkeypatch.setattr(cli_app.tempfile, "mkstemp", refused)
    (tmp_path / "t.labels").write_text("sample_article\t?\t0\t5\n", encoding="utf-8")
    result = run("classify", SAMPLE, tmp_path / "t.labels", "-o", tmp_path / "out.labels")
    assert result.exit_code == 1
    assert f"{tmp_path / 'out.labels'}: cannot write there (Permission denied)" in result.output
    assert ".propscope." not in result.output


def test_output_folder_must_exist(tmp_path: Path):
    result = run("analyze", SAMPLE, "-o", tmp_path / "nope" / "out.json", "-f", "json")
    assert result.exit_code == 1 and "does not exist" in result.output


@pytest.mark.parametrize(
    "command",
    [
        lambda d: ["analyze", d / "a.txt", "-o", d / "a.txt"],
        lambda d: ["analyze", d, "-f", "ptc", "-o", d / "article10.txt"],  # an article of the folder it reads
        lambda d: ["classify", d / "article10.txt", d / "t.labels", "-o", d / "t.labels"],
        lambda d: ["export", d / "a.txt", "-o", d / "a.txt"],
        lambda d: ["export", d / "a.txt", "-o", d / "tasks.json", "--labeling-config", d / "a.txt"],
        lambda d: ["export", d / "a.txt", "-o", d / "tasks.json", "--labeling-config", d / "tasks.json"],
        lambda d: ["batch", d / "in.jsonl", "-o", d / "in.jsonl"],
        lambda d: ["batch", d / "in.jsonl", "-o", d / "out.jsonl", "--ptc", d / "in.jsonl"],
        lambda d: ["batch", d / "in.jsonl", "-o", d / "out.jsonl", "--ptc", d / "out.jsonl"],
        lambda d: ["report", d / "in.jsonl", "-o", d / "in.jsonl"],
    ],
)
def test_an_output_never_replaces_what_the_command_reads(tmp_path: Path, sample_text: str, command):
    inputs = {
        "a.txt": sample_text,
        "article10.txt": sample_text,
        "t.labels": "10\t?\t0\t5\n",
        "in.jsonl": json.dumps({"id": "a", "text": sample_text}) + "\n",
    }
    for name, text in inputs.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = run(*command(tmp_path))
    assert result.exit_code == 1
    assert "elsewhere" in result.output or "name another" in result.output
    assert {name: (tmp_path / name).read_text(encoding="utf-8") for name in inputs} == inputs
    assert not (tmp_path / "out.jsonl").exists() and not (tmp_path / "tasks.json").exists()


def test_an_output_may_sit_beside_the_articles_it_reads(folder: Path):
    result = run("analyze", folder, "-f", "ptc", "-o", folder / "pred.labels")
    assert result.exit_code == 0 and read_labels(folder / "pred.labels")


def test_batch_then_report(tmp_path: Path, sample_text: str):
    source = tmp_path / "in.csv"
    with source.open("w", encoding="utf-8", newline="") as out:
        import csv

        writer = csv.writer(out)
        writer.writerow(["id", "text", "source"])
        writer.writerow(["a", sample_text, "Daily"])
        writer.writerow(["b", "", "Weekly"])
    output = tmp_path / "out.jsonl"
    result = run("batch", source, "-o", output, "--workers", "1", "--ptc", tmp_path / "out.tsv")
    assert result.exit_code == 3  # finished, with a record it could not analyze: scripts can tell
    assert "1 analyzed" in result.output and "1 errors" in result.output
    again = run("batch", source, "-o", output, "--workers", "1")
    assert again.exit_code == 3 and "1 already done" in again.output  # the bad record is still bad
    report = run("report", output, "-o", tmp_path / "report.html")
    assert report.exit_code == 0
    assert "Daily" in (tmp_path / "report.html").read_text(encoding="utf-8")
    assert (tmp_path / "report.csv").exists()


def test_a_parquet_batch_resumes_and_reports(tmp_path: Path, sample_text: str):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "a", "text": sample_text, "source": "Daily"}) + "\n", encoding="utf-8")
    output = tmp_path / "out.parquet"
    first = run("batch", source, "-o", output, "--format", "parquet", "--workers", "1")
    assert first.exit_code == 0 and "1 analyzed" in first.output
    with source.open("a", encoding="utf-8") as more:
        more.write(json.dumps({"id": "b", "text": "The market opens at eight.", "source": "Weekly"}) + "\n")
    again = run("batch", source, "-o", output, "--format", "parquet", "--workers", "1")  # the folder exists now
    assert again.exit_code == 0 and "1 analyzed, 1 already done" in again.output
    report = run("report", output, "-o", tmp_path / "report.html")
    assert report.exit_code == 0 and "2 groups" in report.output


def test_batch_missing_input_is_one_message(tmp_path: Path):
    result = run("batch", tmp_path / "missing.jsonl", "-o", tmp_path / "out.jsonl")
    assert result.exit_code == 1 and "no such file" in result.output
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.md").write_text("not an article", encoding="utf-8")
    result = run("batch", tmp_path / "empty", "-o", tmp_path / "out.jsonl")
    assert result.exit_code == 1 and "no .txt articles in this folder" in result.output
    assert not (tmp_path / "out.jsonl").exists()


HOSTILE = (
    "Title [/] [link=file:///etc/passwd]click[/link] \x1b]0;owned\x07\n\n"
    "The reckless council \x1b]52;c;cm0gLXJmIH4=\x07betrayed\x1b[2J every "
    "\x1b]8;;http://x.test\x1b\\honest\x1b]8;;\x1b\\ family \x9b31m in town.\r\n"
    "Real patriots will never accept this shameful deal.\x7f\n"
)


def test_article_text_and_titles_send_no_control_sequence_to_the_terminal(tmp_path: Path, monkeypatch):
    article = tmp_path / "hostile.txt"
    article.write_text(HOSTILE, encoding="utf-8", newline="")
    monkeypatch.setenv("FORCE_COLOR", "1")  # render as for a terminal, colours included
    monkeypatch.setenv("COLUMNS", "200")
    shown = run("analyze", article)
    assert shown.exit_code == 0
    styles = re.sub(r"\x1b\[[0-9;]*m", "", shown.stdout)  # Rich's own colour codes are the only ones allowed
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", styles)
    assert "[link=file:///etc/passwd]click[/link]" in styles and "Title [/]" in styles
    assert "␛]52;c;cm0gLXJmIH4=␇betrayed␛[2J" in re.sub(r"\[\d+·[A-Z]{2}\]", "", styles)  # markers aside
    out = tmp_path / "shown.txt"
    assert run("analyze", article, "-o", out).exit_code == 0
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", out.read_text(encoding="utf-8"))
    for fmt in ("json", "jsonl"):
        data = run("analyze", article, "-f", fmt).stdout
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", data)
        assert json.loads(data.splitlines()[0] if fmt == "jsonl" else data)["article"]["text"] == HOSTILE


def test_error_messages_quote_names_without_markup_or_control_sequences(tmp_path: Path):
    result = run("analyze", tmp_path / "[/] \x1b]0;x\x07.txt")
    assert result.exit_code == 1 and "[/] ␛]0;x␇.txt: no such file" in result.output


@pytest.mark.parametrize("command", [["analyze"], ["export", "-o", "tasks.json"]])
@pytest.mark.parametrize("name", ["\x00", "a\x00b.txt", "runs/a\x00.jsonl"])
def test_a_file_name_with_a_nul_character_is_an_error(tmp_path: Path, command: list[str], name: str):
    result = run(*command[:1], name, *command[1:2], *[tmp_path / c for c in command[2:]])
    assert result.exit_code == 1 and "not a file name (it holds a NUL character)" in result.output


def test_evaluate_reads_label_files_saved_with_a_byte_order_mark(tmp_path: Path):
    gold, pred = tmp_path / "gold.labels", tmp_path / "pred.labels"
    gold.write_text("1\tDoubt\t0\t10\n2\tSlogans\t20\t30\n", encoding="utf-8-sig")
    pred.write_text("1\tDoubt\t0\t10\n2\tSlogans\t20\t30\n", encoding="utf-8")
    scores = json.loads(run("evaluate", pred, gold, "--json").stdout)
    assert scores["f1"] == 1.0


def test_evaluate_without_gold_labels_is_an_error(tmp_path: Path):
    gold, pred = tmp_path / "gold.labels", tmp_path / "pred.labels"
    gold.write_text("\n", encoding="utf-8")
    pred.write_text("1\tDoubt\t0\t10\n", encoding="utf-8")
    result = run("evaluate", pred, gold)
    assert result.exit_code == 1 and "gold.labels: no gold labels" in result.output


def test_classify_names_the_template_line_of_an_unknown_article(folder: Path, tmp_path: Path):
    template = tmp_path / "template.labels"
    template.write_text("10\t?\t0\t7\n\ufeff10\t?\t0\t7\n", "utf-8")
    result = run("classify", folder, template)
    assert result.exit_code == 1 and "template.labels:2: no article with id '\\ufeff10'" in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\x00\x00", "holds NUL bytes"),
        ("Title\n\nBody text.".encode("utf-16-le"), "holds NUL bytes"),
        ("\u200b\u200c\u2060\n".encode(), "no readable text"),
        (b"\xef\xbb\xbf", "no readable text"),
        (b"\x1b\x07\x08\x7f", "no readable text"),
        ("\ue000\ue001".encode(), "no readable text"),
    ],
)
def test_input_without_readable_text_is_an_error(tmp_path: Path, content: bytes, message: str):
    path = tmp_path / "hollow.txt"
    path.write_bytes(content)
    result = run("analyze", path)
    assert result.exit_code == 1 and "hollow.txt:" in result.output and message in result.output
    assert run("analyze", "-", input=content).exit_code == 1


@pytest.mark.parametrize(
    "make",
    [
        lambda p: ["analyze", SAMPLE, "-o", p],
        lambda p: ["analyze", SAMPLE, "-o", p / ("n" * 300)],
        lambda p: ["analyze", p / ("n" * 300)],
        lambda p: ["batch", SAMPLE.parent, "-o", p],
        lambda p: ["batch", SAMPLE.parent, "-o", p / ("n" * 300)],
        lambda p: ["report", p / ("n" * 300)],
    ],
)
def test_unusable_paths_are_one_clear_message(tmp_path: Path, make):
    result = run(*make(tmp_path))
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "error: " in result.output and ("is a folder" in result.output or "too long" in result.output)


@pytest.mark.parametrize(
    "setup",
    [
        lambda m: (m / "meta.json").write_text("null"),
        lambda m: (m / "meta.json").write_text("[1, 2]"),
        lambda m: (m / "meta.json").write_text('{"window_tokens": "x"'),
        lambda m: (m / "meta.json").write_text('{"members": 3}'),
        lambda m: (m / "meta.json").write_text((DEFAULT_MODEL / "meta.json").read_text("utf-8")),
    ],
)
def test_broken_model_folders_are_one_clear_message(tmp_path: Path, setup):
    setup(tmp_path)
    result = run("analyze", SAMPLE, "--model", tmp_path)
    assert result.exit_code == 1 and f"error: {tmp_path}: " in result.output
    assert "not a usable PropScope " in result.output or "no usable meta.json" in result.output
    assert isinstance(result.exception, SystemExit)


def test_batch_with_a_broken_model_is_one_clear_message(tmp_path: Path):
    (tmp_path / "meta.json").write_text("null", encoding="utf-8")
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "1", "text": "Plain words."}) + "\n", encoding="utf-8")
    result = run("batch", source, "-o", tmp_path / "out.jsonl", "--workers", "1", "--model", tmp_path)
    assert result.exit_code == 1 and f"error: {tmp_path}: " in result.output
    assert "not a usable PropScope " in result.output or "no usable meta.json" in result.output


def spans_of(path: Path) -> list[dict]:
    return json.loads(run("analyze", path, "-f", "json").stdout)["spans"]


@pytest.mark.parametrize("how", ["piped", "file", "NO_COLOR"])
def test_text_without_colour_numbers_every_span_and_explains_it(tmp_path: Path, monkeypatch, how: str):
    if how == "NO_COLOR":
        monkeypatch.setenv("FORCE_COLOR", "1")  # a terminal, as far as Rich can tell
        monkeypatch.setenv("NO_COLOR", "1")
    result = run("analyze", SAMPLE, *(["-o", tmp_path / "out.txt"] if how == "file" else []))
    shown = (tmp_path / "out.txt").read_text(encoding="utf-8") if how == "file" else result.stdout
    assert not re.search(r"\x1b\[[0-9;]*(3[0-9]|4[0-9]|9[0-7]|10[0-7])[;m]", shown)  # no colour at all
    shown = re.sub(r"\x1b\[[0-9;]*m", "", shown)
    spans = spans_of(SAMPLE)
    assert len({(s["start"], s["end"]) for s in spans}) < len(spans)  # some passages carry several techniques
    for number, span in enumerate(spans, start=1):
        marker = f"[{number}·{get_technique(span['technique']).tag}]"
        assert shown.count(marker) == 2  # in the text, right after the span, and in the listing
        heading = f"{get_technique(span['technique']).display_name}  {span['score']:.2f} {span['confidence']}"
        assert re.search(re.escape(marker) + r" +" + re.escape(heading), shown)
    for span in spans:  # each entry explains its span with the evidence of the JSON output
        evidence = span["evidence"]
        words = ", ".join(f"“{w['text']}” {w['weight']:.2f}" for w in evidence["words"])
        assert f"key words: {words}" in shown
        if evidence["signals"]:
            assert f"signals: {', '.join(evidence['signals'])}" in shown
        if evidence["repeats"]:
            assert f"recurs: “{evidence['repeats'][0]['text']}” (line" in shown
        weighed = [t for t in evidence["techniques"] if t["technique"] != span["technique"]]
        if weighed:
            name = get_technique(weighed[0]["technique"]).display_name
            assert f"also weighed: {name} {weighed[0]['probability']:.2f}" in shown
    assert all(any(s["evidence"][kind] for s in spans) for kind in ("signals", "repeats"))  # not vacuous


def test_analyze_shows_progress_only_where_stderr_is_a_terminal(folder: Path, monkeypatch):
    screen = io.StringIO()
    monkeypatch.setattr(cli_app, "stderr", Console(file=screen, force_terminal=True, width=100))
    assert run("analyze", folder, "-f", "jsonl").exit_code == 0
    assert re.search(r"analyzing .*2/2", screen.getvalue())
    monkeypatch.setattr(cli_app, "stderr", Console(file=io.StringIO(), force_terminal=False))
    result = run("analyze", folder, "-f", "jsonl")
    assert result.exit_code == 0 and not result.stderr and not cli_app.stderr.file.getvalue()


def test_help_takes_h_shows_examples_and_no_python_types(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    group = typer.main.get_command(app)
    for name in ["", *group.commands]:
        result = run(*([name] if name else []), "-h")
        assert result.exit_code == 0 and "Usage: " in result.output, name
        assert not re.search(r"<(bool|str|int|float|list\[.*?\])>", result.output), (name, result.output)
        if name:
            assert f"Examples:\n propscope {name}" in re.sub(" +\n", "\n", result.output), name


@pytest.mark.parametrize("command", ["analyze", "batch", "report", "export"])
def test_min_score_is_one_option_that_says_what_a_score_is(monkeypatch, command: str):
    monkeypatch.setenv("COLUMNS", "250")
    shown = " ".join(run(command, "--help").output.replace("│", " ").split())
    assert (
        "--min-score <score> [0<=x<=1] Hide spans scored below this. A score is meant as the probability that the "
        "span is right (calibrated); the default, 0, shows every span the model keeps. [default: 0.0]"
    ) in shown


def analyses_file(path: Path) -> Path:
    """Batch output by hand: Daily's article has a sure span and an unsure one, Weekly's none."""
    text = "Shameful plan. Calm words here."  # 5 words
    spans = [("Loaded_Language", 0.9, "Shameful"), ("Doubt", 0.1, "Shameful plan")]
    rows = [
        {
            "id": str(number),
            "source": source,
            "article": {"id": str(number), "title": "", "text": text},
            "spans": [{"technique": t, "score": s, "text": passage} for t, s, passage in found],
            "summary": {"sentences": 2, "flagged_sentences": 1 if found else 0, "words": 5},
        }
        for number, (source, found) in enumerate([("Daily", spans), ("Weekly", [])])
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_report_says_where_it_wrote_and_shows_the_groups(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    analyses = analyses_file(tmp_path / "out.jsonl")
    result = run("report", analyses)
    assert result.exit_code == 0
    assert f"wrote {tmp_path / 'out.report.html'} and {tmp_path / 'out.report.csv'}" in result.stderr
    rows = [line.split("│") for line in result.stdout.splitlines() if "│" in line]
    assert [[cell.strip() for cell in row] for row in rows] == [
        ["Daily", "1", "400.0", "Doubt"],  # one span each: a tie, which the names settle
        ["Weekly", "1", "0.0", "-"],
    ]
    strict = run("report", analyses, "--min-score", "0.5", "-o", tmp_path / "strict.html")
    assert "200.0" in strict.stdout and "Loaded language" in strict.stdout
    assert "Doubt" not in (tmp_path / "strict.csv").read_text(encoding="utf-8").splitlines()[1].split(",")[-1]


def test_report_of_a_folder_named_dot_or_root_names_its_page(tmp_path: Path, monkeypatch):
    """An empty name and "." are the current folder, whose name the page takes; "/" has none: --output names it."""
    monkeypatch.chdir(tmp_path)
    result = run("report", "")
    assert result.exit_code == 1 and "no .parquet files" in result.output
    root = run("report", "/")
    assert root.exit_code == 1 and "give one with --output" in root.output
    assert isinstance(root.exception, SystemExit)


def test_batch_leaves_out_spans_under_the_min_score(tmp_path: Path, sample_text: str):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "a", "text": sample_text}) + "\n", encoding="utf-8")
    output = tmp_path / "out.jsonl"
    assert run("batch", source, "-o", output, "--workers", "1", "--min-score", "0.25").exit_code == 0
    scores = [span["score"] for span in json.loads(output.read_text(encoding="utf-8"))["spans"]]
    assert scores and min(scores) >= 0.25
    assert len(scores) < len(spans_of(SAMPLE))


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600)])
def test_written_files_respect_the_umask(tmp_path: Path, umask: int, mode: int):
    analyses = analyses_file(tmp_path / "out.jsonl")
    previous = os.umask(umask)
    try:
        assert run("analyze", SAMPLE, "-f", "html", "-o", tmp_path / "a.html").exit_code == 0
        assert run("report", analyses, "-o", tmp_path / "report.html").exit_code == 0
    finally:
        os.umask(previous)
    for name in ("a.html", "report.html", "report.csv"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name


def test_models_lists_the_shipped_models_and_whether_each_is_ready():
    result = run("models", "--json")
    assert result.exit_code == 0
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert {"default", "accurate"} <= set(rows)
    assert rows["default"]["ready"] and rows["default"]["note"] == "ships whole"
    table = run("models")
    assert table.exit_code == 0 and "default" in table.stdout
    missing = run("models", "--build", "no-such-model")
    assert missing.exit_code != 0 and "no model 'no-such-model'" in missing.output


def test_models_prints_a_note_as_written(monkeypatch: pytest.MonkeyPatch):
    from propscope.cli import analysis
    from propscope.pipeline.analyzer import ModelStatus

    note = "needs onnx: pip install 'propscope[accurate]'"  # brackets Rich would read as a style
    monkeypatch.setattr(analysis, "model_status", lambda name: ModelStatus(name, Path("."), False, note))
    result = run("models")
    assert result.exit_code == 0 and "propscope[accurate]" in re.sub(r"[\s│]+", "", result.stdout)
