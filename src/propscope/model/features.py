"""Surface signals an uncased, windowed encoder cannot see: per span for the technique classifier,
per word piece for the encoder's input.

Repetition is the clearest case: whether a phrase recurs elsewhere in the article lies outside the
window, and casing and punctuation are folded away by the uncased tokenizer.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np

_WORD = re.compile(r"\w+")
_QUOTES = "\"'“”‘’«»"

FEATURE_NAMES = (
    "log_repeats_of_phrase",
    "share_of_words_repeated",
    "log_words",
    "quoted",
    "exclamation",
    "question",
    "uppercase_share",
    "position_in_article",
    "share_of_line",
    "in_title",
    "capitalised",
)


def line_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Characters ``[first, last)`` of the lines holding ``[start, end)``, without their newlines."""
    line_end = text.find("\n", end)
    return text.rfind("\n", 0, start) + 1, len(text) if line_end < 0 else line_end


class ArticleSignals:
    """Article-wide counts computed once, then read for each span."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lower = text.lower()
        self.word_counts = Counter(w for w in _WORD.findall(self.lower) if len(w) > 2)
        self.title_end = text.find("\n") if "\n" in text else len(text)

    def features(self, start: int, end: int) -> np.ndarray:
        text, span = self.text, self.text[start:end]
        phrase = self.lower[start:end].strip()
        words = [w for w in _WORD.findall(phrase) if len(w) > 2]
        span_counts = Counter(words)
        repeated = sum(1 for w in words if self.word_counts[w] > span_counts[w])
        letters = [c for c in span if c.isalpha()]
        line_start, line_end = line_bounds(text, start, end)
        around = text[max(0, start - 2) : min(len(text), end + 2)]
        values = (
            math.log1p(max(0, self.lower.count(phrase) - 1)) if phrase else 0.0,
            repeated / len(words) if words else 0.0,
            math.log1p(len(_WORD.findall(span))),
            float(any(q in around for q in _QUOTES)),
            float("!" in around),
            float("?" in around),
            sum(c.isupper() for c in letters) / len(letters) if letters else 0.0,
            start / max(1, len(text)),
            (end - start) / max(1, line_end - line_start),
            float(start < self.title_end),
            float(span[:1].isupper()),
        )
        return np.asarray(values, dtype=np.float32)
