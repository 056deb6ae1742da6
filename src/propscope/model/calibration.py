"""Making a span's score mean a probability: Platt scaling fitted on held-out articles.

A span counts as correct when it overlaps a gold span of the same technique. The raw score (span
probability times technique probability) ranks spans well but is not a probability; a logistic
curve on its logit, fitted on dev articles, turns it into one. Expected calibration error (ECE)
measures the gap.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from propscope.corpus.labels import Label
from propscope.document import Span

EPSILON = 1e-6


@dataclass(frozen=True)
class Calibration:
    slope: float = 1.0
    intercept: float = 0.0

    def apply(self, scores: np.ndarray) -> np.ndarray:
        clipped = np.clip(scores, EPSILON, 1 - EPSILON)
        return 1.0 / (1.0 + np.exp(-(self.slope * np.log(clipped / (1 - clipped)) + self.intercept)))

    def as_dict(self) -> dict[str, float]:
        return {"slope": round(self.slope, 6), "intercept": round(self.intercept, 6)}


def span_outcomes(article_id: str, spans: Iterable[Span], gold: Iterable[Label]) -> list[tuple[float, bool]]:
    """(score, correct) for each predicted span of one article."""
    gold = [g for g in gold if g.article_id == article_id]
    return [
        (s.score, any(g.technique == s.technique and g.start < s.end and s.start < g.end for g in gold)) for s in spans
    ]


def fit_platt(scores: np.ndarray, correct: np.ndarray, iterations: int = 100) -> Calibration:
    """Logistic regression of correctness on the score's logit, by Newton's method (slightly ridged), each
    step halved until the loss falls: a plain Newton step can overshoot and run off to huge slopes."""
    clipped = np.clip(scores, EPSILON, 1 - EPSILON)
    x = np.stack([np.log(clipped / (1 - clipped)), np.ones_like(clipped)], axis=1)
    y = correct.astype(np.float64)

    def loss(w: np.ndarray) -> float:
        z = x @ w
        return float(np.sum(np.logaddexp(0.0, z) - y * z) + 0.5e-3 * w @ w)

    w = np.array([1.0, 0.0])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-x @ w))
        gradient = x.T @ (p - y) + 1e-3 * w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + 1e-3 * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        size, before = 1.0, loss(w)
        while loss(w - size * step) > before and size > 1e-6:
            size /= 2
        w = w - size * step
        if np.abs(size * step).max() < 1e-8:
            break
    return Calibration(slope=float(w[0]), intercept=float(w[1]))


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
