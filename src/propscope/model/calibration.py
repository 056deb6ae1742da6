"""Making a span's score mean a probability: Platt scaling fitted on held-out articles.

A span counts as correct when it overlaps a gold span of the same technique. The raw score (the
technique's probability) is not a probability of being right; a logistic curve on its logit, fitted on
articles the model did not learn from, turns it into one. The tagger's surest word piece in the span (its
peak) also enters the curve: whether the passage is propaganda at all is the tagger's call, and on unseen
articles the two together ranked spans better (AUROC 0.637 with the raw score alone, 0.692 with the peak;
bench/RESULTS.md). So does the technique: on unseen stories a Loaded language span is right six times as often as
a Repetition span (36% against 6%), so each technique may move the intercept (AUROC 0.693 -> 0.711 across the
yardstick's folds). Expected calibration error (ECE) measures the gap.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from propscope.corpus.labels import Label
from propscope.document import Span

EPSILON = 1e-6
# how hard a technique's own intercept is pulled towards the common one: a technique seldom seen keeps about
# the common intercept (the AUROC across folds moved by under 0.001 for ridges from 0.01 to 10)
TECHNIQUE_RIDGE = 1.0


def logit(values: np.ndarray) -> np.ndarray:
    clipped = np.clip(values, EPSILON, 1 - EPSILON)
    return np.log(clipped / (1 - clipped))


@dataclass(frozen=True)
class Calibration:
    slope: float = 1.0
    intercept: float = 0.0
    peak_slope: float = 0.0  # the weight of the peak's logit; 0 in models calibrated on the raw score alone
    # added to the intercept for spans of that technique; none in models calibrated before they were fitted
    technique_offsets: dict[str, float] = field(default_factory=dict)

    def apply(
        self, scores: np.ndarray, peaks: np.ndarray | None = None, techniques: Sequence[str] | None = None
    ) -> np.ndarray:
        z = self.slope * logit(scores) + self.intercept
        if self.peak_slope:
            z = z + self.peak_slope * logit(np.asarray(peaks))
        if self.technique_offsets:
            if techniques is None:
                raise ValueError("this calibration moves its intercept by technique: name each span's technique")
            z = z + np.array([self.technique_offsets.get(t, 0.0) for t in techniques], dtype=np.float64)
        return 1.0 / (1.0 + np.exp(-z))

    def as_dict(self) -> dict[str, Any]:
        offsets = {"technique_offsets": {t: round(v, 6) for t, v in self.technique_offsets.items()}}
        return {
            "slope": round(self.slope, 6),
            "intercept": round(self.intercept, 6),
            "peak_slope": round(self.peak_slope, 6),
        } | (offsets if self.technique_offsets else {})


def span_outcomes(article_id: str, spans: Iterable[Span], gold: Iterable[Label]) -> list[tuple[float, bool]]:
    """(score, correct) for each predicted span of one article."""
    gold = [g for g in gold if g.article_id == article_id]
    return [
        (s.score, any(g.technique == s.technique and g.start < s.end and s.start < g.end for g in gold)) for s in spans
    ]


def fit_platt(
    scores: np.ndarray,
    correct: np.ndarray,
    peaks: np.ndarray | None = None,
    techniques: Sequence[str] | None = None,
    iterations: int = 100,
) -> Calibration:
    """Logistic regression of correctness on the score's logit (and the peak's, given peaks; an intercept per
    technique, given techniques, ridged towards the common one), by Newton's method (slightly ridged), each step
    halved until the loss falls: a plain Newton step can overshoot and run off to huge slopes."""
    columns = [logit(scores), np.ones(len(scores)), logit(peaks) if peaks is not None else np.zeros(len(scores))]
    named = sorted(set(techniques)) if techniques is not None else []
    columns += [np.array([t == name for t in techniques], dtype=np.float64) for name in named]
    x = np.stack(columns, axis=1)
    y = correct.astype(np.float64)
    ridge = np.array([1e-3] * 3 + [TECHNIQUE_RIDGE] * len(named))

    def loss(w: np.ndarray) -> float:
        z = x @ w
        return float(np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * w @ (ridge * w))

    w = np.zeros(x.shape[1])
    w[0] = 1.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-x @ w))
        gradient = x.T @ (p - y) + ridge * w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + np.diag(ridge)
        step = np.linalg.solve(hessian, gradient)
        size, before = 1.0, loss(w)
        while loss(w - size * step) > before and size > 1e-6:
            size /= 2
        w = w - size * step
        if np.abs(size * step).max() < 1e-8:
            break
    return Calibration(
        slope=float(w[0]),
        intercept=float(w[1]),
        peak_slope=float(w[2]),
        technique_offsets={name: float(v) for name, v in zip(named, w[3:], strict=True)},
    )


def expected_calibration_error(scores: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Mean |accuracy - confidence| over equal-width score bins, weighted by bin size."""
    if len(scores) == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(scores, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            total += members.sum() * abs(correct[members].mean() - scores[members].mean())
    return float(total / len(scores))


def auroc(scores: np.ndarray, correct: np.ndarray) -> float:
    """Area under the ROC curve: the chance that a correct span outscores a wrong one (ties count half)."""
    positives, negatives = int(correct.sum()), int((~correct).sum())
    if not positives or not negatives:
        return 0.5
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    # average ranks over ties
    unique, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(average, counts)
    return float((ranks[correct].sum() - positives * (positives + 1) / 2) / (positives * negatives))
