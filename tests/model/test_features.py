import numpy as np
import pytest

from propscope.model.features import FEATURE_NAMES, TOKEN_FEATURE_NAMES, ArticleSignals, token_features


def feature(signals: ArticleSignals, start: int, end: int, name: str) -> float:
    return float(signals.features(start, end)[FEATURE_NAMES.index(name)])


def test_repeated_phrase_is_seen_beyond_the_window():
    text = "Headline\n\nJobs first. " + "Filler words here. " * 50 + "We say jobs first!"
    signals = ArticleSignals(text)
    start = text.index("Jobs first")
    assert feature(signals, start, start + 10, "log_repeats_of_phrase") == pytest.approx(np.log1p(1))
    other = text.index("Filler")
    assert feature(signals, start, start + 4, "share_of_words_repeated") == 1.0
    assert feature(signals, other, other + 6, "log_repeats_of_phrase") > 0


def test_casing_and_punctuation_signals():
    text = 'Title\n\nThey said "STOP NOW!" and left'
    signals = ArticleSignals(text)
    start = text.index("STOP")
    assert feature(signals, start, start + 8, "uppercase_share") == 1.0
    assert feature(signals, start, start + 8, "quoted") == 1.0
    assert feature(signals, start, start + 8, "exclamation") == 1.0
    assert feature(signals, 0, 5, "in_title") == 1.0
    assert feature(signals, start, start + 8, "in_title") == 0.0
    assert signals.features(start, start + 8).dtype == np.float32


def token_feature(text: str, offsets: list[tuple[int, int]], name: str) -> list[float]:
    values = token_features(text, np.array(offsets, dtype=np.int64).reshape(-1, 2))
    return values[:, TOKEN_FEATURE_NAMES.index(name)].tolist()


def test_token_signals_count_repeats_across_the_whole_article():
    text = "Title\n\nJobs first. " + "Filler here. " * 40 + "\nWe want jobs first!"
    first = text.index("Jobs")
    pieces = [(first, first + 2), (first + 2, first + 4), (text.index("want"), text.index("want") + 4)]
    assert token_feature(text, pieces, "log_repeats_of_word") == pytest.approx([np.log1p(1), np.log1p(1), 0.0])
    assert token_feature(text, pieces, "log_repeats_of_bigram")[:2] == pytest.approx([np.log1p(1)] * 2)
    assert token_feature(text, pieces, "capitalised") == [1.0, 1.0, 0.0]  # both pieces of "Jobs"
    assert token_feature(text, pieces, "starts_line") == [1.0, 1.0, 0.0]
    assert token_feature(text, pieces, "line_has_exclamation") == [0.0, 0.0, 1.0]


def test_token_signals_of_casing_quotes_and_punctuation():
    text = 'HEADLINE here\n\nThey said "STOP NOW" and left?\nNo.'
    words = ["HEADLINE", "STOP", "and", "No"]
    offsets = [(text.index(w), text.index(w) + len(w)) for w in words] + [(text.index('"'), text.index('"') + 1)]
    assert token_feature(text, offsets, "all_caps") == [1.0, 1.0, 0.0, 0.0, 0.0]
    assert token_feature(text, offsets, "inside_quotes") == [0.0, 1.0, 0.0, 0.0, 0.0]
    assert token_feature(text, offsets, "line_is_question") == [0.0, 1.0, 1.0, 0.0, 0.0]
    assert token_feature(text, offsets, "in_title") == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert token_features(text, np.zeros((0, 2), dtype=np.int64)).shape == (0, len(TOKEN_FEATURE_NAMES))
