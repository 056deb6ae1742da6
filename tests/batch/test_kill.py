"""Killing a batch run at random moments: no process outlives it, no line is lost, doubled or broken.

The signal goes to the run's own process only, as ``timeout``, systemd or the OOM killer send it;
the workers must follow by themselves. A resumed run must end with exactly what a clean run writes.
"""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.batch.test_runner import articles, write_jsonl

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds processes through /proc")

SEED = 20260315
KILL, TERM, INT = signal.SIGKILL, signal.SIGTERM, signal.SIGINT
# (signal, whether it comes while the run starts up rather than after some results); SIGINT goes to the
# whole process group, as Ctrl-C in a terminal sends it
PLAN = [
    (KILL, True), (TERM, False), (INT, False), (KILL, False), (TERM, True), (KILL, False),
    (INT, False), (TERM, False), (KILL, True), (TERM, False), (KILL, False), (INT, False),
]  # fmt: skip


def session_members(session: int) -> list[int]:
    """Processes of a session (the run was started as its leader), from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if fields[0] != "Z" and int(fields[3]) == session:
            members.append(int(stat.parent.name))
    return members


def wait_for_no_members(session: int, seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while (members := session_members(session)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return members


def complete_lines(path: Path) -> list[str]:
    if not path.exists():
        return []
    return path.read_text(encoding="utf-8").split("\n")[:-1]


def batch_command(source: Path, folder: Path) -> list[str]:
    return [
        sys.executable, "-m", "propscope.cli", "batch", str(source), "-o", str(folder / "out.jsonl"),
        "--ptc", str(folder / "out.tsv"), "--workers", "2",
    ]  # fmt: skip


def test_killed_runs_leave_no_process_and_resume_to_a_clean_runs_output(tmp_path: Path):
    rows = articles(300)  # more than the cycles can get through: each one interrupts a run
    rows[7] = {"id": "bad", "text": "A \ud800 B"}
    rows[90] = {"id": "n3", "text": "a duplicate"}
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    clean.mkdir(), killed.mkdir()
    finished = subprocess.run(batch_command(source, clean), capture_output=True, timeout=300)
    assert finished.returncode == 3, finished.stderr.decode()  # done, with two records it could not analyze
    expected = complete_lines(clean / "out.jsonl")
    assert len(expected) == 298

    rng = random.Random(SEED)
    interrupted = 0
    for cycle, (kind, starting) in enumerate(PLAN):
        before = len(complete_lines(killed / "out.jsonl"))
        process = subprocess.Popen(
            batch_command(source, killed), stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
        # while it starts (importing, spawning workers, loading the model: before its first result), or
        # after a random number of new results
        deadline = time.monotonic() + (rng.uniform(0.1, 2.5) if starting else 120)
        target = before + (1 if starting else rng.randint(1, 12))
        while len(complete_lines(killed / "out.jsonl")) < target and process.poll() is None:
            if time.monotonic() > deadline:
                assert starting, "the run made no progress"
                break
            time.sleep(0.02)
        running = process.poll() is None
        if kind == INT:
            os.killpg(process.pid, kind)
        else:
            process.send_signal(kind)
        # the pipes reach end of file only when no process holds them: a worker left alive would hang here
        try:
            _, stderr = process.communicate(timeout=60)
        finally:
            left = wait_for_no_members(process.pid, 10)
            for pid in left:  # so that a failing run leaves nothing behind either
                os.kill(pid, signal.SIGKILL)
        assert left == [], f"cycle {cycle}: processes outlived the run"
        assert b"Traceback" not in stderr
        if running and kind != KILL and not starting:  # (while starting, it may not handle signals yet)
            assert process.returncode == 128 + kind, stderr.decode()
            assert f"stopped by {kind.name}".encode() in stderr
        interrupted += running
        done = complete_lines(killed / "out.jsonl")
        assert done == expected[: len(done)], f"cycle {cycle}: output is not a prefix of the clean run's"
    assert interrupted == len(PLAN)

    finished = subprocess.run(batch_command(source, killed), capture_output=True, timeout=300)
    assert finished.returncode == 3, finished.stderr.decode()
    assert (killed / "out.jsonl").read_bytes() == (clean / "out.jsonl").read_bytes()
    assert (killed / "out.tsv").read_bytes() == (clean / "out.tsv").read_bytes()
    errors = [sorted(complete_lines(folder / "out.errors.jsonl")) for folder in (clean, killed)]
    assert errors[0] == errors[1] and [json.loads(e)["id"] for e in errors[0]] == ["bad", "n3"]
