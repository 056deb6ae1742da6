"""Batch throughput: 1,000 articles through 1 and 2 local workers and the Ray engine on one machine.

    python bench/batch_benchmark.py [--model default] [--articles 1000] [--data ../shared/data/ptc-v2] [--no-ray]

The articles are the validation articles, repeated under new ids. Prints a Markdown table for
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from propscope.batch import BatchOptions, run_batch
from propscope.corpus import load_articles, read_ids

REPO = Path(__file__).resolve().parent.parent


def build_input(data: Path, count: int, folder: Path) -> Path:
    ids = set(read_ids(data / "splits" / "validation-ids.txt"))
    articles = load_articles(data / "train-articles", ids)
    path = folder / "articles.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            article = articles[i % len(articles)]
            out.write(json.dumps({"id": f"{article.id}-{i}", "text": article.text, "source": f"copy {i % 5}"}) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "ptc-v2")
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--model", default="default", help="shipped model name or model folder")
    args = parser.parse_args()

    runs = [
        ("local, 1 worker", BatchOptions(model=args.model, workers=1)),
        ("local, 2 workers", BatchOptions(model=args.model, workers=2)),
    ]
    if not args.no_ray:
        runs.append(("ray, 2 actors (local Ray)", BatchOptions(model=args.model, engine="ray", workers=2)))
    with tempfile.TemporaryDirectory() as tmp:
        source = build_input(args.data, args.articles, Path(tmp))
        rows = []
        for name, options in runs:
            summary = run_batch(source, Path(tmp) / f"{name.split(',')[0]}-{options.workers}.jsonl", options)
            memory = max(summary.peak_rss_mb.values(), default=0.0)
            rows.append((name, summary, memory))
    base = rows[0][1].rate
    print(f"{args.articles} articles (validation articles repeated), model {args.model}, 1 thread per worker.\n")
    print("| engine | articles/s | speed-up over 1 worker | peak memory per worker | wall time |")
    print("|---|---|---|---|---|")
    for name, summary, memory in rows:
        print(
            f"| {name} | {summary.rate:.2f} | {summary.rate / base:.2f}x | {memory:.0f} MB | {summary.seconds:.1f} s |"
        )


if __name__ == "__main__":
    main()
