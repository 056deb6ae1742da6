"""propscope report over many synthetic analyses: wall time and peak memory, JSON lines against Parquet.

    python bench/report_benchmark.py [--rows 1000000] [--every month] [--keep DIR]

The analyses are generated (made-up words from a fixed seed, never corpus text): articles of ten
sentences (~120 words), 0-8 spans each from a pool of recurring phrases, 40 outlets over two years.
Each report runs as its own ``propscope report`` process; its peak resident memory is that process's
(``wait4``). Prints a Markdown table for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from propscope.batch.parquet import schema
from propscope.techniques import TECHNIQUE_NAMES

SYLLABLES = ["ka", "lo", "mi", "ten", "ra", "vu", "sel", "po", "dar", "ni", "qu", "ex", "bo", "zi", "fan", "tu"]
PART_ROWS = 50_000


def sentence_pool(rng: random.Random, count: int) -> list[str]:
    words = ["".join(rng.choices(SYLLABLES, k=rng.randint(1, 4))) for _ in range(3000)]
    return [" ".join(rng.choices(words, k=rng.randint(6, 18))).capitalize() + "." for _ in range(count)]


def rows(count: int, seed: int = 11):
    rng = random.Random(seed)
    pool = sentence_pool(rng, 5000)
    outlets = [f"Outlet {i:02d}" for i in range(40)]
    first = date(2025, 1, 1)
    for number in range(count):
        sentences = rng.choices(pool, k=10)
        text = " ".join(sentences)
        bounds, start = [], 0
        for sentence in sentences:
            bounds.append((start, start + len(sentence)))
            start += len(sentence) + 1
        spans = []
        for index in rng.sample(range(10), rng.randint(0, 8)):
            s, e = bounds[index]
            e = s + min(e - s, rng.choice((12, 24, 200)))  # a phrase, or the whole sentence
            spans.append({"start": s, "end": e, "technique": rng.choice(TECHNIQUE_NAMES), "score": rng.random(),
                          "text": text[s:e]})  # fmt: skip
        flagged = {(s["start"], s["technique"]) for s in spans}
        counts: dict[str, int] = {}
        for span in spans:
            counts[span["technique"]] = counts.get(span["technique"], 0) + 1
        yield {
            "id": f"a{number}",
            "source": outlets[number % len(outlets)],
            "date": (first + timedelta(days=rng.randrange(730))).isoformat(),
            "url": f"https://example.org/{number}",
            "article": {"id": f"a{number}", "title": sentences[0], "text": text},
            "model": "default",
            "spans": spans,
            "sentences": [
                {"start": s, "end": e, "techniques": sorted({t for b, t in flagged if b == s})} for s, e in bounds
            ],
            "summary": {"sentences": 10, "flagged_sentences": len({b for b, _ in flagged}),
                        "flagged_share": len({b for b, _ in flagged}) / 10, "technique_counts": counts,
                        "words": len(text.split())},
        }  # fmt: skip


def write_inputs(count: int, folder: Path) -> tuple[Path, Path]:
    """The same analyses as JSON lines and as Parquet parts of ``PART_ROWS`` rows."""
    jsonl, parts = folder / "analyses.jsonl", folder / "analyses.parquet"
    parts.mkdir()
    chunk: list[dict] = []

    def write_part() -> None:
        table = pa.Table.from_pylist(chunk, schema=schema())
        pq.write_table(table, parts / f"part-{len(list(parts.iterdir())):06d}.parquet", compression="zstd")
        chunk.clear()

    with jsonl.open("w", encoding="utf-8") as out:
        for row in rows(count):
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            chunk.append(row)
            if len(chunk) == PART_ROWS:
                write_part()
    if chunk:
        write_part()
    return jsonl, parts


def measure(source: Path, every: str, out: Path) -> tuple[float, float]:
    """Wall seconds and peak resident MB of one ``propscope report`` process."""
    command = [sys.executable, "-m", "propscope.cli", "report", str(source), "--by", "source", "--every", every,
               "-o", str(out)]  # fmt: skip
    started = time.monotonic()
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"report failed on {source}")
    return seconds, usage.ru_maxrss / 1024


def size_mb(path: Path) -> float:
    files = path.iterdir() if path.is_dir() else [path]
    return sum(f.stat().st_size for f in files) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--every", choices=("week", "month"), default="month")
    parser.add_argument("--keep", type=Path, help="write the inputs and reports here instead of a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        jsonl, parts = write_inputs(args.rows, folder)
        print(f"generated {args.rows:,} analyses in {time.monotonic() - started:.0f} s", file=sys.stderr)
        results = [
            ("Parquet (zstd parts)", size_mb(parts), *measure(parts, args.every, folder / "parquet.html")),
            ("JSON lines", size_mb(jsonl), *measure(jsonl, args.every, folder / "jsonl.html")),
        ]
    print(f"{args.rows:,} synthetic analyses, `--by source --every {args.every}`, {os.cpu_count()} cores.\n")
    print("| input | size | wall time | peak memory |")
    print("|---|---|---|---|")
    for name, size, seconds, memory in results:
        print(f"| {name} | {size:,.0f} MB | {seconds:.1f} s | {memory:,.0f} MB |")


if __name__ == "__main__":
    main()
