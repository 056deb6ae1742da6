import pytest

from propscope.document import Analysis, Article, Span, merge_intervals


def test_span_text_is_a_slice_of_the_text():
    text = "Line one.\nA shameful plan.\n"
    span = Span(12, 20, "Loaded_Language", 0.9)
    assert span.text_in(text) == "shameful"


def test_span_rejects_empty_or_reversed_ranges():
    with pytest.raises(ValueError):
        Span(5, 5, "Doubt")
    with pytest.raises(ValueError):
        Span(-1, 3, "Doubt")


def test_merge_intervals_joins_overlaps_only():
    assert merge_intervals([(5, 9), (0, 3), (2, 4), (9, 12)]) == [(0, 4), (5, 9), (9, 12)]


def test_analysis_flags_sentences_and_counts_techniques():
    article = Article("1", "One bad. Two fine. Three worse and bad.")
    spans = [Span(4, 7, "Loaded_Language"), Span(25, 30, "Loaded_Language"), Span(19, 38, "Doubt")]
    analysis = Analysis.build(article, spans, [(0, 8), (9, 18), (19, 39)])
    assert [s.techniques for s in analysis.sentences] == [
        ("Loaded_Language",),
        (),
        ("Doubt", "Loaded_Language"),
    ]
    summary = analysis.summary
    assert summary.flagged_sentences == 2
    assert summary.flagged_share == pytest.approx(2 / 3)
    assert summary.technique_counts == {"Loaded_Language": 2, "Doubt": 1}
    data = analysis.to_dict()
    assert data["spans"][0]["text"] == "bad"
    assert data["summary"]["flagged_share"] == pytest.approx(0.6667)


def test_filtering_by_score_keeps_sentence_flags_consistent():
    article = Article("1", "One bad. Two fine.")
    spans = [Span(4, 7, "Loaded_Language", 0.2), Span(13, 17, "Doubt", 0.9)]
    analysis = Analysis.build(article, spans, [(0, 8), (9, 18)])
    strict = analysis.above(0.5)
    assert [s.technique for s in strict.spans] == ["Doubt"]
    assert [s.techniques for s in strict.sentences] == [(), ("Doubt",)]
    assert strict.summary.flagged_sentences == 1
    assert len(analysis.spans) == 2  # the original is untouched


@pytest.mark.parametrize(("score", "band"), [(0.81, "likely"), (0.5, "likely"), (0.32, "possible"), (0.12, "unsure")])
def test_every_span_says_how_sure_it_is(score: float, band: str):
    span = Span(0, 4, "Doubt", score)
    assert span.confidence == band
    analysis = Analysis.build(Article("1", "Text here."), [span], [(0, 10)])
    assert analysis.to_dict()["spans"][0]["confidence"] == band
