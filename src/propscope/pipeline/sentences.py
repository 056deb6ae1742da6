"""Sentence boundaries on character offsets: each line, split further after . ! or ? ."""

from __future__ import annotations

import re

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
