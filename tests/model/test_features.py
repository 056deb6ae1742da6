import numpy as np
import pytest

from propscope.model.features import FEATURE_NAMES, ArticleSignals


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
