"""Official SemEval-2020 Task 11 metrics."""

from propscope.metrics.semeval import (
    TASKS,
    Report,
    Score,
    SearchScorer,
    evaluate,
    full_task,
    span_identification,
    technique_classification,
)

__all__ = [
    "TASKS",
    "Report",
    "Score",
    "SearchScorer",
    "evaluate",
    "full_task",
    "span_identification",
    "technique_classification",
]
