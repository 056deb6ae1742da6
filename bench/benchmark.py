"""Quality and speed of a PropScope model on the fixed PTC validation split.

    python bench/benchmark.py [--model default] [--data ../shared/data/ptc-v2] [--threads 2]

Prints a Markdown report (paste it into bench/RESULTS.md with the command) and writes the raw
figures to bench/out/<model>.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

from propscope.corpus import load_articles, read_ids, read_labels
from propscope.document import Article
from propscope.model.ensemble import load_model
from propscope.pipeline.analyzer import Analyzer, model_directory
from propscope.training.evaluation import evaluate_analyzer, per_technique_markdown

REPO = Path(__file__).resolve().parent.parent


def article_of_words(articles: list[Article], words: int) -> Article:
    """About ``words`` words of whole validation lines, so timings use real news prose."""
    lines, count = [], 0
    for article in articles:
        for line in article.text.split("\n"):
            lines.append(line)
            count += len(line.split())
            if count >= words:
                return Article("bench", "\n".join(lines))
    raise SystemExit("not enough validation text")


def timed(function, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return times


def parser_with_data(description: str | None) -> argparse.ArgumentParser:
    """The options every speed script shares: where the validation split is and how many threads run."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "ptc-v2")
    parser.add_argument("--threads", type=int, default=2)
    return parser


def validation_articles(data: Path) -> list[Article]:
    return load_articles(data / "train-articles", set(read_ids(data / "splits" / "validation-ids.txt")))


def validation_parser(description: str | None) -> argparse.ArgumentParser:
    """``parser_with_data`` and ``--model``: for scripts that judge one model on the validation split."""
    parser = parser_with_data(description)
    parser.add_argument("--model", default="default")
    return parser


def model_on_validation(args: argparse.Namespace) -> tuple[Analyzer, list[Article], list]:
    """The model (``--model``), the validation articles and their gold labels, from ``validation_parser``'s options."""
    articles = validation_articles(args.data)
    ids = {a.id for a in articles}
    gold = [g for g in read_labels(args.data / "train-task-flc-tc.labels") if g.article_id in ids]
    return Analyzer.load(args.model, threads=args.threads), articles, gold


def main() -> None:
    parser = parser_with_data(__doc__)
    parser.add_argument("--model", default="default")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()

    directory = model_directory(args.model)
    load_times = timed(lambda: load_model(directory, threads=args.threads), 3)
    analyzer = Analyzer(load_model(directory, threads=args.threads))
    articles = validation_articles(args.data)
    ids = {article.id for article in articles}
    gold = [label for label in read_labels(args.data / "train-task-flc-tc.labels") if label.article_id in ids]

    evaluation = evaluate_analyzer(analyzer, articles, gold)
    sample = article_of_words(articles, 800)
    analyzer.analyze(sample)
    latencies = sorted(timed(lambda: analyzer.analyze(sample), args.repeats))
    started = time.perf_counter()
    for article in articles:
        analyzer.analyze(article)
    throughput = len(articles) / (time.perf_counter() - started)

    figures = {
        "model": analyzer.model.name,
        "precision": analyzer.model.meta.get("precision", "ensemble"),
        "machine": f"{platform.processor() or platform.machine()}, {args.threads} threads",
        "validation_articles": len(articles),
        "quality": evaluation.as_dict(),
        "speed": {
            "load_seconds": round(statistics.median(load_times), 3),
            "article_words": len(sample.text.split()),
            "p50_seconds": round(statistics.median(latencies), 4),
            "p95_seconds": round(latencies[int(0.95 * (len(latencies) - 1))], 4),
            "articles_per_second": round(throughput, 2),
        },
    }
    out = REPO / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.model.replace('/', '_')}.json").write_text(json.dumps(figures, indent=2), encoding="utf-8")
    print(markdown(figures))


def markdown(figures: dict) -> str:
    q, s = figures["quality"], figures["speed"]
    lines = [
        f"Model `{figures['model']}` ({figures['precision']}), {figures['validation_articles']} validation articles,"
        f" {figures['machine']}.",
        "",
        "| task | precision | recall | F1 |",
        "|---|---|---|---|",
    ]
    for task, name in (("si", "span identification"), ("tc", "technique classification (micro)"), ("flc", "full task")):
        lines.append(f"| {name} | {q[task]['precision']:.4f} | {q[task]['recall']:.4f} | {q[task]['f1']:.4f} |")
    lines += ["", per_technique_markdown(q)]
    lines += [
        "",
        "| speed | value |",
        "|---|---|",
        f"| model load | {s['load_seconds']:.3f} s |",
        f"| one {s['article_words']}-word article, p50 | {s['p50_seconds']:.3f} s |",
        f"| one {s['article_words']}-word article, p95 | {s['p95_seconds']:.3f} s |",
        f"| validation articles per second | {s['articles_per_second']:.2f} |",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
