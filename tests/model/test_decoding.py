"""Span decoding from per-token probabilities, on hand-made probabilities."""

import json
import re
import tempfile
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from propscope.errors import ModelError
from propscope.model.ensemble import load_model
from propscope.model.inference import Decoding, DetectedSpan, EncodedText, decode_spans, name_spans, read_decoding
from propscope.model.windows import Tokens
from propscope.pipeline.analyzer import model_directory

TEXT = "We saw a truly shameful and reckless plan, said critics today."


def encoded(probabilities: list[float], text: str = TEXT) -> EncodedText:
    words = [(m.start(), m.end()) for m in re.finditer(r"\w+|[^\w\s]", text)]
    assert len(words) == len(probabilities)
    tokens = Tokens(ids=np.zeros(len(words), dtype=np.int64), offsets=np.array(words, dtype=np.int64))
    return EncodedText(text, tokens, [], np.zeros((0, 0, 0)), np.array(probabilities, dtype=np.float32))


#            We   saw  a    truly shameful and  reckless plan ,    said critics today .
PROBS = [0.0, 0.0, 0.1, 0.6, 0.9, 0.2, 0.8, 0.7, 0.6, 0.1, 0.0, 0.0, 0.0]


def texts(decoding: Decoding, probabilities=PROBS) -> list[str]:
    return [TEXT[s.start : s.end] for s in decode_spans(encoded(probabilities), decoding)]


def test_threshold_runs_and_tidy_edges():
    assert texts(Decoding(threshold=0.5)) == ["truly shameful", "reckless plan"]


def test_small_gaps_are_joined():
    assert texts(Decoding(threshold=0.5, max_gap=1)) == ["truly shameful and reckless plan"]


def test_short_runs_are_dropped():
    assert texts(Decoding(threshold=0.75, min_tokens=2)) == []
    assert texts(Decoding(threshold=0.75, min_tokens=1)) == ["shameful", "reckless"]


def test_smoothing_fills_a_dip_between_confident_tokens():
    assert texts(Decoding(threshold=0.5, smoothing=3)) == ["truly shameful and reckless plan"]


def test_edges_clipped_by_smoothing_grow_back():
    #        We   saw  a    truly shameful and  reckless plan ,    said critics today .
    probs = [0.0, 0.0, 0.0, 0.0, 0.9, 0.9, 0.9, 0.9, 0.55, 0.0, 0.0, 0.0, 0.0]
    # smoothed, "plan" averages (0.9 + 0.55 + 0) / 3 < 0.5; its own 0.55 brings it back
    assert texts(Decoding(threshold=0.5, smoothing=3), probs) == ["shameful and reckless plan"]


def test_scores_are_mean_raw_probabilities_of_the_run():
    spans = decode_spans(encoded(PROBS), Decoding(threshold=0.5))
    assert [round(s.score, 4) for s in spans] == [0.75, round((0.8 + 0.7 + 0.6) / 3, 4)]


def test_a_span_needs_one_word_piece_at_the_peak():
    #        We   saw  a    truly shameful and  reckless plan ,    said critics today .
    probs = [0.0, 0.0, 0.0, 0.3, 0.35, 0.0, 0.3, 0.9, 0.3, 0.0, 0.0, 0.0, 0.0]
    assert texts(Decoding(threshold=0.25), probs) == ["truly shameful", "reckless plan"]
    # the low threshold gives "reckless plan" its full extent; "truly shameful" never rises above 0.35
    assert texts(Decoding(threshold=0.25, peak=0.6), probs) == ["reckless plan"]
    assert [s.peak for s in decode_spans(encoded(probs), Decoding(threshold=0.25))] == [
        np.float32(0.35).item(),
        np.float32(0.9).item(),
    ]


def test_a_threshold_gives_a_span_every_technique_that_reaches_it_and_drops_spans_with_none():
    first, second = DetectedSpan(0, 5, 0.8, 0.9), DetectedSpan(10, 20, 0.6, 0.7)
    probabilities = np.array([[0.45, 0.1, 0.7], [0.2, 0.3, 0.1]])
    both = Decoding(technique_threshold=0.4, extra_technique_threshold=0.4)
    assert name_spans([first, second], probabilities, both) == [(first, 2, 0.7), (first, 0, 0.45)]
    # a further technique needs the higher extra threshold; the most probable one only the first
    assert name_spans([first, second], probabilities, replace(both, extra_technique_threshold=0.5)) == [(first, 2, 0.7)]
    assert name_spans(
        [first, second], probabilities, replace(both, technique_threshold=0.25, extra_technique_threshold=0.5)
    ) == [
        (first, 2, 0.7),
        (second, 1, 0.3),
    ]
    # without a threshold: the most probable technique, its probability times the span's score
    named = name_spans([first, second], probabilities, Decoding())
    assert [(span, k) for span, k, _ in named] == [(first, 2), (second, 1)]
    assert np.allclose([raw for _, _, raw in named], [0.8 * 0.7, 0.6 * 0.3])


LINES = "Fear works.\nThe council will ruin us all.\nA calm day."
#        Fear works .    The  council will ruin us   all  .    A    calm day  .
AT_BREAK = [0.8, 0.7, 0.6, 0.6, 0.7, 0.8, 0.8, 0.7, 0.7, 0.0, 0.0, 0.0, 0.0, 0.0]


def line_texts(probabilities: list[float], decoding: Decoding) -> list[str]:
    return [LINES[s.start : s.end] for s in decode_spans(encoded(probabilities, LINES), decoding)]


def test_a_span_ends_at_a_line_break_and_leaves_no_stray_word_behind():
    assert line_texts(AT_BREAK, Decoding(threshold=0.5)) == ["Fear works.", "The council will ruin us all"]
    stray = [0.8, 0.7, 0.6, 0.6, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]  # "works.\nThe"
    assert line_texts(stray, Decoding(threshold=0.5)) == ["Fear works."]


def test_a_span_crosses_a_line_break_where_the_model_is_confident_it_goes_on():
    sure = [0.8, 0.9, 0.95, 0.95, 0.9, 0.8, 0.8, 0.7, 0.7, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert line_texts(sure, Decoding(threshold=0.5)) == ["Fear works.\nThe council will ruin us all"]
    assert len(line_texts(sure, Decoding(threshold=0.5, line_break=0.99))) == 2


QUOTED = 'They chanted "Clean streets, safe streets" all day.'
#           They chanted "   Clean streets ,   safe streets "   all  day  .
CUT_SHORT = [0.0, 0.1, 0.2, 0.9, 0.8, 0.6, 0.6, 0.3, 0.2, 0.0, 0.0, 0.0]


def test_a_quoted_slogan_is_never_cut_before_its_last_word():
    spans = decode_spans(encoded(CUT_SHORT, QUOTED), Decoding(threshold=0.5))
    assert [QUOTED[s.start : s.end] for s in spans] == ["Clean streets, safe streets"]
    far = decode_spans(encoded(CUT_SHORT, QUOTED), Decoding(threshold=0.5, quote_words=0))
    assert [QUOTED[s.start : s.end] for s in far] == ["Clean streets, safe"]


@given(
    st.builds(
        Decoding,
        threshold=st.floats(0, 1),
        smoothing=st.integers(1, 5),
        max_gap=st.integers(0, 6),
        peak=st.floats(0, 1),
        technique_threshold=st.floats(0, 1),
    )
)
def test_a_decoding_is_read_back_from_meta_json_alone(decoding):
    with tempfile.TemporaryDirectory() as folder:  # no ONNX file: only the meta is read
        (Path(folder) / "meta.json").write_text(json.dumps({"decoding": asdict(decoding)}), encoding="utf-8")
        assert read_decoding(Path(folder)) == decoding


def test_the_shipped_default_decoding_reads_as_its_model_does():
    folder = model_directory("default")
    assert read_decoding(folder) == load_model(folder).decoding


@pytest.mark.parametrize("meta", [None, "{", '{"decoding": {"threshhold": 0.5}}', '{"decoding": [0.5]}', "[]"])
def test_a_missing_or_bad_decoding_is_named(tmp_path, meta):
    if meta is not None:
        (tmp_path / "meta.json").write_text(meta, encoding="utf-8")
    with pytest.raises(ModelError, match="no usable (decoding in its )?meta.json"):
        read_decoding(tmp_path)
