"""The recipe's choices, on hand-made span probabilities (no network)."""

from propscope.corpus.labels import Label
from propscope.document import Article
from propscope.model.recipe import choose_decoding
from tests.model.test_decoding import TEXT, encoded


def test_decoding_search_finds_the_peak_that_drops_a_low_plateau():
    #        We   saw  a    truly shameful and  reckless plan ,    said critics today .
    probs = [0.0, 0.0, 0.0, 0.3, 0.35, 0.0, 0.3, 0.9, 0.3, 0.0, 0.0, 0.0, 0.0]
    start = TEXT.index("reckless plan")
    gold = {"1": [Label("1", start, start + len("reckless plan"), "Loaded_Language")]}
    decoding, f1 = choose_decoding([(None, Article("1", TEXT), encoded(probs))], gold)
    # a low threshold alone also keeps "truly shameful"; a high one clips "reckless plan" to "reckless"
    assert f1 == 1.0
    assert decoding.threshold < 0.3 and 0.35 < decoding.peak <= 0.9
