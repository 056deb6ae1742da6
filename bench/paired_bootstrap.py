"""Whether one model beats another on the validation split beyond its sampling noise: a paired bootstrap.

    python bench/paired_bootstrap.py MODEL_A MODEL_B [--resamples 300] [--data ../shared/data/ptc-v2] [--threads 2]

Both models analyse the 74 validation articles once; then articles are drawn with replacement, the same
draw for both, and span and full-task F1 are scored on each draw. Prints A minus B on all articles, its
95% interval over the draws, and how often A came out ahead. Judge only models that never learned from
the validation split (stand-ins), each with the decoding it ships with.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from benchmark import parser_with_data, validation_articles

from propscope.corpus import read_labels
from propscope.corpus.labels import Label, technique_labels
from propscope.metrics import full_task, span_identification
from propscope.pipeline.analyzer import Analyzer


def scores(predicted: list[list[Label]], gold: list[list[Label]], draw: np.ndarray) -> np.ndarray:
    """Span and full-task F1 over the drawn articles, an article drawn twice counting twice."""
    picked, truth = [], []
    for position, article in enumerate(draw):  # renamed per draw, so that repeats stay distinct articles
        picked += [replace(label, article_id=str(position)) for label in predicted[article]]
        truth += [replace(label, article_id=str(position)) for label in gold[article]]
    return np.array([span_identification(picked, truth).overall.f1, full_task(picked, truth).overall.f1])


def main() -> None:
    parser = parser_with_data(__doc__)
    parser.add_argument("models", nargs=2)
    parser.add_argument("--resamples", type=int, default=300)
    args = parser.parse_args()
    articles = validation_articles(args.data)
    labels = read_labels(args.data / "train-task-flc-tc.labels")
    gold = [[g for g in labels if g.article_id == a.id] for a in articles]
    predicted = []
    for name in args.models:
        analyzer = Analyzer.load(name, threads=args.threads)
        predicted.append([technique_labels(analyzer.analyze(a)) for a in articles])
    everything = np.arange(len(articles))
    difference = scores(predicted[0], gold, everything) - scores(predicted[1], gold, everything)
    rng = np.random.default_rng(0)
    draws = [rng.integers(0, len(articles), len(articles)) for _ in range(args.resamples)]
    spread = np.array([scores(predicted[0], gold, d) - scores(predicted[1], gold, d) for d in draws])
    print(f"A = {args.models[0]}, B = {args.models[1]}, {len(articles)} articles, {args.resamples} draws")
    for column, task in enumerate(("span F1", "full-task F1")):
        low, high = np.percentile(spread[:, column], [2.5, 97.5])
        ahead = np.mean(spread[:, column] > 0)
        print(f"{task}: A - B = {difference[column]:+.4f}, 95% [{low:+.4f}, {high:+.4f}], A ahead in {ahead:.0%}")


if __name__ == "__main__":
    main()
