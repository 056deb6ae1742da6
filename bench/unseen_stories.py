"""Models compared on the validation articles whose story the training split does not hold, with a spread.

    python bench/unseen_stories.py MODEL [MODEL ...] [--data ../shared/data/ptc-v2] [--resamples 500]

Seven validation articles share over 30% of their word 6-grams with one training-split article, which
rewards memorising; this drops every validation article that shares a story (``story_groups``) with a
training-split article and scores each model (a shipped name or a model folder, all trained on the
training split alone) on the rest, on the dropped ones for contrast, and on article-level bootstrap
resamples of the rest (mean and the 2.5-97.5 percentile range: what a difference must clear). Also how
the calibrated score ranks spans there: AUROC for "overlaps a gold span of its technique" and the
precision of spans scored over 0.5.
"""

from __future__ import annotations

import random
import statistics
from pathlib import Path

import numpy as np
from benchmark import parser_with_data, validation_articles

from propscope.corpus import load_articles, read_ids, read_labels
from propscope.corpus.labels import Label
from propscope.metrics import full_task, span_identification, technique_classification
from propscope.model.calibration import auroc, span_outcomes
from propscope.pipeline.analyzer import Analyzer
from propscope.training.split import story_groups


def split_by_story(data: Path) -> tuple[list, list]:
    """Validation articles of stories the training split lacks, and those of stories it holds."""
    validation = validation_articles(data)
    train = load_articles(data / "train-articles", set(read_ids(data / "splits" / "train-ids.txt")))
    train_ids = {a.id for a in train}
    seen = {a.id for group in story_groups(train + validation) if any(a.id in train_ids for a in group) for a in group}
    return [a for a in validation if a.id not in seen], [a for a in validation if a.id in seen]


def scores(predicted: list[Label], named: list[Label], gold: list[Label]) -> tuple[float, float, float]:
    return (
        span_identification(predicted, gold).overall.f1,
        technique_classification(named, gold).overall.f1,
        full_task(predicted, gold).overall.f1,
    )


def main() -> None:
    parser = parser_with_data(__doc__)
    parser.add_argument("models", nargs="+")
    parser.add_argument("--resamples", type=int, default=500)
    args = parser.parse_args()
    unseen, seen = split_by_story(args.data)
    labels = read_labels(args.data / "train-task-flc-tc.labels")
    print(f"{len(unseen)} validation articles of unseen stories, {len(seen)} of stories the training split holds")
    print("| model | articles | span F1 | technique F1 | full task F1 | AUROC | spans > 0.5 right |")
    print("|---|---|---|---|---|---|---|")
    for name in args.models:
        analyzer = Analyzer.load(name, threads=args.threads)
        per_article = {}
        for article in unseen + seen:
            gold = [g for g in labels if g.article_id == article.id]
            spans = analyzer.analyze(article).spans
            predicted = [Label(article.id, s.start, s.end, s.technique) for s in spans]
            named = analyzer.classify_template({article.id: article}, gold)
            per_article[article.id] = (predicted, named, gold, span_outcomes(article.id, spans, gold))
        for part, articles in (("unseen stories", unseen), ("seen stories", seen)):
            chosen = [per_article[a.id] for a in articles]
            predicted, named, gold = ([x for row in chosen for x in row[k]] for k in range(3))
            outcomes = [o for row in chosen for o in row[3]]
            score = np.array([s for s, _ in outcomes])
            right = np.array([c for _, c in outcomes], dtype=bool)
            si, tc, flc = scores(predicted, named, gold)
            over = score > 0.5
            precision = f"{right[over].mean():.3f} of {int(over.sum())}" if over.any() else "none"
            print(
                f"| {analyzer.model.name} ({part}) | {len(articles)} | {si:.4f} | {tc:.4f} | {flc:.4f} "
                f"| {auroc(score, right):.3f} | {precision} |"
            )
        rng = random.Random(13)
        resampled = []
        for _ in range(args.resamples):
            chosen = [per_article[rng.choice(unseen).id] for _ in unseen]
            resampled.append(scores(*([x for row in chosen for x in row[k]] for k in range(3))))
        cells = []
        for column in zip(*resampled, strict=True):
            ordered = sorted(column)
            low, high = ordered[int(0.025 * len(ordered))], ordered[int(0.975 * len(ordered)) - 1]
            cells.append(f"{statistics.mean(column):.4f} [{low:.4f}, {high:.4f}]")
        print(f"| {analyzer.model.name} (bootstrap of unseen) | {len(unseen)} | {' | '.join(cells)} | | |")


if __name__ == "__main__":
    main()
