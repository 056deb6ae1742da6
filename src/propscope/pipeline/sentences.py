"""Sentence boundaries on character offsets: each line, split further after . ! or ? ."""

from __future__ import annotations

import re

import numpy as np

from propscope.model.inference import DetectedSpan, EncodedText

_LINE = re.compile(r"[^\n]+")
_BREAK = re.compile(r"(?<=[.!?])([\"'”’)\]]*)\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "st", "jr", "sr", "vs", "u.s", "no", "gen", "sen", "rep", "gov"}


def split_sentences(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence, without surrounding white space; lines never merge."""
    bounds = []
    for line in _LINE.finditer(text):
        start = line.start()
        for brk in _BREAK.finditer(line.group()):
            end = line.start() + brk.end(1)
            last_word = text[start:end].rsplit(None, 1)[-1].rstrip(".").lower()
            if last_word in _ABBREVIATIONS or len(last_word) == 1:
                continue
            bounds.append((start, end))
            start = line.start() + brk.end()
        bounds.append((start, line.end()))
    return [_strip(text, s, e) for s, e in bounds if text[s:e].strip()]


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


SENTENCE_MIN_CHARS = 15  # shorter "sentences" are headings, bylines and list items
SENTENCE_MAX_COVERED = 0.3  # a sentence marked over more than this share already has its passages


def sentence_candidates(encoded: EncodedText, marked: list[tuple[int, int]]) -> list[DetectedSpan]:
    """The sentences of a text that the passages already ``marked`` cover at most ``SENTENCE_MAX_COVERED`` of, each
    scored as a detected passage (the mean and the highest span probability of its word pieces): candidates a
    verifier may name whole. Measured on the yardstick with `accurate`: span F1 +0.010, full task +0.005 at a
    verifier threshold of 0.5 (bench/RESULTS.md)."""
    candidates = []
    for start, end in split_sentences(encoded.text):
        if end - start < SENTENCE_MIN_CHARS:
            continue
        covered = sum(max(0, min(end, b) - max(start, a)) for a, b in marked)
        first, last = encoded.tokens.token_range(start, end)
        if covered > SENTENCE_MAX_COVERED * (end - start) or first >= last:
            continue
        inside = encoded.span_probability[first:last]
        candidates.append(DetectedSpan(start, end, float(np.mean(inside)), float(np.max(inside))))
    return candidates
