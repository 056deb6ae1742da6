"""Official SemEval-2020 Task 11 metrics."""

from propscope.metrics.semeval import (
    TASKS,
    Report,
    Score,
    evaluate,
    full_task,
    span_identification,
    technique_classification,
)

__all__ = [
    "TASKS",
    "Report",
    "Score",
    "evaluate",
    "full_task",
    "span_identification",
    "technique_classification",
]
