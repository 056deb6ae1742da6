"""The verifier's inputs: a span and its own line, clipped around the span, as one sentence pair."""

from propscope.model.verifier import CONTEXT_CHARS, encode_pairs, load_pair_tokenizer, pair_text


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


def test_pairs_are_truncated_and_typed(encoder_tokenizer_path: str):
    tokenizer = load_pair_tokenizer(encoder_tokenizer_path, max_tokens=12)
    ids, mask, types = encode_pairs(tokenizer, [("reckless", "a reckless plan " * 20), ("", "plain")])
    assert ids.shape == mask.shape == types.shape == (2, 12)
    assert mask[0].all() and 0 < mask[1].sum() < 12
    assert types[0, 0] == 0 and types[0, -1] == 1  # [CLS] opens the first text, [SEP] closes the second
    assert (ids[1][mask[1] == 0] == 0).all()
