"""The scoring of SemEval-2020 Task 11, reimplemented from its published definitions.

* Span identification (SI): spans of one side that overlap are merged per article, then
  P = sum over predicted s and gold t of |s ∩ t| / |s|, divided by the number of predicted spans, and
  R = the same with |t|, divided by the number of gold spans (partial credit for partial overlap).
* Technique classification (TC): for each span (article, start, end) the predicted and gold labels are
  matched as multisets; micro precision and recall over all labels.
* Full task (FLC): the SI formula where a pair only counts if both spans carry the same technique,
  spans being merged per article and technique.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from propscope.corpus.labels import Label
from propscope.document import merge_intervals


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    predicted: int
    gold: int

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "predicted": self.predicted,
            "gold": self.gold,
        }


@dataclass(frozen=True)
class Report:
    task: str
    overall: Score
    per_technique: dict[str, Score] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "task": self.task,
            **self.overall.as_dict(),
            "per_technique": {name: s.as_dict() for name, s in self.per_technique.items()},
        }


def _credit(predicted: list[tuple[int, int]], gold: list[tuple[int, int]]) -> tuple[float, float]:
    """Sums over every overlapping pair of |s ∩ t| / |s| and of |s ∩ t| / |t|, for merged spans (sorted and
    disjoint on each side): one sweep instead of every pair, as the decoding search scores thousands of times."""
    precision_sum = recall_sum = 0.0
    i = j = 0
    while i < len(predicted) and j < len(gold):
        s, t = predicted[i], gold[j]
        shared = min(s[1], t[1]) - max(s[0], t[0])
        if shared > 0:
            precision_sum += shared / (s[1] - s[0])
            recall_sum += shared / (t[1] - t[0])
        if s[1] < t[1]:  # s ends first: no later gold span reaches back to it
            i += 1
        else:
            j += 1
    return precision_sum, recall_sum


def _partial_credit(predicted: dict[object, list[tuple[int, int]]], gold: dict[object, list[tuple[int, int]]]) -> Score:
    """SI-style precision and recall; keys group spans that may be compared (article, technique)."""
    precision_sum = recall_sum = 0.0
    for key, pred_spans in predicted.items():
        p, r = _credit(pred_spans, gold.get(key, []))
        precision_sum += p
        recall_sum += r
    n_pred = sum(len(v) for v in predicted.values())
    n_gold = sum(len(v) for v in gold.values())
    return Score(
        precision=precision_sum / n_pred if n_pred else 0.0,
        recall=recall_sum / n_gold if n_gold else 0.0,
        predicted=n_pred,
        gold=n_gold,
    )


def _merged_by(labels: Iterable[Label], with_technique: bool) -> dict[object, list[tuple[int, int]]]:
    grouped: dict[object, list[tuple[int, int]]] = defaultdict(list)
    for label in labels:
        key = (label.article_id, label.technique) if with_technique else label.article_id
        grouped[key].append((label.start, label.end))
    return {key: merge_intervals(spans) for key, spans in grouped.items()}


def span_identification(predicted: Iterable[Label], gold: Iterable[Label]) -> Report:
    return Report("si", _partial_credit(_merged_by(predicted, False), _merged_by(gold, False)))


def full_task(predicted: Iterable[Label], gold: Iterable[Label]) -> Report:
    pred = _merged_by(predicted, True)
    ref = _merged_by(gold, True)
    techniques = sorted({key[1] for key in ref} | {key[1] for key in pred})  # type: ignore[index]
    per_technique = {
        name: _partial_credit(
            {k: v for k, v in pred.items() if k[1] == name},  # type: ignore[index]
            {k: v for k, v in ref.items() if k[1] == name},  # type: ignore[index]
        )
        for name in techniques
    }
    return Report("flc", _partial_credit(pred, ref), per_technique)


def technique_classification(predicted: Iterable[Label], gold: Iterable[Label]) -> Report:
    def labels_per_span(labels: Iterable[Label]) -> dict[tuple[str, int, int], Counter]:
        spans: dict[tuple[str, int, int], Counter] = defaultdict(Counter)
        for label in labels:
            spans[(label.article_id, label.start, label.end)][label.technique] += 1
        return spans

    pred, ref = labels_per_span(predicted), labels_per_span(gold)
    matched: Counter = Counter()
    for span, pred_counts in pred.items():
        matched.update(pred_counts & ref.get(span, Counter()))
    pred_totals = sum(pred.values(), Counter())
    gold_totals = sum(ref.values(), Counter())

    def score(correct: int, n_pred: int, n_gold: int) -> Score:
        return Score(correct / n_pred if n_pred else 0.0, correct / n_gold if n_gold else 0.0, n_pred, n_gold)

    per_technique = {
        name: score(matched[name], pred_totals[name], gold_totals[name])
        for name in sorted(set(pred_totals) | set(gold_totals))
    }
    overall = score(sum(matched.values()), sum(pred_totals.values()), sum(gold_totals.values()))
    return Report("tc", overall, per_technique)


class SearchScorer:
    """Overall span and full-task F1 against one fixed gold set, merged once: for searches that score many
    predictions of the same articles (the same figures as ``span_identification`` and ``full_task``)."""

    def __init__(self, gold: Iterable[Label]) -> None:
        gold = list(gold)
        self.spans, self.named = _merged_by(gold, False), _merged_by(gold, True)

    def f1(self, predicted: Iterable[Label]) -> tuple[float, float]:
        predicted = list(predicted)
        return (
            _partial_credit(_merged_by(predicted, False), self.spans).f1,
            _partial_credit(_merged_by(predicted, True), self.named).f1,
        )


TASKS = {"si": span_identification, "tc": technique_classification, "flc": full_task}


def evaluate(task: str, predicted: Iterable[Label], gold: Iterable[Label]) -> Report:
    return TASKS[task](list(predicted), list(gold))
