"""Hand-computed values for the SemEval-2020 Task 11 formulas."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from propscope.corpus import Label
from propscope.document import merge_intervals
from propscope.metrics import SearchScorer, full_task, span_identification, technique_classification

LL, NC, DOUBT = "Loaded_Language", "Name_Calling,Labeling", "Doubt"


def si(*rows):
    return [Label(a, s, e) for a, s, e in rows]


def test_partial_overlap_gives_partial_credit():
    # |s ∩ t| = 5: P = 5/10, R = 5/10
    score = span_identification(si(("a", 5, 15)), si(("a", 0, 10))).overall
    assert score.precision == pytest.approx(0.5)
    assert score.recall == pytest.approx(0.5)
    assert score.f1 == pytest.approx(0.5)


def test_overlapping_predictions_are_merged_first():
    # [0,4) and [2,6) merge into [0,6): P = 6/6 over 1 span, R = 6/10
    score = span_identification(si(("a", 0, 4), ("a", 2, 6)), si(("a", 0, 10))).overall
    assert score.predicted == 1
    assert score.precision == pytest.approx(1.0)
    assert score.recall == pytest.approx(0.6)
    assert score.f1 == pytest.approx(0.75)


def test_touching_spans_stay_apart():
    score = span_identification(si(("a", 0, 5), ("a", 5, 10)), si(("a", 0, 10))).overall
    assert score.predicted == 2
    assert score.precision == pytest.approx(1.0)
    assert score.recall == pytest.approx(1.0)


def test_duplicated_gold_spans_count_once():
    score = span_identification(si(("a", 0, 10)), si(("a", 0, 10), ("a", 0, 10))).overall
    assert score.gold == 1
    assert score.f1 == pytest.approx(1.0)


def test_prediction_in_article_without_gold_costs_precision():
    # article b has no gold span: P = (1 + 0) / 2, R = 1 / 1
    score = span_identification(si(("a", 0, 10), ("b", 0, 5)), si(("a", 0, 10))).overall
    assert score.precision == pytest.approx(0.5)
    assert score.recall == pytest.approx(1.0)
    assert score.f1 == pytest.approx(2 / 3)


def test_gold_article_without_prediction_costs_recall():
    score = span_identification(si(("a", 0, 10)), si(("a", 0, 10), ("b", 0, 4), ("b", 10, 20))).overall
    assert score.precision == pytest.approx(1.0)
    assert score.recall == pytest.approx(1 / 3)


def test_one_prediction_over_two_gold_spans():
    # s = [0,20), t1 = [0,5), t2 = [10,20): P = (5 + 10)/20 = .75, R = (1 + 1)/2 = 1
    score = span_identification(si(("a", 0, 20)), si(("a", 0, 5), ("a", 10, 20))).overall
    assert score.precision == pytest.approx(0.75)
    assert score.recall == pytest.approx(1.0)


def test_nothing_predicted_scores_zero_without_dividing_by_zero():
    score = span_identification([], si(("a", 0, 10))).overall
    assert (score.precision, score.recall, score.f1) == (0.0, 0.0, 0.0)


def test_technique_labels_of_one_span_match_as_multisets():
    gold = [Label("a", 0, 5, LL), Label("a", 0, 5, NC), Label("a", 9, 12, DOUBT)]
    pred = [Label("a", 0, 5, LL), Label("a", 0, 5, LL), Label("a", 9, 12, DOUBT)]
    report = technique_classification(pred, gold)
    assert report.overall.precision == pytest.approx(2 / 3)
    assert report.overall.recall == pytest.approx(2 / 3)
    assert report.per_technique[LL].precision == pytest.approx(0.5)
    assert report.per_technique[LL].recall == pytest.approx(1.0)
    assert report.per_technique[NC].recall == 0.0
    assert report.per_technique[DOUBT].f1 == pytest.approx(1.0)


def test_full_task_counts_overlap_only_where_techniques_agree():
    gold = [Label("a", 0, 10, LL), Label("a", 25, 30, DOUBT)]
    pred = [Label("a", 0, 10, LL), Label("a", 20, 30, DOUBT), Label("a", 0, 10, NC)]
    report = full_task(pred, gold)
    # P = (1 + 5/10 + 0) / 3, R = (1 + 5/5) / 2
    assert report.overall.precision == pytest.approx(0.5)
    assert report.overall.recall == pytest.approx(1.0)
    assert report.per_technique[DOUBT].precision == pytest.approx(0.5)
    assert report.per_technique[DOUBT].recall == pytest.approx(1.0)
    assert report.per_technique[NC].precision == 0.0
    assert report.per_technique[LL].f1 == pytest.approx(1.0)


def test_full_task_merges_overlaps_within_a_technique_only():
    pred = [Label("a", 0, 6, LL), Label("a", 4, 10, LL), Label("a", 4, 10, NC)]
    report = full_task(pred, [Label("a", 0, 10, LL)])
    assert report.per_technique[LL].predicted == 1
    assert report.overall.predicted == 2
    assert report.overall.precision == pytest.approx(0.5)


spans = st.tuples(st.integers(0, 60), st.integers(1, 20)).map(lambda p: (p[0], p[0] + p[1]))
labels = st.lists(
    st.builds(
        lambda article, span, technique: Label(article, span[0], span[1], technique),
        st.sampled_from(["1", "2"]),
        spans,
        st.sampled_from(["Doubt", "Slogans", "Repetition"]),
    ),
    max_size=12,
)


@given(labels, labels)
def test_the_search_scorer_gives_the_official_figures(predicted, gold):
    scorer = SearchScorer(gold)
    assert scorer.f1(predicted) == (
        span_identification(predicted, gold).overall.f1,
        full_task(predicted, gold).overall.f1,
    )


@given(labels, labels)
def test_the_sweep_over_merged_spans_gives_the_sum_over_every_pair(predicted, gold):
    from propscope.metrics.semeval import _credit

    for article in ("1", "2"):
        pred = merge_intervals((p.start, p.end) for p in predicted if p.article_id == article)
        ref = merge_intervals((g.start, g.end) for g in gold if g.article_id == article)
        pairs = [(s, t, min(s[1], t[1]) - max(s[0], t[0])) for s in pred for t in ref]
        expected = (
            sum(shared / (s[1] - s[0]) for s, t, shared in pairs if shared > 0),
            sum(shared / (t[1] - t[0]) for s, t, shared in pairs if shared > 0),
        )
        assert _credit(pred, ref) == pytest.approx(expected)
