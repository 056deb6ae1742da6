"""Scoring an analyzer on a labelled corpus with the three SemEval-2020 Task 11 tasks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from propscope.corpus.labels import TEMPLATE_MARK, Label, group_by_article, technique_labels
from propscope.document import Article
from propscope.metrics import Report, full_task, span_identification, technique_classification
from propscope.model.inference import EncodedText
from propscope.pipeline.analyzer import Analyzer
from propscope.techniques import TECHNIQUE_NAMES


@dataclass(frozen=True)
class Evaluation:
    si: Report
    tc: Report
    flc: Report

    def as_dict(self) -> dict:
        return {"si": self.si.as_dict(), "tc": self.tc.as_dict(), "flc": self.flc.as_dict()}


def evaluate_analyzer(analyzer: Analyzer, articles: Iterable[Article], gold: list[Label]) -> Evaluation:
    """All three tasks, encoding each article once and holding one article's states at a time."""
    return evaluate_encoded(((analyzer, a, analyzer.model.encode(a.text)) for a in articles), gold)


def evaluate_encoded(encoded: Iterable[tuple[Analyzer, Article, EncodedText]], gold: list[Label]) -> Evaluation:
    """All three tasks over articles already encoded, each by the analyzer that goes with it.

    Cross-fitting scores every training article with the network that did not learn from it.
    """
    gold_by_article = group_by_article(gold)
    predicted: list[Label] = []
    classified: list[Label] = []
    scored_gold: list[Label] = []
    for analyzer, article, encoding in encoded:
        predicted += technique_labels(analyzer.analyze(article, encoding))
        rows = gold_by_article.get(article.id, [])
        template = [Label(g.article_id, g.start, g.end, TEMPLATE_MARK) for g in rows]
        classified += analyzer.classify_template({article.id: article}, template, {article.id: encoding})
        scored_gold += rows
    return Evaluation(
        si=span_identification(predicted, scored_gold),
        tc=technique_classification(classified, scored_gold),
        flc=full_task(predicted, scored_gold),
    )


def per_technique_markdown(figures: dict) -> str:
    """A Markdown table of per-technique figures from ``Evaluation.as_dict()``."""
    rows = ["| technique | gold spans | TC F1 | full-task F1 |", "|---|---|---|---|"]
    for name in TECHNIQUE_NAMES:
        tc = figures["tc"]["per_technique"].get(name, {})
        flc = figures["flc"]["per_technique"].get(name, {})
        rows.append(f"| {name} | {tc.get('gold', 0)} | {tc.get('f1', 0):.4f} | {flc.get('f1', 0):.4f} |")
    return "\n".join(rows)
