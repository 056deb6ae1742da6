"""Evidence is read from the tagger's probabilities and the article itself: these fixtures set both by hand."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from propscope.document import Cue
from propscope.model.windows import Tokens
from propscope.pipeline.evidence import EvidenceFinder

TECHNIQUES = ("Doubt", "Loaded_Language", "Repetition")


def finder(text: str, weights: dict[str, float] | None = None) -> EvidenceFinder:
    """One word piece per word; a word's span probability from ``weights`` (0.5 otherwise)."""
    import re

    matches = list(re.finditer(r"\w+|[^\w\s]", text))
    offsets = np.array([m.span() for m in matches], dtype=np.int64).reshape(-1, 2)
    probability = np.array([(weights or {}).get(m.group(), 0.5) for m in matches], dtype=np.float32)
    return EvidenceFinder(text, Tokens(np.arange(len(matches)), offsets), probability, TECHNIQUES)


def shown(text: str, cues: tuple[Cue, ...]) -> list[str]:
    return [text[c.start : c.end] for c in cues]


def test_key_words_are_where_the_tagger_was_surest_skipping_short_words():
    text = "Title\n\nThe reckless and shameful plan of the council."
    found = finder(text, {"reckless": 0.9, "shameful": 0.8, "of": 0.99, "plan": 0.3})
    start = text.index("reckless")
    cues = found.key_words(start, text.index(" council"))
    assert shown(text, cues) == ["reckless", "shameful", "plan"]
    assert [c.weight for c in cues] == [0.9, 0.8, 0.3]
    short = text.index("of the")
    assert shown(text, found.key_words(short, short + 6)) == ["of", "the"]  # nothing longer to show


def test_repeats_point_at_the_passage_elsewhere_case_and_spacing_aside():
    text = "Jobs First for all\n\nOur answer is jobs  first. Whatever they ask: JOBS FIRST!"
    found = finder(text)
    cues = found.repeats(0, len("Jobs First"))
    assert shown(text, cues) == ["jobs  first", "JOBS FIRST"]


def test_repeats_fall_back_to_the_longest_recurring_run_of_words():
    text = "They will betray every family. Tomorrow they will betray us again, and betray us."
    found = finder(text)
    start = text.index("Tomorrow")
    cues = found.repeats(start, text.index(" again"))
    assert shown(text, cues) == ["They will betray"]  # the longest run found elsewhere, not "betray us"


def test_no_repeats_from_function_words_alone():
    text = "The cost of the plan. The size of the debt."
    found = finder(text)
    assert found.repeats(text.index("The size"), len(text) - 1) == ()


def test_signals_name_what_the_verifier_reads_beside_the_words():
    text = 'Shocking Betrayal\n\nShe said "ENOUGH IS ENOUGH!" and left. Is this a plan?'
    found = finder(text)
    assert "in the title" in found.signals(0, 8)
    quote = text.index("ENOUGH")
    signals = found.signals(quote, quote + len("ENOUGH IS ENOUGH"))
    assert {"in quotes", "exclamation", "capitals"} <= set(signals) and "in the title" not in signals
    assert "question" in found.signals(text.index("a plan"), text.index("?"))


def test_techniques_weighed_are_the_most_probable_first():
    evidence = finder("A plain sentence.").evidence(2, 7, np.array([0.1, 0.7, 0.005]))
    assert evidence.techniques == (("Loaded_Language", 0.7), ("Doubt", 0.1))  # under 1% is not shown


vocabulary = ["jobs", "first", "the", "we", "İstanbul", "BETRAY", "ß", "of"]
words = st.lists(st.sampled_from(vocabulary), min_size=1, max_size=30)


@given(words=words, separators=st.lists(st.sampled_from([" ", "  ", "\n", ", ", "! "]), min_size=30, max_size=30))
def test_every_cue_lies_in_the_text_and_repeats_lie_outside_the_span(words: list[str], separators: list[str]):
    text = "".join(w + s for w, s in zip(words, separators, strict=False))
    found = finder(text)
    start, end = 0, len(words[0])
    evidence = found.evidence(start, end, np.array([0.2, 0.5, 0.3]))
    for cue in (*evidence.words, *evidence.repeats):
        assert 0 <= cue.start < cue.end <= len(text)
    for cue in evidence.repeats:
        assert cue.end <= start or cue.start >= end
        assert text[cue.start : cue.end].lower() == text[start:end].lower() or len(words[0]) <= 3
