"""Why a passage was marked: what the model and the article show for each span, never canned text.

Three kinds of evidence, all read from what the analysis already computed (no extra network runs):
the words inside the span where the tagger was surest (its per-word-piece span probability), the signals
outside the encoder's window that the technique verifier reads (where else the phrase occurs, quotes,
exclamation, the title), and the techniques the verifier weighed against each other.
"""

from __future__ import annotations

import re
from collections import defaultdict

import numpy as np

from propscope.document import Cue, Evidence
from propscope.model.features import FEATURE_NAMES, ArticleSignals
from propscope.model.windows import Tokens

KEY_WORDS = 3
TECHNIQUES_SHOWN = 3
MAX_REPEATS = 10
_WORD = re.compile(r"\w+")


class EvidenceFinder:
    """Evidence for the spans of one article: the article-wide lookups are built once."""

    def __init__(self, text: str, tokens: Tokens, span_probability: np.ndarray, techniques: tuple[str, ...]) -> None:
        self.text = text
        self.tokens = tokens
        self.span_probability = span_probability
        self.techniques = techniques
        self.surface = ArticleSignals(text)
        matches = list(_WORD.finditer(text))  # not text.lower(): lowering may change the length ("İ")
        self.words = [m.group().lower() for m in matches]
        self.word_bounds = [m.span() for m in matches]
        self.positions: dict[tuple[str, ...], list[int]] = defaultdict(list)  # single words and word pairs
        for k, word in enumerate(self.words):
            self.positions[(word,)].append(k)
            if k + 1 < len(self.words):
                self.positions[(word, self.words[k + 1])].append(k)

    def evidence(self, start: int, end: int, probabilities: np.ndarray) -> Evidence:
        return Evidence(
            words=self.key_words(start, end),
            repeats=self.repeats(start, end),
            signals=self.signals(start, end),
            techniques=tuple(
                (self.techniques[k], round(float(probabilities[k]), 4))
                for k in np.argsort(-probabilities)[:TECHNIQUES_SHOWN]
                if probabilities[k] >= 0.01
            ),
        )

    def key_words(self, start: int, end: int) -> tuple[Cue, ...]:
        """The words with the highest span probability (of their surest word piece), surest first; words of
        three letters or fewer ("of", "the") only where the span has no longer one."""
        matches = list(_WORD.finditer(self.text, start, end))
        if any(len(m.group()) > 3 for m in matches):
            matches = [m for m in matches if len(m.group()) > 3]
        weighed = []
        for match in matches:
            first, last = self.tokens.token_range(match.start(), match.end())
            if first < last:
                weight = round(float(self.span_probability[first:last].max()), 4)
                weighed.append(Cue(match.start(), match.end(), weight))
        weighed.sort(key=lambda cue: (-cue.weight, cue.start))
        return tuple(weighed[:KEY_WORDS])

    def repeats(self, start: int, end: int) -> tuple[Cue, ...]:
        """Where else the span's longest recurring run of words occurs in the article (the whole passage where
        it recurs whole). Repetition is judged on these, which no window of the encoder sees at once."""
        words = self.words
        inside = [k for k, (s, e) in enumerate(self.word_bounds) if s >= start and e <= end]
        if not inside:
            return ()
        first, last = inside[0], inside[-1] + 1

        def outside(p: int, size: int) -> bool:
            return p + size <= first or p >= last

        if last - first == 1:
            size, origin = 1, first
            candidates = self.positions.get((words[first],), []) if len(words[first]) > 3 else []
        else:
            size, origin = 0, first
            for k in range(first, last - 1):
                for p in self.positions.get((words[k], words[k + 1]), []):
                    if not outside(p, 2):
                        continue
                    n = 2
                    while k + n < last and p + n < len(words) and words[p + n] == words[k + n]:
                        n += 1
                    if n > size:
                        size, origin = n, k
            run = words[origin : origin + size]
            if not size or max(len(w) for w in run) <= 3:  # "of the" recurs everywhere and says nothing
                return ()
            candidates = self.positions[(run[0], run[1])]
        found = []
        for p in candidates:
            if outside(p, size) and words[p : p + size] == words[origin : origin + size]:
                found.append(Cue(self.word_bounds[p][0], self.word_bounds[p + size - 1][1], 1.0))
        return tuple(found[:MAX_REPEATS])

    def signals(self, start: int, end: int) -> tuple[str, ...]:
        """The surface signals the verifier reads beside the words (an uncased encoder cannot see them)."""
        value = dict(zip(FEATURE_NAMES, self.surface.features(start, end), strict=True))
        found = {
            "in the title": value["in_title"] > 0,
            "in quotes": value["quoted"] > 0,
            "exclamation": value["exclamation"] > 0,
            "question": value["question"] > 0,
            "capitals": value["uppercase_share"] > 0.5,
            "whole line": value["share_of_line"] >= 0.9,
        }
        return tuple(name for name, present in found.items() if present)
