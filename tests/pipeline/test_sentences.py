import re

import numpy as np
import pytest

from propscope.pipeline.sentences import split_sentences


def pieces(text):
    return [text[s:e] for s, e in split_sentences(text)]


def test_lines_and_sentence_ends():
    text = 'Title here\n\nMr. Smith went to Washington. He said "No!" Then left.\nU.S. officials agree.  '
    assert pieces(text) == [
        "Title here",
        "Mr. Smith went to Washington.",
        'He said "No!"',
        "Then left.",
        "U.S. officials agree.",
    ]


def test_offsets_survive_carriage_returns():
    text = "One.\r\nTwo two.\r\n"
    assert pieces(text) == ["One.", "Two two."]


def test_sentence_candidates_are_the_sentences_marked_passages_leave_alone():
    from propscope.pipeline.sentences import SENTENCE_MIN_CHARS, sentence_candidates
    from tests.model.test_decoding import encoded

    text = "Hi there.\nThey will destroy all we love.\nThe plan was announced on Monday."
    words = re.findall(r"\w+|[^\w\s]", text)
    probabilities = [0.1 * (k % 3) for k in range(len(words))]
    free = text.index("The plan")
    marked = [(text.index("destroy"), text.index(" we love"))]  # over 30% of its sentence
    found = sentence_candidates(encoded(probabilities, text), marked)
    assert [text[d.start : d.end] for d in found] == ["The plan was announced on Monday."]
    inside = [p for p, m in zip(probabilities, re.finditer(r"\w+|[^\w\s]", text), strict=True) if m.start() >= free]
    assert found[0].score == pytest.approx(np.mean(inside)) and found[0].peak == pytest.approx(max(inside))
    assert len("Hi there.") < SENTENCE_MIN_CHARS  # too short to be a candidate
    barely = [(text.index("destroy"), text.index("destroy") + 5)]  # "destr": 5 of 31 characters, under 30%
    assert len(sentence_candidates(encoded(probabilities, text), barely)) == 2
