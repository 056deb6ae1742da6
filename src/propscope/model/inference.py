"""Running a trained PropScope model with ONNX Runtime: no torch at analysis time.

A model folder holds ``encoder.onnx`` (windows -> BIO probabilities and hidden states),
``classifier.npz`` (the technique classifier over pooled span states), ``tokenizer.json``,
``meta.json`` and ``MODEL_CARD.md``; where it also holds ``verifier.onnx``, that names techniques instead.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from propscope.errors import ModelError
from propscope.model.assembly import ENCODER_DELTA_FILE, TOKENIZER_FILE, assemble
from propscope.model.calibration import Calibration
from propscope.model.features import ArticleSignals
from propscope.model.verifier import find_verifier, name_techniques
from propscope.model.windows import (
    O,
    Tokens,
    Window,
    WindowTokenizer,
    merge_windows,
    span_windows,
)

_WORD = re.compile(r"\w+")
ENCODER_FILE = "encoder.onnx"
CLASSIFIER_FILE = "classifier.npz"
META_FILE = "meta.json"
# One window per ONNX run: its attention scores stay in cache. Measured on 2 cores: 1.14x (fp32) to 1.37x (int8)
# the throughput of 16 windows per run on one thread, and no slower on two.
WINDOWS_PER_RUN = 1


def read_meta(directory: Path) -> dict[str, Any]:
    """A model folder's meta.json: its settings, decoding and calibration, or the members of an ensemble."""
    try:
        meta = json.loads((Path(directory) / META_FILE).read_text("utf-8"))
    except (OSError, ValueError) as err:
        raise ModelError(f"{directory}: no usable {META_FILE} ({err})") from None
    if not isinstance(meta, dict):
        raise ModelError(f"{directory}: no usable {META_FILE} (not a JSON object)")
    return meta


@dataclass(frozen=True)
class EncodedText:
    """One text run through the encoder: per-window hidden states, per-token span probabilities."""

    text: str
    tokens: Tokens
    windows: list[Window]
    hidden: np.ndarray  # [windows, positions, hidden]
    span_probability: np.ndarray  # [tokens]: 1 - P(O), from the windows that see the token (``merge_windows``)


@dataclass(frozen=True)
class DetectedSpan:
    start: int
    end: int
    score: float  # mean span probability of its word pieces
    peak: float  # the highest one


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def pool_span(hidden: np.ndarray, mask_length: int, first: int, last: int) -> np.ndarray:
    """Span mean and window mean of one window's hidden states.

    Token ranges are relative to the window; positions in ``hidden`` are one later, after [CLS].
    """
    return np.concatenate([hidden[first + 1 : last + 1].mean(axis=0), hidden[1 : mask_length - 1].mean(axis=0)])


class TechniqueClassifier:
    """A two-layer perceptron over [span mean, window mean, surface features], in numpy."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.w1, self.b1 = weights["w1"], weights["b1"]
        self.w2, self.b2 = weights["w2"], weights["b2"]

    def probabilities(self, inputs: np.ndarray) -> np.ndarray:
        hidden = np.maximum(inputs @ self.w1 + self.b1, 0.0)
        return softmax(hidden @ self.w2 + self.b2)


def _tidy_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Whole words, without the white space or clause punctuation a word piece may bring at an edge."""
    while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < len(text) and text[end - 1].isalnum() and text[end].isalnum():
        end += 1
    while start < end and (text[start].isspace() or text[start] in ",;:.!?)"):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;:("):
        end -= 1
    return start, end


@dataclass(frozen=True)
class Decoding:
    """How per-token span probabilities become spans; chosen on dev articles by the training recipe.

    Probabilities are averaged over ``smoothing`` neighbouring tokens, tokens reaching ``threshold``
    are inside, inside runs at most ``max_gap`` tokens apart join, and runs shorter than
    ``min_tokens`` are dropped: the span metric punishes scattered fragments. A kept run then grows
    over neighbours whose own probability reaches the threshold, so smoothing does not clip its edges.
    Last, a span needs one word piece at ``peak`` or above: a low threshold finds a passage's full
    extent, but a run that never rises above it is mostly noise.

    Edges: a run is cut at a line break (in the corpus, a sentence or paragraph end) unless the word pieces on
    both sides reach ``line_break`` — the model is then confident the passage goes on —, and a piece so cut off
    needs ``piece_words`` words, so that no stray word of the next line ("works.\nThe") stays. A span that opens
    right after a quotation mark runs on to the closing one when at most ``quote_words`` words are left
    before it, so a quoted slogan is never cut before its last word. On the 74 validation articles this took
    runs across a line break from 99 of 1,389 to 1, at a span F1 change of -0.0017 and a full-task change of
    +0.0025 (both within the spread of the yardstick's folds; bench/span_edges.py).
    """

    threshold: float = 0.5
    smoothing: int = 1
    max_gap: int = 0
    min_tokens: int = 1
    peak: float = 0.0
    # a span's most probable technique needs this (the verifier also gives "no technique" its share, so a span
    # may get none); 0: the single most probable technique of the tagger's head, always
    technique_threshold: float = 0.0
    # each further technique of the same passage needs this: on the 74 validation articles (verifier trained on
    # the training split) full-task F1 was 0.2243 with one technique per passage, 0.2213 with every one over
    # 0.15, and 0.2281-0.2301 with further ones over 0.20-0.30 (bench/multi_label.py)
    extra_technique_threshold: float = 0.25
    line_break: float = 0.9
    piece_words: int = 2
    quote_words: int = 4
    # a sentence the marked passages leave (almost) alone is marked whole where the verifier gives one technique this
    # much (0: never): 15% of the corpus' spans are (nearly) a whole sentence, which a token tagger often misses
    sentence_threshold: float = 0.0

    @classmethod
    def of(cls, meta: dict[str, Any]) -> Decoding:
        """The decoding a model's meta.json records (the defaults where it records none)."""
        return cls(**meta.get("decoding", {}))


def read_decoding(directory: Path) -> Decoding:
    """A model folder's decoding from its meta.json alone: no network is loaded, so the folder's ONNX files need
    not be there (a yardstick read with a shipped model's decoding, in a checkout sent without them)."""
    meta = read_meta(directory)
    try:
        return Decoding.of(meta)
    except (ValueError, TypeError, AttributeError) as err:
        raise ModelError(f"{directory}: no usable decoding in its {META_FILE} ({err})") from None


def name_spans(
    detected: list[DetectedSpan], probabilities: np.ndarray, decoding: Decoding
) -> list[tuple[DetectedSpan, int, float]]:
    """(span, technique index, raw score) for every technique a detected span receives.

    With a technique threshold the raw score is the technique's own probability; without one, the span's mean
    span probability times its most probable technique's.
    """
    named = []
    extra = max(decoding.technique_threshold, decoding.extra_technique_threshold)
    for span, row in zip(detected, probabilities, strict=True):
        best = int(row.argmax())
        if not decoding.technique_threshold:
            named.append((span, best, span.score * float(row[best])))
        elif row[best] >= decoding.technique_threshold:
            named.append((span, best, float(row[best])))
            named += [(span, int(k), float(row[k])) for k in np.flatnonzero(row >= extra) if k != best]
    return named


def decode_spans(encoded: EncodedText, decoding: Decoding) -> list[DetectedSpan]:
    raw = probability = encoded.span_probability
    if decoding.smoothing > 1 and len(probability):
        kernel = np.ones(decoding.smoothing) / decoding.smoothing
        probability = np.convolve(probability, kernel, mode="same")
    runs: list[tuple[int, int]] = []
    for index in np.flatnonzero(probability >= decoding.threshold):
        if runs and index - runs[-1][1] <= decoding.max_gap:
            runs[-1] = (runs[-1][0], index + 1)
        else:
            runs.append((index, index + 1))
    offsets, text = encoded.tokens.offsets, encoded.text
    spans = []
    for first, last in runs:
        if last - first < decoding.min_tokens:
            continue
        while first > 0 and raw[first - 1] >= decoding.threshold:
            first -= 1
        while last < len(raw) and raw[last] >= decoding.threshold:
            last += 1
        pieces = _cut_at_line_breaks(encoded, first, last, decoding.line_break)
        for piece_first, piece_last in pieces:
            inside = raw[piece_first:piece_last]
            peak = float(inside.max())
            start, end = _tidy_bounds(text, int(offsets[piece_first, 0]), int(offsets[piece_last - 1, 1]))
            start, end = _whole_quote(text, start, end, decoding.quote_words)
            words = len(_WORD.findall(text[start:end]))
            if peak >= decoding.peak and words and (len(pieces) == 1 or words >= decoding.piece_words):
                spans.append(DetectedSpan(start, end, float(inside.mean()), peak))
    return spans


def _cut_at_line_breaks(encoded: EncodedText, first: int, last: int, confident: float) -> list[tuple[int, int]]:
    """Token ranges of ``[first, last)`` split at every line break the model is not confident it spans."""
    offsets, text, raw = encoded.tokens.offsets, encoded.text, encoded.span_probability
    pieces, start = [], first
    for index in range(first + 1, last):
        between = text[offsets[index - 1, 1] : offsets[index, 0]]
        if "\n" in between and min(raw[index - 1], raw[index]) < confident:
            pieces.append((start, index))
            start = index
    return [*pieces, (start, last)]


_CLOSING = {'"': '"', "“": "”", "‘": "’", "«": "»"}


def _whole_quote(text: str, start: int, end: int, max_words: int) -> tuple[int, int]:
    """Run a span that opens right after a quotation mark on to the closing mark, if it is near and on the line."""
    closing = _CLOSING.get(text[start - 1]) if start > 0 else None
    if closing is None:
        return start, end
    close = text.find(closing, end)
    line_end = text.find("\n", end)
    if close < 0 or (0 <= line_end < close) or len(_WORD.findall(text[end:close])) > max_words:
        return start, end
    return _tidy_bounds(text, start, close)


class OnnxModel:
    def __init__(self, directory: Path, threads: int | None = None) -> None:
        import onnxruntime as ort

        self.directory = Path(directory)
        self.meta: dict[str, Any] = read_meta(self.directory)
        try:
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads or int(os.environ.get("PROPSCOPE_THREADS", "0"))
            options.inter_op_num_threads = 1
            encoder = self.encoder_folder()
            self.session = ort.InferenceSession(
                str(encoder / ENCODER_FILE), options, providers=["CPUExecutionProvider"]
            )
            with np.load(self.directory / CLASSIFIER_FILE) as weights:
                self.classifier = TechniqueClassifier(dict(weights))
            self.tokenizer = WindowTokenizer.from_file(
                str(encoder / TOKENIZER_FILE), self.meta["window_tokens"], self.meta["stride"]
            )
            self.verifier = find_verifier(self.directory, self.meta, threads)
        except (OSError, KeyError, ValueError) as err:
            raise ModelError(f"{self.directory}: not a usable PropScope model ({err})") from None
        settings = self.meta.get("config", {}).get("model", {})
        self.weighted_windows = settings.get("window_merge", "centre") == "weighted"
        self.techniques: tuple[str, ...] = tuple(self.meta["techniques"])
        self.decoding = Decoding.of(self.meta)
        self.calibration = Calibration(**self.meta.get("calibration", {}))

    def encoder_folder(self) -> Path:
        """Where the tagger's network and tokenizer are: the model folder, or for a tagger shipped as a delta over an
        installed encoder, the folder it is assembled into (on first use)."""
        delta = self.directory / ENCODER_DELTA_FILE
        return assemble(delta) if delta.exists() and not (self.directory / ENCODER_FILE).exists() else self.directory

    @property
    def name(self) -> str:
        return str(self.meta.get("name", self.directory.name))

    @property
    def multi_label(self) -> bool:
        """Whether a verifier names techniques (a span may then get several, or none) rather than the tagger's head."""
        return self.verifier is not None

    def encode(self, text: str) -> EncodedText:
        tokens = self.tokenizer.tokenize(text)
        windows = self.tokenizer.windows(len(tokens))
        hidden_parts, bio_parts = [], []
        for first in range(0, len(windows), WINDOWS_PER_RUN):
            run = windows[first : first + WINDOWS_PER_RUN]
            input_ids, mask = self.tokenizer.batch(tokens, run)
            bio, hidden = self.session.run(None, {"input_ids": input_ids, "attention_mask": mask})
            width = self.tokenizer.content + 2
            pad = ((0, 0), (0, width - hidden.shape[1]), (0, 0))
            hidden_parts.append(np.pad(hidden, pad))
            bio_parts.append(np.pad(bio, pad))
        span_probability = np.zeros(len(tokens), dtype=np.float32)
        if windows:
            inside = 1.0 - np.concatenate(bio_parts)[..., O]
            span_probability = merge_windows(windows, inside, len(tokens), self.weighted_windows)
        hidden_all = np.concatenate(hidden_parts) if hidden_parts else np.zeros((0, 0, 0), np.float32)
        return EncodedText(text, tokens, windows, hidden_all, span_probability)

    def detect(self, encoded: EncodedText) -> list[DetectedSpan]:
        return decode_spans(encoded, self.decoding)

    def classify(self, encoded: EncodedText, spans: list[tuple[int, int]]) -> np.ndarray:
        """Technique probabilities, one row per character span, columns in ``self.techniques`` order."""
        if not spans:
            return np.zeros((0, len(self.techniques)), dtype=np.float32)
        if self.verifier is None:
            return self.head_probabilities(encoded, spans)
        head = partial(self.head_probabilities, encoded, spans)
        return name_techniques(self.verifier, self.meta, encoded.text, spans, head)

    def head_probabilities(self, encoded: EncodedText, spans: list[tuple[int, int]]) -> np.ndarray:
        """The tagger's own technique head on each span (its windows' pooled states): techniques only, no "none"."""
        signals = ArticleSignals(encoded.text)
        rows = []
        owners: list[tuple[int, float]] = []  # (span, vote) of every row
        for number, (start, end) in enumerate(spans):
            first, last = encoded.tokens.token_range(start, end)
            if first >= last:  # a span with no word pieces (only spaces): borrow the nearest token
                first = min(first, len(encoded.tokens) - 1)
                last = first + 1
            features = signals.features(start, end)
            for index, vote in span_windows(encoded.windows, first, last, self.weighted_windows):
                window = encoded.windows[index]
                pooled = pool_span(
                    encoded.hidden[index],
                    window.end - window.start + 2,
                    first - window.start,
                    min(last, window.end) - window.start,
                )
                rows.append(np.concatenate([pooled, features]))
                owners.append((number, vote))
        probabilities = self.classifier.probabilities(np.stack(rows).astype(np.float32))
        votes = np.zeros((len(spans), len(rows)), dtype=np.float32)
        for row, (number, vote) in enumerate(owners):
            votes[number, row] = vote
        return (votes @ probabilities) / votes.sum(axis=1, keepdims=True)
