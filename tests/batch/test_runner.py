"""Batch runs end to end with the shipped model: errors, duplicates, resuming, kills, Ray."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from propscope.batch import BatchOptions, errors_path, run_batch
from propscope.batch.output import recover

PHRASES = [
    "The reckless council betrayed every honest family in town.",
    "Either we build the bridge now or the harbour dies.",
    "Real patriots will never accept this shameful deal.",
    "Can we really trust a mayor who lied before?",
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def articles(n: int) -> list[dict]:
    return [
        {
            "id": f"n{i}",
            "title": f"Story {i}",
            "text": f"Story {i}\n\n" + " ".join(PHRASES[(i + k) % 4] for k in range(6)),
            "source": "Daily" if i % 2 else "Weekly",
            "date": f"2026-03-0{1 + i % 3}",
        }
        for i in range(n)
    ]


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_bad_records_are_recorded_and_the_run_goes_on(tmp_path: Path):
    rows = articles(3) + [
        {"id": "n1", "text": "again"},
        {"id": "empty", "text": "  "},
        {"id": "huge", "text": "word " * 500},
        {"text": "no id"},
    ]
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    output = tmp_path / "out.jsonl"
    summary = run_batch(source, output, BatchOptions(workers=1, max_chars=1_000, ptc_path=tmp_path / "out.tsv"))
    assert (summary.analyzed, summary.errors, summary.total) == (3, 4, 7)
    done = lines(output)
    assert [d["id"] for d in done] == ["n0", "n1", "n2"]
    assert done[1]["source"] == "Daily" and done[1]["article"]["title"] == "Story 1"
    reasons = {e["id"]: e["reason"] for e in lines(errors_path(output))}
    assert reasons["n1"].startswith("duplicate id")
    assert reasons["empty"] == "empty text"
    assert "limit is 1000" in reasons["huge"]
    assert reasons[None] == "missing id"
    rows_written = (tmp_path / "out.tsv").read_text(encoding="utf-8").splitlines()
    assert len(rows_written) == sum(len(d["spans"]) for d in done)


def test_rerun_skips_done_ids_and_repeats_no_error(tmp_path: Path):
    source = write_jsonl(tmp_path / "in.jsonl", articles(4) + [{"id": "empty", "text": ""}])
    output = tmp_path / "out.jsonl"
    first = run_batch(source, output, BatchOptions(workers=2))
    write_jsonl(source, articles(6) + [{"id": "empty", "text": ""}])
    second = run_batch(source, output, BatchOptions(workers=2))
    assert (first.analyzed, second.analyzed, second.skipped) == (4, 2, 4)
    assert [d["id"] for d in lines(output)] == [f"n{i}" for i in range(6)]
    assert len(lines(errors_path(output))) == 1


def test_partial_last_line_is_cut_off(tmp_path: Path):
    output = tmp_path / "out.jsonl"
    output.write_text('{"id": "a"}\n{"id": "b"}\n{"id": "c", "spa', encoding="utf-8")
    assert recover(output) == {"a", "b"}
    assert output.read_text(encoding="utf-8") == '{"id": "a"}\n{"id": "b"}\n'


def test_a_killed_run_loses_nothing_and_resumes(tmp_path: Path):
    rows = articles(40)
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    output, ptc = tmp_path / "out.jsonl", tmp_path / "out.tsv"
    command = [sys.executable, "-m", "propscope.cli", "batch", str(source), "-o", str(output), "--ptc", str(ptc)]
    process = subprocess.Popen([*command, "--workers", "1"], stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not output.exists() or output.read_text().count("\n") < 5):
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    survived = recover(output)
    assert 5 <= len(survived) < 40
    subprocess.run([*command, "--workers", "2"], check=True, stderr=subprocess.DEVNULL)
    done = lines(output)
    assert sorted(d["id"] for d in done) == sorted(r["id"] for r in rows)
    assert {row.split("\t", 1)[0] for row in ptc.read_text(encoding="utf-8").splitlines()} <= {r["id"] for r in rows}
    assert len(ptc.read_text(encoding="utf-8").splitlines()) == sum(len(d["spans"]) for d in done)


def test_local_and_ray_engines_give_identical_output(tmp_path: Path):
    pytest.importorskip("ray", reason="the Ray engine is the optional ray extra")
    source = write_jsonl(tmp_path / "in.jsonl", articles(12) + [{"id": "bad"}])
    local, ray = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    run_batch(source, local, BatchOptions(workers=2, ptc_path=tmp_path / "local.tsv"))
    run_batch(source, ray, BatchOptions(engine="ray", workers=2, ptc_path=tmp_path / "ray.tsv"))
    assert local.read_bytes() == ray.read_bytes()
    assert (tmp_path / "local.tsv").read_bytes() == (tmp_path / "ray.tsv").read_bytes()
    assert errors_path(local).read_bytes() == errors_path(ray).read_bytes()


def test_hostile_records_are_recorded_with_their_line_and_a_resume_adds_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    good = articles(2)
    rows = [
        good[0],
        {"id": "sur", "text": "A \ud800 B"},
        {"id": "src", "text": "Fine words.", "source": "x\udc00"},
        {"id": "\ud83d", "text": "Fine words."},
        {"id": "tab\there", "text": "Fine words."},
        {"id": "dup", "text": " "},
        good[1] | {"id": "dup"},
        {"id": "dup", "text": "Again."},
        {"id": "zw", "text": "\u200b\ufeff\x07"},
    ]
    source = write_jsonl(tmp_path / "in.jsonl", rows)  # json.dumps writes surrogates as \ud800 escapes
    output, ptc = tmp_path / "out.jsonl", tmp_path / "out.tsv"
    first = run_batch(source, output, BatchOptions(workers=1, ptc_path=ptc))
    assert [d["id"] for d in lines(output)] == ["n0", "dup"]
    errors = lines(errors_path(output))
    assert first.errors == len(errors) == 7
    assert all(e["where"] == f"{source}:{number}" for e, number in zip(errors, [2, 3, 4, 5, 6, 8, 9], strict=True))
    reasons = [e["reason"] for e in errors]
    assert sum("lone surrogate" in r for r in reasons) == 3 and "control character" in reasons[3]
    assert reasons[4:] == ["empty text", reasons[5], reasons[6]] and reasons[5].startswith("duplicate id")
    assert reasons[6].startswith("no readable text") and errors[2]["id"] == "\ud83d"
    assert {row.split("\t")[0] for row in ptc.read_text(encoding="utf-8").splitlines()} <= {"n0", "dup"}
    monkeypatch.chdir(tmp_path)
    before = errors_path(output).read_bytes()
    second = run_batch(Path("./in.jsonl"), Path("out.jsonl"), BatchOptions(workers=1, ptc_path=Path("out.tsv")))
    assert (second.analyzed, second.skipped, second.errors) == (0, 2, 7)
    assert errors_path(output).read_bytes() == before


def test_a_stop_request_keeps_a_prefix_of_the_input(tmp_path: Path):
    rows = articles(30)
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    output = tmp_path / "out.jsonl"
    advanced = []
    summary = run_batch(
        source, output, BatchOptions(workers=2), on_advance=advanced.append, should_stop=lambda: len(advanced) >= 3
    )
    done = [d["id"] for d in lines(output)]
    assert 3 < len(done) == summary.analyzed < 30  # what the workers had started is kept
    assert done == [r["id"] for r in rows[: len(done)]]
