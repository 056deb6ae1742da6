"""Parquet output of batch runs: the same analyses as JSON lines, in whole part files that survive kills."""

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from propscope.batch import BatchOptions, engines, errors_path, parquet, run_batch, runner
from propscope.batch.engines import Result
from propscope.errors import InputError
from tests.batch.test_runner import articles, lines, write_jsonl


def parquet_rows(folder: Path) -> list[dict]:
    return pq.read_table(folder).to_pylist()


def test_parquet_holds_what_jsonl_holds(tmp_path: Path):
    source = write_jsonl(tmp_path / "in.jsonl", articles(3) + [{"id": "empty", "text": " "}])
    run_batch(source, tmp_path / "out.jsonl", BatchOptions(workers=1))
    summary = run_batch(source, tmp_path / "out.parquet", BatchOptions(workers=1, output_format="parquet"))
    assert (summary.analyzed, summary.errors) == (3, 1)
    assert [e["id"] for e in lines(errors_path(tmp_path / "out.parquet"))] == ["empty"]
    expected, got = lines(tmp_path / "out.jsonl"), parquet_rows(tmp_path / "out.parquet")
    assert [r["id"] for r in got] == [r["id"] for r in expected]
    for want, row in zip(expected, got, strict=True):
        assert row["article"] == want["article"] and row["source"] == want["source"] and row["date"] == want["date"]
        assert row["url"] is None
        assert [(s["start"], s["end"], s["technique"], s["text"]) for s in row["spans"]] == [
            (s["start"], s["end"], s["technique"], s["text"]) for s in want["spans"]
        ]
        assert [s["score"] for s in row["spans"]] == pytest.approx([s["score"] for s in want["spans"]], abs=1e-6)
        assert row["summary"]["sentences"] == want["summary"]["sentences"]
        assert dict(row["summary"]["technique_counts"]) == want["summary"]["technique_counts"]


def test_a_rerun_adds_a_part_and_skips_what_is_done(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(parquet, "PART_ROWS", 2)
    source = write_jsonl(tmp_path / "in.jsonl", articles(3))
    output, rows_path = tmp_path / "out.parquet", tmp_path / "out.tsv"
    run_batch(source, output, BatchOptions(workers=1, output_format="parquet", ptc_path=rows_path))
    assert sorted(p.name for p in output.iterdir()) == ["part-000000.parquet", "part-000001.parquet"]
    (output / ".part-000002.parquet.tmp").write_bytes(b"half a part, as a kill leaves it")
    with rows_path.open("a", encoding="utf-8") as rows:
        rows.write("n9\tDoubt\t0\t4\n")  # rows of an article whose part was never written
    write_jsonl(source, articles(5))
    second = run_batch(source, output, BatchOptions(workers=1, output_format="parquet", ptc_path=rows_path))
    assert (second.analyzed, second.skipped) == (2, 3)
    assert sorted(p.name for p in output.iterdir()) == [f"part-00000{i}.parquet" for i in range(3)]
    assert [r["id"] for r in parquet_rows(output)] == [f"n{i}" for i in range(5)]
    assert "n9" not in rows_path.read_text(encoding="utf-8")


def test_rows_held_are_written_when_the_run_stops(tmp_path: Path):
    row = {"id": "7", "article": {"id": "7", "text": "Calm.", "title": ""}, "spans": [], "sentences": []}
    with parquet.ParquetWriter(tmp_path / "out.parquet") as writer:
        writer.write(json.dumps(row) + "\n")
        assert not list((tmp_path / "out.parquet").glob("part-*"))
    assert parquet.recover_parts(tmp_path / "out.parquet") == {"7"}


def test_a_file_where_the_folder_of_parts_should_be_is_named(tmp_path: Path):
    (tmp_path / "out.parquet").write_text("not a folder", encoding="utf-8")
    with pytest.raises(InputError, match="out.parquet: Parquet output is a folder of parts"):
        parquet.recover_parts(tmp_path / "out.parquet")


def test_ray_actors_write_the_parts_and_the_driver_takes_only_their_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    pytest.importorskip("ray", reason="the Ray engine is the optional ray extra")
    rows = articles(5)
    unreadable = {"id": "odd", "text": "\ufffd"}  # passes the runner's checks; the analyzer finds no word in it
    source = write_jsonl(tmp_path / "in.jsonl", rows[:2] + [unreadable] + rows[2:])
    local, ray = tmp_path / "local.parquet", tmp_path / "ray.parquet"
    run_batch(source, local, BatchOptions(workers=1, output_format="parquet", ptc_path=tmp_path / "local.tsv"))

    monkeypatch.setattr(engines, "RAY_PART_ROWS", 2)
    monkeypatch.setattr(pq, "write_table", lambda *args, **kwargs: pytest.fail("the driver wrote a part"))
    taken: list[Result] = []

    def run_ray_seen_by_the_driver(*args, **kwargs) -> Iterator[Result]:
        for result in engines.run_ray(*args, **kwargs):
            taken.append(result)
            yield result

    monkeypatch.setattr(runner, "run_ray", run_ray_seen_by_the_driver)
    options = BatchOptions(engine="ray", workers=1, output_format="parquet", ptc_path=tmp_path / "ray.tsv")
    advanced: list[int] = []
    stopped = run_batch(source, ray, options, on_advance=advanced.append, should_stop=lambda: bool(advanced))
    assert (stopped.analyzed, [r["id"] for r in parquet_rows(ray)]) == (2, ["n0", "n1"])  # the first part, whole
    resumed = run_batch(source, ray, options)

    assert (resumed.analyzed, resumed.skipped, resumed.errors) == (3, 2, 1)
    assert stopped.spans + resumed.spans == sum(len(row["spans"]) for row in parquet_rows(local))
    assert [r.id for r in taken] == ["n0", "n1", "odd", "n2", "n3", "n4"] and not any(r.line for r in taken)
    assert sorted(p.name for p in ray.glob("part-*")) == [f"part-00000{i}.parquet" for i in range(3)]
    assert parquet_rows(ray) == parquet_rows(local)
    assert errors_path(ray).read_bytes() == errors_path(local).read_bytes()
    assert (tmp_path / "ray.tsv").read_bytes() == (tmp_path / "local.tsv").read_bytes()
