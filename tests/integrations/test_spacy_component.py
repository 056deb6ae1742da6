"""The spaCy component with the real spaCy (a blank English pipeline: no model download)."""

import subprocess
import sys

import pytest
import spacy
from hypothesis import given
from hypothesis import strategies as st

from propscope.document import Span as TechniqueSpan
from propscope.integrations.spacy_component import SPANS_KEY, add_spans
from propscope.pipeline import load_analyzer
from propscope.techniques import get_technique


@pytest.fixture(scope="module")
def nlp():
    pipeline = spacy.blank("en")
    pipeline.add_pipe("sentencizer")
    pipeline.add_pipe("propscope")
    return pipeline


def test_the_component_is_found_through_its_entry_point():
    """A fresh interpreter that never imported propscope still finds the factory and displaCy's colours."""
    script = (
        "import spacy\n"
        "from spacy.util import registry\n"
        "nlp = spacy.blank('en'); nlp.add_pipe('propscope')\n"
        "print(nlp.pipe_names, registry.displacy_colors.get_all()['propscope']['Doubt'])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["['propscope']", get_technique("Doubt").colour]


def test_doc_spans_hold_every_span_of_the_analysis(nlp, sample_text):
    doc = nlp(sample_text)
    analysis = load_analyzer("default").analyze(sample_text)
    assert analysis.spans, "the sample article should have spans"
    found = {(s._.propscope_chars, s.label_): s for s in doc.spans[SPANS_KEY]}
    assert len(found) == len(doc.spans[SPANS_KEY]) == len(analysis.spans)
    for expected in analysis.spans:
        span = found[((expected.start, expected.end), expected.technique)]
        assert span._.propscope_score == expected.score
        assert span.start_char <= expected.start and expected.end <= span.end_char
    assert len(list(doc.sents)) > 1  # the sentencizer before it still did its work


def test_pipe_shares_one_model_and_gives_the_same_spans(nlp, sample_text):
    texts = [sample_text, "Calm words about the weather.", sample_text[: len(sample_text) // 2]]
    piped = list(nlp.pipe(texts, batch_size=2))
    assert nlp.get_pipe("propscope").analyzer is load_analyzer("default")
    for doc, text in zip(piped, texts, strict=True):
        one = nlp(text)
        assert [(s.start, s.end, s.label_) for s in doc.spans[SPANS_KEY]] == [
            (s.start, s.end, s.label_) for s in one.spans[SPANS_KEY]
        ]


def test_config_sets_the_minimum_score_and_the_key(nlp, sample_text):
    doc = nlp(sample_text)
    every = sorted(s._.propscope_score for s in doc.spans[SPANS_KEY])
    floor = every[len(every) // 2]  # the median score: some spans fall below it, some stay
    strict = spacy.blank("en")
    strict.add_pipe("propscope", config={"min_score": floor, "spans_key": "sure"})
    strict_doc = strict(sample_text)
    kept = sorted(s._.propscope_score for s in strict_doc.spans["sure"])
    assert kept and min(kept) >= floor and kept == [x for x in every if x >= floor] and len(kept) < len(every)


def test_an_empty_doc_gets_an_empty_group(nlp):
    assert list(nlp("   ").spans[SPANS_KEY]) == []


def test_overlapping_spans_and_two_techniques_on_the_same_words_are_kept():
    doc = spacy.blank("en")("Jobs first, they chanted. Jobs first!")
    add_spans(
        doc,
        [
            TechniqueSpan(0, 10, "Slogans", 0.8),
            TechniqueSpan(0, 10, "Repetition", 0.3),
            TechniqueSpan(6, 24, "Loaded_Language", 0.5),
        ],
    )
    got = {(s.text, s.label_, s._.propscope_score) for s in doc.spans[SPANS_KEY]}
    assert got == {
        ("Jobs first", "Slogans", 0.8),
        ("Jobs first", "Repetition", 0.3),
        ("first, they chanted", "Loaded_Language", 0.5),
    }


def test_a_span_inside_a_token_grows_to_the_whole_token_and_keeps_its_characters():
    text = "This is unbelievably bad."
    doc = spacy.blank("en")(text)
    add_spans(doc, [TechniqueSpan(10, 24, "Loaded_Language", 0.6)])  # "believably bad", cut inside a word
    (span,) = doc.spans[SPANS_KEY]
    assert span.text == "unbelievably bad"
    assert span._.propscope_chars == (10, 24) and text[10:24] == "believably bad"


def test_edges_in_white_space_move_to_the_tokens_inside():
    text = "Calm   words  here"
    doc = spacy.blank("en")(text)
    add_spans(doc, [TechniqueSpan(4, 14, "Doubt", 0.5), TechniqueSpan(5, 6, "Slogans", 0.4)])
    spans = {s.label_: s for s in doc.spans[SPANS_KEY]}
    assert spans["Doubt"].text.strip() == "words"
    assert spans["Slogans"].start_char <= 5 and len(spans["Slogans"]) == 1  # only spaces: the space's token


words = st.text(alphabet="abcXYZ'-.,!😀", min_size=1, max_size=8)
separators = st.text(alphabet=" \n\r\t", min_size=1, max_size=3)


@given(st.lists(st.tuples(words, separators), min_size=1, max_size=12), st.data())
def test_no_character_of_a_span_is_lost(pieces, data):
    text = "".join(w + s for w, s in pieces)
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start + 1, len(text)))
    doc = spacy.blank("en")(text)
    add_spans(doc, [TechniqueSpan(start, end, "Doubt", 0.5)])
    (span,) = doc.spans[SPANS_KEY]
    assert len(span) >= 1 and span._.propscope_chars == (start, end)
    for index in range(start, end):
        if not text[index].isspace():
            assert span.start_char <= index < span.end_char, (text, start, end, span.start_char, span.end_char)


def test_displacy_shows_the_spans_in_propscope_colours(nlp, sample_text):
    from spacy import displacy

    doc = nlp(sample_text)
    html = displacy.render(doc, style="span", options={"spans_key": SPANS_KEY})
    for label in {s.label_ for s in doc.spans[SPANS_KEY]}:
        assert label in html and get_technique(label).colour in html
