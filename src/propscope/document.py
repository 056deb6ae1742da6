"""The data model: articles, technique spans and the analysis of an article.

Every offset is a character offset into ``Article.text`` exactly as given (newlines untouched), so
``article.text[span.start:span.end]`` is always the span's text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any


def merge_intervals(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge spans that share at least one character; touching spans stay apart, as in the corpus."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


@dataclass(frozen=True)
class Article:
    id: str
    text: str
    title: str = ""


@dataclass(frozen=True)
class Cue:
    """A stretch of the article that bears on a span, and how much (1.0 where it simply occurs)."""

    start: int
    end: int
    weight: float = 1.0


@dataclass(frozen=True)
class Evidence:
    """Why a span was marked, read from the model and the article (``propscope.pipeline.evidence``)."""

    words: tuple[Cue, ...] = ()  # the words inside where the tagger was surest, surest first
    repeats: tuple[Cue, ...] = ()  # where else the passage (or its longest recurring run of words) occurs
    signals: tuple[str, ...] = ()  # surface signals seen: "in quotes", "exclamation", "in the title", ...
    techniques: tuple[tuple[str, float], ...] = ()  # the techniques weighed, most probable first

    def to_dict(self, text: str) -> dict[str, Any]:
        def cues(found: tuple[Cue, ...]) -> list[dict[str, Any]]:
            return [{"start": c.start, "end": c.end, "text": text[c.start : c.end], "weight": c.weight} for c in found]

        return {
            "words": cues(self.words),
            "repeats": cues(self.repeats),
            "signals": list(self.signals),
            "techniques": [{"technique": name, "probability": p} for name, p in self.techniques],
        }


# A span's score is meant as the probability that it is right (calibrated out of fold); every output shows
# which of these bands it falls in, so that a 0.12 span never looks like a 0.81 one.
CONFIDENCE_BANDS: tuple[tuple[float, str], ...] = ((0.5, "likely"), (0.25, "possible"), (0.0, "unsure"))


def confidence(score: float) -> str:
    """The band of ``score``: "likely" (0.5 or more), "possible" (0.25 or more) or "unsure"."""
    return next(name for floor, name in CONFIDENCE_BANDS if score >= floor)


@dataclass(frozen=True, order=True)
class Span:
    start: int
    end: int
    technique: str
    score: float = 1.0
    evidence: Evidence | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise ValueError(f"a span needs 0 <= start < end, got {self.start}..{self.end}")

    @property
    def confidence(self) -> str:
        return confidence(self.score)

    def text_in(self, text: str) -> str:
        return text[self.start : self.end]


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    techniques: tuple[str, ...] = ()

    @property
    def flagged(self) -> bool:
        return bool(self.techniques)


@dataclass(frozen=True)
class Summary:
    sentences: int
    flagged_sentences: int
    technique_counts: dict[str, int]
    words: int = 0  # runs of non-space characters: reports compare outlets per 1,000 words

    @property
    def flagged_share(self) -> float:
        return self.flagged_sentences / self.sentences if self.sentences else 0.0


@dataclass
class Analysis:
    article: Article
    spans: list[Span]
    sentences: list[Sentence] = field(default_factory=list)
    model: str = ""

    @classmethod
    def build(
        cls, article: Article, spans: list[Span], sentence_bounds: list[tuple[int, int]], model: str = ""
    ) -> Analysis:
        """Attach each sentence's techniques, so the summary needs no second pass over spans."""
        spans = sorted(spans)
        sentences = [
            Sentence(start, end, tuple(sorted({s.technique for s in spans if s.start < end and start < s.end})))
            for start, end in sentence_bounds
        ]
        return cls(article=article, spans=spans, sentences=sentences, model=model)

    def above(self, min_score: float) -> Analysis:
        """The same analysis keeping only spans scored ``min_score`` or more; sentence flags follow."""
        kept = [span for span in self.spans if span.score >= min_score]
        return Analysis.build(self.article, kept, [(s.start, s.end) for s in self.sentences], self.model)

    @property
    def summary(self) -> Summary:
        counts = Counter(span.technique for span in self.spans)
        return Summary(
            sentences=len(self.sentences),
            flagged_sentences=sum(s.flagged for s in self.sentences),
            technique_counts=dict(counts.most_common()),
            words=len(self.article.text.split()),
        )

    def _repr_html_(self) -> str:
        """Jupyter shows an analysis as the page does: highlighted article, legend and tooltips."""
        from propscope.render.html import render_fragment  # rendering sits above the data model

        return render_fragment(self)

    def to_dict(self) -> dict[str, Any]:
        text = self.article.text
        summary = self.summary
        return {
            "article": asdict(self.article),
            "model": self.model,
            "spans": [
                {
                    "start": s.start,
                    "end": s.end,
                    "technique": s.technique,
                    "score": s.score,
                    "confidence": s.confidence,
                    "text": s.text_in(text),
                    "evidence": s.evidence.to_dict(text) if s.evidence else None,
                }
                for s in self.spans
            ],
            "sentences": [{"start": s.start, "end": s.end, "techniques": list(s.techniques)} for s in self.sentences],
            "summary": {
                "sentences": summary.sentences,
                "flagged_sentences": summary.flagged_sentences,
                "flagged_share": round(summary.flagged_share, 4),
                "technique_counts": summary.technique_counts,
                "words": summary.words,
            },
        }
