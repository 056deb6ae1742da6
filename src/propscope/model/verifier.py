"""The technique verifier at analysis time: one ONNX network over (span, its line) sentence pairs.

The tagger's windows see a passage among 250 word pieces of other text; the verifier reads the passage
itself against its own line, which is what generalised to unseen articles when naming techniques. It
answers, per technique, how likely the passage is propaganda of that technique, so it also weeds out
candidate spans that are none.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from propscope.errors import ModelError
from propscope.model.assembly import (
    TOKENIZER_FILE,
    VERIFIER_DELTA_FILE,
    VERIFIER_FILE,
    VERIFIER_TOKENIZER_FILE,
    assemble,
)
from propscope.model.features import ArticleSignals, line_bounds

CONTEXT_CHARS = 400  # of the line on either side of the span: the tokenizer truncates further
# The pair keeps some 60 word pieces, the first of each text; a longer span is cut here before tokenizing, whose
# truncation of a pair takes time that grows with the product of their lengths (a 30,000-character span took 1.5 s).
# Corpus spans and lines are under 850 characters, so only runaway spans (a whole repetitive article) are cut.
SPAN_CHARS = 2_000
PAIRS_PER_RUN = 8  # pairs sorted by length, so each run pads little


def pair_text(text: str, start: int, end: int) -> tuple[str, str]:
    """The span and the line (or lines) holding it, clipped around the span on long lines."""
    first, last = line_bounds(text, start, end)
    end = min(end, start + SPAN_CHARS)
    first, last = max(first, start - CONTEXT_CHARS), min(last, end + CONTEXT_CHARS)
    return text[start:end], text[first:last]


def load_pair_tokenizer(path: Path, max_tokens: int):
    """The encoder's tokenizer, truncating pairs to ``max_tokens`` (the longer text first)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_tokens, strategy="longest_first")
    return tokenizer


def encode_pairs(tokenizer, pairs: list[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``input_ids``, ``attention_mask`` and ``token_type_ids``, padded to the longest pair."""
    return pad_encodings(tokenizer.encode_batch(pairs))


def pad_encodings(encodings: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tokenizer encodings as ``encode_pairs`` returns them: training tokenises its pairs once and pads each batch."""
    width = max(len(e.ids) for e in encodings)
    ids, mask, types = (np.zeros((len(encodings), width), dtype=np.int64) for _ in range(3))
    for row, e in enumerate(encodings):
        n = len(e.ids)
        ids[row, :n], mask[row, :n], types[row, :n] = e.ids, 1, e.type_ids
    return ids, mask, types


class Verifier:
    def __init__(self, directory: Path, tokenizer_file: Path, max_tokens: int, threads: int | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or int(os.environ.get("PROPSCOPE_THREADS", "0"))
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(directory / VERIFIER_FILE), options, providers=["CPUExecutionProvider"])
        self.tokenizer = load_pair_tokenizer(tokenizer_file, max_tokens)
        self.inputs = {i.name for i in self.session.get_inputs()}  # MPNet's graph takes no token types

    def probabilities(self, text: str, spans: list[tuple[int, int]]) -> np.ndarray:
        """Per span, the probability of every technique (columns in the model's order); what they leave of 1 is
        the probability of no technique."""
        signals = ArticleSignals(text)
        pairs = [pair_text(text, s, e) for s, e in spans]
        # pairs of like length run together, so that few positions are padding
        order = sorted(range(len(spans)), key=lambda k: len(pairs[k][0]) + len(pairs[k][1]))
        rows = np.zeros((len(spans), 0), dtype=np.float32)
        for first in range(0, len(order), PAIRS_PER_RUN):
            run = order[first : first + PAIRS_PER_RUN]
            ids, mask, types = encode_pairs(self.tokenizer, [pairs[k] for k in run])
            features = np.stack([signals.features(*spans[k]) for k in run])
            inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types, "features": features}
            probabilities = self.session.run(None, {k: v for k, v in inputs.items() if k in self.inputs})[0]
            if not rows.shape[1]:
                rows = np.zeros((len(spans), probabilities.shape[1]), dtype=np.float32)
            rows[run] = probabilities
        return rows


def blend_naming(head: np.ndarray, verifier: np.ndarray, weight: float) -> np.ndarray:
    """Techniques named by the verifier and the tagger's head together: ``weight`` of the head's distribution and the
    rest of the verifier's shares among techniques, scaled back to what the verifier gives techniques in all, so its
    "no technique" share stays its own. The two read a passage differently (the span and its line against the
    passage among 250 word pieces), and averaged they named better than either (bench/RESULTS.md)."""
    named = verifier.sum(axis=1, keepdims=True)
    shares = verifier / np.maximum(named, np.finfo(np.float32).tiny)
    return ((1.0 - weight) * shares + weight * head) * named


def name_techniques(
    verifier: Verifier, meta: dict, text: str, spans: list[tuple[int, int]], head: Callable[[], np.ndarray]
) -> np.ndarray:
    """The techniques a model with a verifier gives ``spans``: the verifier's, blended with the tagger head's (``head``,
    computed only then) where the model's ``[verifier] tagger_weight`` asks for it."""
    named = verifier.probabilities(text, spans)
    weight = float(meta.get("verifier", {}).get("tagger_weight", 0.0))
    return blend_naming(head(), named, weight) if weight and spans else named


def verifier_digest(directory: Path) -> str:
    """Identifies a verifier network a model names techniques with from another folder (``verifier_from``)."""
    try:
        return hashlib.sha256((directory / VERIFIER_FILE).read_bytes()).hexdigest()[:16]
    except OSError as err:
        raise ModelError(f"{directory}: no verifier to name techniques with ({err})") from None


def shared_verifier_folder(directory: Path, meta: dict) -> Path:
    """The folder whose verifier a model names techniques with (``meta["verifier_from"]``, relative to the model's),
    checked to be the network its choices were made for."""
    folder = (directory / meta["verifier_from"]).resolve()
    if verifier_digest(folder) != meta.get("verifier_digest"):
        raise ModelError(
            f"{directory}: the verifier in {folder} changed since this model was built; retrain it or restore that one"
        )
    return folder


def find_verifier(directory: Path, meta: dict, threads: int | None = None) -> Verifier | None:
    """The verifier a model names techniques with, if any: ``verifier.onnx`` in its folder (or in the folder its
    meta.json names) reading the tokenizer beside it (its own where its encoder is not the tagger's), or a delta over
    an installed encoder, assembled on first use, with that encoder's tokenizer."""
    if meta.get("verifier_from"):
        directory = shared_verifier_folder(directory, meta)
    if (directory / VERIFIER_FILE).exists():
        own = directory / VERIFIER_TOKENIZER_FILE
        tokenizer = own if own.exists() else directory / TOKENIZER_FILE
        return Verifier(directory, tokenizer, meta["verifier"]["max_tokens"], threads)
    if (directory / VERIFIER_DELTA_FILE).exists():
        folder = assemble(directory / VERIFIER_DELTA_FILE)
        return Verifier(folder, folder / TOKENIZER_FILE, meta["verifier"]["max_tokens"], threads)
    return None
