"""Tokenizing articles of any length into overlapping encoder windows, and mapping back.

Shared by training and inference so that both see exactly the same windows. Numpy only: analysis at
run time must not need torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tokenizers import Tokenizer

from propscope.document import merge_intervals

O, B, I = 0, 1, 2  # noqa: E741 - the BIO tag names are the convention
BIO_TAGS = ("O", "B", "I")


@dataclass(frozen=True)
class Tokens:
    """Word pieces of one text: ids and ``[start, end)`` character offsets into that text."""

    ids: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def token_range(self, start: int, end: int) -> tuple[int, int]:
        """Tokens overlapping characters ``[start, end)``, as ``[first, last + 1)``; empty if none."""
        first = int(np.searchsorted(self.offsets[:, 1], start, side="right"))
        last = int(np.searchsorted(self.offsets[:, 0], end, side="left"))
        return first, max(first, last)


@dataclass(frozen=True)
class Window:
    """Tokens ``[start, end)`` of the article; inside the encoder they sit after ``[CLS]``."""

    start: int
    end: int

    def contains(self, first: int, last: int) -> bool:
        return self.start <= first and last <= self.end

    def centrality(self, first: int, last: int) -> int:
        """How far the token range stays from the window's edges: larger means more context."""
        return min(first - self.start, self.end - last)


class WindowTokenizer:
    def __init__(self, tokenizer: Tokenizer, window_tokens: int, stride: int) -> None:
        if not 0 < stride <= window_tokens - 2:
            raise ValueError("stride must be positive and at most the window's content size")
        self.tokenizer = tokenizer
        padding = tokenizer.padding  # the encoder's own padding token, read before it is switched off
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        self.content = window_tokens - 2
        self.stride = stride
        # the tokens the encoder was trained to open and close a text with ([CLS]/[SEP] in BERT, <s>/</s> in MPNet,
        # whose vocabulary also holds an unused [CLS]): taken from the tokenizer's own template
        framing = tokenizer.encode("", add_special_tokens=True).ids
        if len(framing) != 2:
            raise ValueError(f"the tokenizer frames a text with {len(framing)} special tokens, not two")
        self.cls_id, self.sep_id = framing
        self.pad_id = padding["pad_id"] if padding else tokenizer.token_to_id("[PAD]")
        if self.pad_id is None:
            raise ValueError("the tokenizer names no padding token")

    @classmethod
    def from_file(cls, path: str, window_tokens: int, stride: int) -> WindowTokenizer:
        return cls(Tokenizer.from_file(path), window_tokens, stride)

    def tokenize(self, text: str) -> Tokens:
        encoding = self.tokenizer.encode(text, add_special_tokens=False)
        ids = np.asarray(encoding.ids, dtype=np.int64)
        offsets = np.asarray(encoding.offsets, dtype=np.int64).reshape(-1, 2)
        return Tokens(ids=ids, offsets=offsets)

    def windows(self, n_tokens: int, stride: int | None = None) -> list[Window]:
        """Windows every ``stride`` tokens; the last one ends at the text's end, so none is cut."""
        if n_tokens == 0:
            return []
        if n_tokens <= self.content:
            return [Window(0, n_tokens)]
        step = stride or self.stride
        starts = list(range(0, n_tokens - self.content, step)) + [n_tokens - self.content]
        return [Window(s, s + self.content) for s in starts]

    def batch(self, tokens: Tokens, windows: list[Window]) -> tuple[np.ndarray, np.ndarray]:
        """``input_ids`` and ``attention_mask`` for the windows, padded to the longest."""
        width = max(w.end - w.start for w in windows) + 2
        input_ids = np.full((len(windows), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(windows), width), dtype=np.int64)
        for row, w in enumerate(windows):
            n = w.end - w.start
            input_ids[row, 0] = self.cls_id
            input_ids[row, 1 : n + 1] = tokens.ids[w.start : w.end]
            input_ids[row, n + 1] = self.sep_id
            mask[row, : n + 2] = 1
        return input_ids, mask


def owner_windows(windows: list[Window], n_tokens: int) -> np.ndarray:
    """For each token, the window that sees it with the most context on both sides."""
    owner = np.zeros(n_tokens, dtype=np.int64)
    best = np.full(n_tokens, -1, dtype=np.int64)
    for index, w in enumerate(windows):
        positions = np.arange(w.start, w.end)
        margin = np.minimum(positions - w.start, w.end - 1 - positions)
        better = margin > best[w.start : w.end]
        owner[w.start : w.end][better] = index
        best[w.start : w.end][better] = margin[better]
    return owner


def merge_windows(windows: list[Window], values: np.ndarray, n_tokens: int, weighted: bool) -> np.ndarray:
    """One value per token from per-window ``values`` (``[windows, positions]``, position 0 is [CLS]).

    ``weighted``: every window that sees a token votes, weighted by its distance from the window's edge
    (plus one), a cheap ensemble of overlapping views; else the most central window alone decides.
    """
    if not weighted:
        owner = owner_windows(windows, n_tokens)
        starts = np.array([w.start for w in windows])
        return values[owner, np.arange(n_tokens) - starts[owner] + 1]
    total = np.zeros(n_tokens, dtype=np.float64)
    weight = np.zeros(n_tokens, dtype=np.float64)
    for index, w in enumerate(windows):
        positions = np.arange(w.start, w.end)
        margin = np.minimum(positions - w.start, w.end - 1 - positions) + 1.0
        total[w.start : w.end] += margin * values[index, 1 : w.end - w.start + 1]
        weight[w.start : w.end] += margin
    return (total / weight).astype(values.dtype)


def best_window(windows: list[Window], first: int, last: int) -> int:
    """The window holding tokens ``[first, last)`` most centrally, or else the one holding its start."""
    holding = [i for i, w in enumerate(windows) if w.contains(first, last)]
    if holding:
        return max(holding, key=lambda i: windows[i].centrality(first, last))
    return max(
        (i for i, w in enumerate(windows) if w.start <= first < w.end),
        key=lambda i: windows[i].centrality(first, min(last, windows[i].end)),
    )


def span_windows(windows: list[Window], first: int, last: int, weighted: bool) -> list[tuple[int, float]]:
    """The windows whose states name the technique of tokens ``[first, last)``, each with its vote.

    ``weighted``: every window holding the whole span votes, by its distance from the window's edges (plus
    one), as in ``merge_windows``; else (or where none holds it whole) the best window alone.
    """
    holding = [i for i, w in enumerate(windows) if w.contains(first, last)] if weighted else []
    if not holding:
        return [(best_window(windows, first, last), 1.0)]
    return [(i, windows[i].centrality(first, last) + 1.0) for i in holding]


def bio_tags(tokens: Tokens, spans: list[tuple[int, int]]) -> np.ndarray:
    """Per-token BIO tags for character spans; overlapping spans are merged first."""
    tags = np.full(len(tokens), O, dtype=np.int64)
    for start, end in merge_intervals(spans):
        first, last = tokens.token_range(start, end)
        if first < last:
            tags[first] = B
            tags[first + 1 : last] = I
    return tags


def run_lengths(tags: np.ndarray) -> np.ndarray:
    """For each token, the length of the tagged span (a B and the I tags after it) it lies in; 0 outside."""
    lengths = np.zeros(len(tags), dtype=np.int64)
    starts = list(np.flatnonzero(tags == B)) + [len(tags)]
    for start, following in zip(starts, starts[1:], strict=False):
        end = start + 1
        while end < following and tags[end] == I:
            end += 1
        lengths[start:end] = end - start
    return lengths
