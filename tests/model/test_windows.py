import numpy as np
import pytest
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import Whitespace
from tokenizers.processors import TemplateProcessing

from propscope.model.windows import (
    B,
    I,
    O,
    Window,
    WindowTokenizer,
    best_window,
    bio_tags,
    merge_windows,
    owner_windows,
    run_lengths,
    span_windows,
)


@pytest.fixture
def tokenizer(encoder_tokenizer_path) -> WindowTokenizer:
    return WindowTokenizer.from_file(encoder_tokenizer_path, window_tokens=10, stride=4)


def test_windows_cover_every_token_and_end_at_the_text_end(tokenizer):
    windows = tokenizer.windows(23)
    assert windows[0] == Window(0, 8)
    assert windows[-1].end == 23
    covered = set()
    for w in windows:
        covered.update(range(w.start, w.end))
    assert covered == set(range(23))
    assert tokenizer.windows(5) == [Window(0, 5)]
    assert tokenizer.windows(0) == []


def test_each_token_owned_by_its_most_central_window():
    windows = [Window(0, 8), Window(4, 12)]
    owner = owner_windows(windows, 12)
    assert list(owner[:4]) == [0, 0, 0, 0]
    assert list(owner[8:]) == [1, 1, 1, 1]
    assert owner[5] == 0 and owner[6] == 1


def test_best_window_prefers_context_on_both_sides():
    windows = [Window(0, 8), Window(4, 12), Window(8, 16)]
    assert best_window(windows, 6, 8) == 1
    assert best_window(windows, 0, 2) == 0
    assert best_window(windows, 2, 14) == 0  # longer than any window: the one holding its start


def test_offsets_point_into_the_original_text(tokenizer):
    text = "Title\n\nThe Café’s RECKLESS plan!"
    tokens = tokenizer.tokenize(text)
    pieces = [text[s:e] for s, e in tokens.offsets]
    assert "RECKLESS" in "".join(pieces) or any(p.startswith("RECK") for p in pieces)
    first, last = tokens.token_range(text.index("RECKLESS"), text.index("RECKLESS") + 8)
    assert text[tokens.offsets[first, 0] : tokens.offsets[last - 1, 1]] == "RECKLESS"


def test_bio_tags_mark_merged_spans(tokenizer):
    text = "one two three four five"
    tokens = tokenizer.tokenize(text)
    tags = bio_tags(tokens, [(4, 13), (8, 13)])
    assert list(tags) == [O, B, I, O, O]


def test_batch_adds_special_tokens_and_pads(tokenizer):
    tokens = tokenizer.tokenize("one two three four five six seven eight nine ten eleven")
    windows = tokenizer.windows(len(tokens))
    ids, mask = tokenizer.batch(tokens, windows)
    assert ids.shape == (len(windows), 10)
    assert (ids[:, 0] == tokenizer.cls_id).all()
    assert np.array_equal(mask.sum(axis=1), [w.end - w.start + 2 for w in windows])


def test_span_windows_vote_where_they_hold_the_whole_span():
    windows = [Window(0, 8), Window(4, 12), Window(8, 16)]
    assert span_windows(windows, 6, 8, weighted=False) == [(1, 1.0)]
    # tokens 5-7 lie whole in the first window (1 token from its end) and the second (1 from its start)
    assert span_windows(windows, 5, 7, weighted=True) == [(0, 2.0), (1, 2.0)]
    assert span_windows(windows, 9, 11, weighted=True) == [(1, 2.0), (2, 2.0)]
    assert span_windows(windows, 2, 14, weighted=True) == [(0, 1.0)]  # no window holds it: its start's best


def test_merged_windows_vote_by_distance_from_their_edges():
    windows = [Window(0, 4), Window(2, 6)]
    values = np.array([[9, 0.1, 0.2, 0.3, 0.4, 9], [9, 0.8, 0.8, 0.8, 0.8, 9]])  # [CLS] value 9 never read
    central = merge_windows(windows, values, 6, weighted=False)
    assert central.tolist() == pytest.approx([0.1, 0.2, 0.3, 0.8, 0.8, 0.8])
    weighted = merge_windows(windows, values, 6, weighted=True)
    # token 2: margins 2 (first window) and 1 (second); token 3: 1 and 2
    assert weighted.tolist() == pytest.approx([0.1, 0.2, (2 * 0.3 + 0.8) / 3, (0.4 + 2 * 0.8) / 3, 0.8, 0.8])


def test_run_lengths_give_each_token_its_spans_length():
    tags = np.array([O, B, I, I, O, B, B, I, O])
    assert run_lengths(tags).tolist() == [0, 3, 3, 3, 0, 1, 2, 2, 0]
    assert run_lengths(np.array([], dtype=np.int64)).tolist() == []


def framed_tokenizer(single: str) -> Tokenizer:
    """A word-level tokenizer whose template is ``single``; its vocabulary also holds a [CLS] it does not use."""
    vocab = {"[CLS]": 0, "<s>": 1, "</s>": 2, "<pad>": 3, "[UNK]": 4, "jobs": 5, "first": 6}
    tokenizer = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    tokenizer.post_processor = TemplateProcessing(single=single, special_tokens=[("<s>", 1), ("</s>", 2)])
    tokenizer.enable_padding(pad_id=3, pad_token="<pad>")
    return tokenizer


def test_windows_are_framed_and_padded_as_the_encoder_was_trained():
    tokenizer = WindowTokenizer(framed_tokenizer("<s> $A </s>"), window_tokens=6, stride=2)
    tokens = tokenizer.tokenize("jobs first jobs first jobs")
    assert list(tokens.ids) == [5, 6, 5, 6, 5]  # no framing inside the text
    ids, mask = tokenizer.batch(tokens, [Window(0, 4), Window(3, 5)])
    assert ids.tolist() == [[1, 5, 6, 5, 6, 2], [1, 6, 5, 2, 3, 3]]
    assert mask.tolist() == [[1] * 6, [1, 1, 1, 1, 0, 0]]


def test_a_tokenizer_without_an_opening_and_a_close_is_refused():
    with pytest.raises(ValueError, match="1 special tokens"):
        WindowTokenizer(framed_tokenizer("$A </s>"), window_tokens=6, stride=2)
