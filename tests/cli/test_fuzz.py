"""The command line under hostile input: whatever the arguments and files, a result or one clear error.

Every example must end with exit status 0, 1 (``error: ...`` naming the problem) or 2 (a usage error),
and never with an exception or a traceback.
"""

import contextlib
import csv
import io
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from propscope.cli.main import app
from propscope.techniques import TECHNIQUE_NAMES

runner = CliRunner()
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

HOSTILE_PIECES = [
    "\x00", "\ufeff", "\u200b", "\u202e", "\x1b]52;c;cm0gLXJm\x07", "\x1b]8;;http://x.test\x1b\\", "\x1b[2J", "\x9b",
    "\x7f", "[/]", "[link=file:///etc/passwd]x[/link]", "[bold]", "\r", "\r\n", "\t", "\n", "\ud800", "\udcff",
    "٣", "３", "+1_0", "-1", "99999999999999999999", "=1+1", "@SUM(A1)", "é", "😀", "🇫🇷", "\ue000", " ", "?",
    '"', ",", "{", "}", '{"id": 1, "text": "x"}', "Loaded words.", "The reckless council lied.", *TECHNIQUE_NAMES,
]  # fmt: skip
pieces = st.sampled_from(HOSTILE_PIECES) | st.text(max_size=12)
hostile_text = st.lists(pieces, max_size=12).map("".join)
# how the text is stored: as UTF-8 (lone surrogates as the invalid bytes they would be), with a byte order
# mark, as UTF-16, or as any bytes at all
encoded = st.one_of(
    hostile_text.map(lambda t: t.encode("utf-8", "surrogatepass")),
    hostile_text.map(lambda t: t.encode("utf-8-sig", "surrogatepass")),
    hostile_text.map(lambda t: t.encode("utf-16", "surrogatepass")),
    st.binary(max_size=80),
)
label_line = st.lists(pieces, min_size=1, max_size=5).map("\t".join)
label_file = st.lists(label_line, max_size=5).map("\n".join).map(lambda t: t.encode("utf-8", "surrogatepass"))
output = st.sampled_from([None, "out.txt", ".", "missing/out.txt", "n" * 300, "[/]\x1b[2J.txt"])


def invoke(args: list[str], stdin: bytes | None = None) -> None:
    result = runner.invoke(app, args, input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), (args, repr(result.exception))
    assert "Traceback" not in result.output
    finished_with_bad_records = (3,) if args[:1] == ["batch"] else ()
    assert result.exit_code in (0, 1, 2, *finished_with_bad_records), (args, result.exit_code, result.output)
    if result.exit_code == 1:
        assert "error: " in result.output, (args, result.output)


def with_output(args: list[str], folder: Path, out: str | None) -> list[str]:
    return args if out is None else [*args, "-o", str(folder / out)]


@FUZZ
@given(
    content=encoded,
    from_stdin=st.booleans(),
    fmt=st.sampled_from(["text", "json", "jsonl", "html", "ptc", "ptc-si", "xml", ""]),
    min_score=st.sampled_from(["0", "0.5", "1", "-1", "2", "nan", "x"]),
    out=output,
)
def test_analyze(content: bytes, from_stdin: bool, fmt: str, min_score: str, out: str | None):
    with tempfile.TemporaryDirectory() as folder:
        article = Path(folder) / "article1.txt"
        article.write_bytes(content)
        args = ["analyze", "-" if from_stdin else str(article), "-f", fmt, "--min-score", min_score]
        invoke(with_output(args, Path(folder), out), stdin=content if from_stdin else None)


@FUZZ
@given(article=encoded, template=label_file, out=output)
def test_classify(article: bytes, template: bytes, out: str | None):
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "article1.txt").write_bytes(article)
        (Path(folder) / "template.labels").write_bytes(template)
        invoke(with_output(["classify", folder, str(Path(folder) / "template.labels")], Path(folder), out))


@FUZZ
@given(
    predicted=label_file,
    gold=label_file,
    task=st.sampled_from(["si", "tc", "flc", "x"]),
    as_json=st.booleans(),
)
def test_evaluate(predicted: bytes, gold: bytes, task: str, as_json: bool):
    with tempfile.TemporaryDirectory() as folder:
        paths = [Path(folder) / "pred.labels", Path(folder) / "gold.labels"]
        for path, content in zip(paths, (predicted, gold), strict=True):
            path.write_bytes(content)
        invoke(["evaluate", *map(str, paths), "--task", task, *(["--json"] if as_json else [])])


analysis_line = st.fixed_dictionaries(
    {"id": hostile_text, "article": st.fixed_dictionaries({"text": hostile_text})},
    optional={
        "source": hostile_text,
        "date": hostile_text,
        "summary": st.fixed_dictionaries({"sentences": st.integers(0, 3), "flagged_sentences": st.integers(0, 3)}),
        "spans": st.lists(st.fixed_dictionaries({"technique": st.sampled_from(TECHNIQUE_NAMES), "text": hostile_text})),
    },
)


@FUZZ
@given(
    rows=st.lists(analysis_line | st.sampled_from([[], None, 3, "x"]), max_size=4),
    junk=st.binary(max_size=20),
    by=st.sampled_from(["source", "date", "x"]),
)
def test_report(rows: list, junk: bytes, by: str):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "out.jsonl"
        path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in rows) + junk)
        invoke(["report", str(path), "--by", by, "-o", str(Path(folder) / "report.html")])


WORDS = ["analyze", "classify", "evaluate", "report", "batch", "techniques", "train", "ensemble"]  # not serve
OPTIONS = ["--format", "-f", "-o", "--model", "-m", "--json", "--task", "--by", "--min-score", "--workers", "-1"]


@FUZZ
@given(st.lists(st.sampled_from([*WORDS, *OPTIONS, "--version", "--help", "--nope", "-"]) | hostile_text, max_size=6))
def test_any_arguments(args: list[str]):
    with tempfile.TemporaryDirectory() as folder, contextlib.chdir(folder):  # where relative names lead
        invoke(args, stdin=b"")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    records=st.lists(
        st.fixed_dictionaries({"id": hostile_text | st.integers(), "text": hostile_text | st.none()}, optional={
            "title": hostile_text, "source": hostile_text, "date": hostile_text,
        }),
        min_size=1,
        max_size=6,
    ),
    kind=st.sampled_from([".jsonl", ".csv"]),
)  # fmt: skip
def test_batch(records: list[dict], kind: str):
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / f"in{kind}"
        if kind == ".jsonl":
            source.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in records))
        else:
            table = io.StringIO(newline="")
            writer = csv.DictWriter(table, ["id", "text", "title", "source", "date"])
            writer.writeheader()
            writer.writerows(records)
            source.write_bytes(table.getvalue().encode("utf-8", "surrogatepass"))
        invoke(["batch", str(source), "-o", str(Path(folder) / "out.jsonl"), "--workers", "1"])
