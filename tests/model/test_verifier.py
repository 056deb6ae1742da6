"""The verifier's inputs: a span and its own line, clipped around the span, as one sentence pair."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from propscope.model.verifier import (
    CONTEXT_CHARS,
    SPAN_CHARS,
    blend_naming,
    encode_pairs,
    load_pair_tokenizer,
    pair_text,
)


def test_the_pair_is_the_span_and_its_line():
    text = "Title here\n\nFirst line of text.\nThe reckless plan was shameful.\nLast line.\n"
    start = text.index("reckless")
    assert pair_text(text, start, start + len("reckless plan")) == ("reckless plan", "The reckless plan was shameful.")


def test_long_lines_are_clipped_around_the_span():
    text = "x " * 1000 + "SPAN" + " y" * 1000
    start = text.index("SPAN")
    span, context = pair_text(text, start, start + 4)
    assert span == "SPAN" and "SPAN" in context
    assert len(context) == 4 + 2 * CONTEXT_CHARS


def test_a_runaway_span_is_cut_before_tokenizing_and_reads_as_it_would_whole(encoder_tokenizer_path: str):
    text = "Lead line.\n" + "a reckless, shameful plan again " * 800 + "\nEnd."
    start, end = text.index("a reckless"), text.index("\nEnd.")  # a span of 25,600 characters on one line
    span, context = pair_text(text, start, end)
    assert span == text[start : start + SPAN_CHARS] and len(context) == SPAN_CHARS + CONTEXT_CHARS
    tokenizer = load_pair_tokenizer(encoder_tokenizer_path, max_tokens=64)
    cut = encode_pairs(tokenizer, [(span, context)])
    whole = encode_pairs(tokenizer, [(text[start:end], text[start:end])])  # the line is the span here
    assert all((c == w).all() for c, w in zip(cut, whole, strict=True))  # the same 64 word pieces


def test_pairs_are_truncated_and_typed(encoder_tokenizer_path: str):
    tokenizer = load_pair_tokenizer(encoder_tokenizer_path, max_tokens=12)
    ids, mask, types = encode_pairs(tokenizer, [("reckless", "a reckless plan " * 20), ("", "plain")])
    assert ids.shape == mask.shape == types.shape == (2, 12)
    assert mask[0].all() and 0 < mask[1].sum() < 12
    assert types[0, 0] == 0 and types[0, -1] == 1  # [CLS] opens the first text, [SEP] closes the second
    assert (ids[1][mask[1] == 0] == 0).all()


def _rows(draw, techniques: int, with_none: bool) -> np.ndarray:
    raw = draw(arrays(np.float64, (3, techniques + with_none), elements=st.floats(0.01, 1.0)))
    return (raw / raw.sum(axis=1, keepdims=True))[:, :techniques]


@given(st.data(), st.floats(0.0, 1.0))
def test_blended_naming_keeps_the_verifiers_no_technique_share_and_moves_towards_the_head(data, weight: float):
    head, verifier = _rows(data.draw, 4, False), _rows(data.draw, 4, True)
    blended = blend_naming(head, verifier, weight)
    np.testing.assert_allclose(blended.sum(axis=1), verifier.sum(axis=1), rtol=1e-9)  # "no technique" unchanged
    shares = blended / blended.sum(axis=1, keepdims=True)
    expected = (1 - weight) * verifier / verifier.sum(axis=1, keepdims=True) + weight * head
    np.testing.assert_allclose(shares, expected, rtol=1e-9, atol=1e-12)


def test_the_head_decides_a_close_call_between_the_verifiers_techniques():
    verifier = np.array([[0.30, 0.28, 0.02]])  # 0.4 for "no technique"
    head = np.array([[0.1, 0.8, 0.1]])
    assert blend_naming(head, verifier, 0.0).argmax() == 0
    blended = blend_naming(head, verifier, 0.5)
    assert blended.argmax() == 1 and np.isclose(blended.sum(), 0.6)
    assert np.allclose(blend_naming(head, np.zeros((1, 3)), 0.5), 0.0)  # a verifier sure of "none" stays sure
