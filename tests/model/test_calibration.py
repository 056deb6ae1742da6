import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from propscope.corpus import Label
from propscope.document import Span
from propscope.model.calibration import Calibration, auroc, expected_calibration_error, fit_platt, span_outcomes


def test_ece_by_hand():
    # bin [0.1, 0.2): confidence .15, accuracy .5 -> gap .35 over 2 spans; bin [0.9, 1]: .95 vs 1 -> .05 over 2
    scores = np.array([0.1, 0.2 - 1e-9, 0.9, 1.0])
    correct = np.array([True, False, True, True])
    expected = (2 * abs(0.5 - (0.1 + 0.2 - 1e-9) / 2) + 2 * abs(1.0 - 0.95)) / 4
    assert expected_calibration_error(scores, correct) == pytest.approx(expected)
    assert expected_calibration_error(np.array([]), np.array([], dtype=bool)) == 0.0


def test_platt_scaling_recovers_a_known_curve_and_lowers_ece():
    rng = np.random.default_rng(0)
    raw = rng.uniform(0.01, 0.99, 20_000)
    truth = Calibration(slope=0.5, intercept=-1.0)
    correct = rng.uniform(size=raw.size) < truth.apply(raw)
    fitted = fit_platt(raw, correct)
    assert fitted.slope == pytest.approx(0.5, abs=0.05)
    assert fitted.intercept == pytest.approx(-1.0, abs=0.05)
    assert expected_calibration_error(fitted.apply(raw), correct) < expected_calibration_error(raw, correct) / 3


def test_the_peak_enters_the_curve_and_ranks_spans_the_raw_score_cannot():
    rng = np.random.default_rng(1)
    raw, peaks = rng.uniform(0.01, 0.99, 20_000), rng.uniform(0.5, 0.99, 20_000)
    truth = Calibration(slope=0.4, intercept=-2.0, peak_slope=0.8)
    correct = rng.uniform(size=raw.size) < truth.apply(raw, peaks)
    fitted = fit_platt(raw, correct, peaks)
    assert (fitted.slope, fitted.intercept, fitted.peak_slope) == pytest.approx((0.4, -2.0, 0.8), abs=0.1)
    assert auroc(fitted.apply(raw, peaks), correct) > auroc(fit_platt(raw, correct).apply(raw), correct) + 0.02
    assert fit_platt(raw, correct).peak_slope == 0.0  # without peaks: the raw score alone, as older models


def test_identity_by_default():
    scores = np.array([0.2, 0.5, 0.8])
    assert np.allclose(Calibration().apply(scores), scores)


def test_a_span_is_correct_where_it_overlaps_gold_of_its_technique():
    gold = [Label("a", 0, 10, "Doubt"), Label("b", 0, 10, "Slogans")]
    spans = [Span(5, 15, "Doubt", 0.7), Span(5, 15, "Slogans", 0.4), Span(10, 20, "Doubt", 0.3)]
    assert span_outcomes("a", spans, gold) == [(0.7, True), (0.4, False), (0.3, False)]


def test_auroc_by_hand():
    correct = np.array([True, False, True, False])
    assert auroc(np.array([0.9, 0.1, 0.8, 0.2]), correct) == 1.0
    assert auroc(np.array([0.1, 0.9, 0.2, 0.8]), correct) == 0.0
    assert auroc(np.array([0.5, 0.5, 0.5, 0.5]), correct) == 0.5
    assert auroc(np.array([0.3, 0.7]), np.array([True, True])) == 0.5  # undefined with one class


@given(st.lists(st.tuples(st.sampled_from([0.1, 0.2, 0.5, 0.7, 0.9]), st.booleans()), min_size=2, max_size=30))
def test_auroc_is_the_share_of_correct_wrong_pairs_ranked_right(rows):
    scores = np.array([s for s, _ in rows])
    correct = np.array([c for _, c in rows])
    pairs = [(p, n) for p in scores[correct] for n in scores[~correct]]
    expected = np.mean([1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs]) if pairs else 0.5
    assert auroc(scores, correct) == pytest.approx(expected)


def test_platt_scaling_does_not_run_off_where_newton_overshoots():
    # scores piled up near 1 with few of them right: a full Newton step from slope 1 overshoots
    rng = np.random.default_rng(0)
    scores = np.concatenate([np.full(300, 0.999), rng.uniform(0.25, 0.6, 700)])
    correct = np.concatenate([rng.random(300) < 0.3, rng.random(700) < 0.25])
    calibration = fit_platt(scores, correct)
    assert abs(calibration.slope) < 10 and abs(calibration.intercept) < 10
    assert expected_calibration_error(calibration.apply(scores), correct) < 0.05


def test_an_intercept_per_technique_is_recovered_and_ranks_spans_better():
    rng = np.random.default_rng(2)
    raw, peaks = rng.uniform(0.01, 0.99, 30_000), rng.uniform(0.5, 0.99, 30_000)
    techniques = rng.choice(["Doubt", "Repetition", "Slogans"], size=raw.size)
    truth = Calibration(slope=0.4, intercept=-1.0, peak_slope=0.5, technique_offsets={"Doubt": 1.0, "Repetition": -1.5})
    correct = rng.uniform(size=raw.size) < truth.apply(raw, peaks, techniques)
    fitted = fit_platt(raw, correct, peaks, techniques)
    # one of three parameters is redundant with the intercept: the ridge shares it out, differences stay
    offsets = fitted.technique_offsets
    assert offsets["Doubt"] - offsets["Slogans"] == pytest.approx(1.0, abs=0.15)
    assert offsets["Repetition"] - offsets["Slogans"] == pytest.approx(-1.5, abs=0.15)
    assert fitted.intercept + offsets["Slogans"] == pytest.approx(-1.0, abs=0.15)
    plain = fit_platt(raw, correct, peaks)
    assert auroc(fitted.apply(raw, peaks, techniques), correct) > auroc(plain.apply(raw, peaks), correct) + 0.05
    assert plain.technique_offsets == {} and "technique_offsets" not in plain.as_dict()


def test_a_calibration_by_technique_survives_its_meta_json_and_needs_the_techniques():
    calibration = Calibration(slope=0.5, intercept=-1.0, peak_slope=0.3, technique_offsets={"Doubt": 0.25})
    assert Calibration(**json.loads(json.dumps(calibration.as_dict()))) == calibration
    scores, peaks = np.array([0.4, 0.4]), np.array([0.7, 0.7])
    doubt, other = calibration.apply(scores, peaks, ["Doubt", "Slogans"])
    assert doubt > other  # a technique the curve was not fitted on keeps the common intercept
    assert other == pytest.approx(Calibration(slope=0.5, intercept=-1.0, peak_slope=0.3).apply(scores, peaks)[1])
    with pytest.raises(ValueError, match="technique"):
        calibration.apply(scores, peaks)
