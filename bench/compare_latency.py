"""Latency of two or more models on the same ~800-word article, timed in turns within one process.

    python bench/compare_latency.py default path/to/other-model [--rounds 15] [--threads 2]

Separate benchmark runs of one model on this machine differ by 10% or more; taking turns in one
process shows whether a difference between models is theirs or the machine's.
"""

from __future__ import annotations

import statistics
import time

from benchmark import article_of_words, parser_with_data, validation_articles

from propscope.model.ensemble import load_model
from propscope.pipeline.analyzer import Analyzer, model_directory


def main() -> None:
    parser = parser_with_data(__doc__)
    parser.add_argument("models", nargs="+")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    sample = article_of_words(validation_articles(args.data), 800)
    analyzers = {name: Analyzer(load_model(model_directory(name), threads=args.threads)) for name in args.models}
    for analyzer in analyzers.values():
        analyzer.analyze(sample)  # warm-up
    times: dict[str, list[float]] = {name: [] for name in analyzers}
    for _ in range(args.rounds):
        for name, analyzer in analyzers.items():
            started = time.perf_counter()
            analyzer.analyze(sample)
            times[name].append(time.perf_counter() - started)
    print(f"| model ({len(sample.text.split())} words, {args.rounds} turns each) | p50 | p95 |\n|---|---|---|")
    for name, values in times.items():
        values.sort()
        p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        print(f"| {name} | {statistics.median(values):.3f} s | {p95:.3f} s |")


if __name__ == "__main__":
    main()
