"""The recipe's choices, on hand-made span probabilities (no network)."""

import numpy as np

from propscope.corpus.labels import Label
from propscope.document import Article
from propscope.metrics import span_identification
from propscope.model.inference import decode_spans
from propscope.training.recipe import choose_decoding
from tests.model.test_decoding import TEXT, encoded

TECHNIQUES = ("Loaded_Language", "Doubt")


class WordModel:
    """Names a span Doubt where it holds "truly", else Loaded_Language."""

    techniques = TECHNIQUES
    multi_label = False

    def classify(self, encoding, spans):
        return np.array([[0.0, 1.0] if "truly" in encoding.text[s:e] else [1.0, 0.0] for s, e in spans]).reshape(-1, 2)


def gold(*phrases: tuple[str, str]) -> dict[str, list[Label]]:
    return {"1": [Label("1", TEXT.index(p), TEXT.index(p) + len(p), t) for p, t in phrases]}


def test_decoding_search_drops_a_low_plateau():
    #        We   saw  a    truly shameful and  reckless plan ,    said critics today .
    probs = [0.0, 0.3, 0.3, 0.3, 0.35, 0.0, 0.3, 0.9, 0.3, 0.0, 0.0, 0.0, 0.0]
    held_out = [(WordModel(), Article("1", TEXT), encoded(probs))]
    decoding = choose_decoding(held_out, gold(("reckless plan", "Loaded_Language")))
    # a low threshold alone also keeps "saw a truly shameful" (too long for min_tokens to drop); a high one
    # clips "reckless plan" to "plan": the search finds settings that keep exactly the gold passage
    assert [TEXT[d.start : d.end] for d in decode_spans(encoded(probs), decoding)] == ["reckless plan"]


def test_decoding_search_weighs_the_full_task_too():
    #        We   saw  a    truly shameful and  reckless plan ,    said critics today .
    probs = [0.0, 0.0, 0.0, 0.6, 0.6, 0.3, 0.6, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    held_out = [(WordModel(), Article("1", TEXT), encoded(probs))]
    labels = gold(("truly shameful", "Doubt"), ("and reckless", "Loaded_Language"))
    joined = [Label("1", TEXT.index("truly"), TEXT.index(" plan"), "Doubt")]  # one span, named for "truly"
    apart = [
        Label("1", TEXT.index("truly"), TEXT.index(" and")),
        Label("1", TEXT.index("reckless"), TEXT.index(" plan")),
    ]
    # span F1 alone would join the runs over "and"; the full task then loses "reckless" to Doubt
    assert span_identification(joined, labels["1"]).overall.f1 > span_identification(apart, labels["1"]).overall.f1
    decoding = choose_decoding(held_out, labels)
    assert [TEXT[d.start : d.end] for d in decode_spans(encoded(probs), decoding)] == ["truly shameful", "reckless"]


def test_a_stand_in_must_carry_as_many_verifier_networks_as_ship(tmp_path):
    from dataclasses import asdict

    import pytest

    from propscope.errors import InputError
    from propscope.training.config import Config, VerifierConfig
    from propscope.training.recipe import _require_same_verifier

    one, two = VerifierConfig(enabled=True), VerifierConfig(enabled=True, networks=2)
    with pytest.raises(InputError, match="must carry a verifier trained with"):
        _require_same_verifier({"verifier": asdict(one)}, Config(verifier=two), tmp_path, "a stand-in", "")
    made_before_networks = {k: v for k, v in asdict(one).items() if k != "networks"}
    _require_same_verifier(
        {"verifier": made_before_networks}, Config(verifier=one), tmp_path, "a stand-in", ""
    )  # one network: alike
    with pytest.raises(InputError, match="must carry a verifier trained with"):
        _require_same_verifier({"verifier": made_before_networks}, Config(verifier=two), tmp_path, "a stand-in", "")
