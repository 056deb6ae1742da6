"""The verifier's inputs: a span and its own line, clipped around the span, as one sentence pair."""

from propscope.model.verifier import CONTEXT_CHARS, SPAN_CHARS, encode_pairs, load_pair_tokenizer, pair_text


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
