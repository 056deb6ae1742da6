"""The recipe's choices, on hand-made span probabilities (no network)."""

import re

import numpy as np
import pytest

from propscope.corpus.labels import Label
from propscope.document import Article
from propscope.metrics import span_identification
from propscope.model.inference import Decoding, decode_spans
from propscope.pipeline.analyzer import Analyzer
from propscope.training.config import Config, with_overrides
from propscope.training.recipe import SpanOutcomes, _base_meta, _trained_alike, choose_decoding
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


def test_each_readers_spans_are_scored_by_a_curve_fitted_on_the_others():
    # one fold's high scores are right, the other's wrong: a curve fitted on the other fold ranks them backwards,
    # which the spans' own curve would hide
    rng = np.random.default_rng(0)
    scores = rng.uniform(0.05, 0.95, 2_000)
    readers = np.repeat([0, 1], 1_000)
    correct = np.where(readers == 0, scores > 0.5, scores < 0.5)
    found = SpanOutcomes(
        scores, np.full(2_000, 0.9), np.array(["Doubt"] * 2_000, dtype=object), correct, readers, np.arange(2_000)
    )
    assert found.cross_fitted_figures()["auroc"] < 0.1
    assert abs(found.figures(found.fit())["auroc"] - 0.5) < 0.1


def test_the_networks_that_ship_are_alike_whatever_the_folds_that_choose_their_reading():
    def final(config: Config, held_out: int) -> dict:
        return _base_meta(config) | {"train_articles": 371, "dev_articles": 0, "held_out_articles": held_out}

    four = with_overrides(Config(), ["data.folds=4", "data.pool=all", "verifier.enabled=true"])
    exported = final(four, 74)
    del exported["verifier"]["tagger_spans"]  # an export from before the setting existed
    del exported["config"]["verifier"]["tagger_spans"]
    del exported["config"]["model"]["hidden_dropout"]  # the encoder's own 0.1 until it was a setting
    del exported["config"]["training"]["dropout_masks"]  # torch's until it was a setting
    del exported["config"]["model"]["encoder"]  # MiniLM's until it was a setting
    del exported["config"]["data"]["fold_share"]  # all of a fold's articles until it was a setting
    assert _trained_alike(exported, final(with_overrides(four, ["data.folds=2"]), 371))
    assert _trained_alike(exported, final(with_overrides(four, ["data.fold_share=0.5"]), 74))  # the pool is never cut
    assert not _trained_alike(exported, final(with_overrides(four, ["model.hidden_dropout=0"]), 74))
    assert not _trained_alike(exported, final(with_overrides(four, ['training.dropout_masks="bytes"']), 74))
    assert not _trained_alike(exported, final(with_overrides(four, ['model.encoder="all-mpnet-base-v2"']), 74))
    # a dev hold-out leaves articles out of training; another seed or tagger_spans file trains other weights
    assert not _trained_alike(exported, final(with_overrides(four, ["data.folds=0"]), 371))
    assert not _trained_alike(exported, final(with_overrides(four, ["training.seed=14"]), 74))
    assert not _trained_alike(exported, final(with_overrides(four, ['verifier.tagger_spans="found.labels"']), 74))


def test_a_fold_network_trained_on_a_share_of_its_articles_is_another_network():
    def fold(config: Config, articles: int) -> dict:
        return _base_meta(config) | {"train_articles": articles, "held_out_ids": ["1", "2"]}

    whole = with_overrides(Config(), ["data.folds=2", "data.pool=all"])
    exported = fold(whole, 185)
    del exported["config"]["data"]["fold_share"]  # from before the setting existed
    assert _trained_alike(exported, fold(whole, 185))
    assert not _trained_alike(exported, fold(with_overrides(whole, ["data.fold_share=0.5"]), 93))


def test_the_model_folder_takes_the_exports_files_not_folders_left_beside_them(tmp_path):
    from propscope.training.recipe import _ship

    work = tmp_path / "work"
    (work / "int8" / "fold-1").mkdir(parents=True)  # what an older bench/cross_fit.py left there
    (work / "int8" / "meta.json").write_text("{}", encoding="utf-8")
    (work / "int8" / "encoder.onnx").write_bytes(b"network")
    (work / "int8" / "fold-1" / "encoder.onnx").write_bytes(b"another")
    output = tmp_path / "model"
    (output / "stale").mkdir(parents=True)  # an earlier model folder is replaced whole
    config = with_overrides(Config(), [f'export.output="{output}"', "export.delta_rank=0", 'export.verifier_from=""'])
    assert _ship(config, work, "int8") == {}
    assert sorted(p.name for p in output.iterdir()) == ["encoder.onnx", "meta.json"]
    assert (output / "encoder.onnx").read_bytes() == b"network"


class SentenceVerifierModel:
    """A verifier's naming: Doubt for a passage about children, Loaded_Language for the rest, with room for none."""

    techniques = TECHNIQUES
    multi_label = True
    decoding = Decoding()

    def detect(self, encoding):
        return decode_spans(encoding, self.decoding)

    def classify(self, encoding, spans):
        return np.array([[0.0, 0.9] if "children" in encoding.text[s:e] else [0.9, 0.0] for s, e in spans]).reshape(
            -1, 2
        )


@pytest.mark.parametrize("sentence_in_gold", [True, False])
def test_whole_sentences_are_marked_only_where_that_scores_better(sentence_in_gold: bool):
    text = "We saw a truly shameful and reckless plan.\nThey are coming for your children tonight."
    words = re.findall(r"\w+|[^\w\s]", text)
    probs = [0.9 if word in ("reckless", "plan") else 0.0 for word in words]
    phrases = [("reckless plan", "Loaded_Language")] + [("They are coming for your children tonight", "Doubt")] * (
        sentence_in_gold
    )
    labels = {"1": [Label("1", text.index(p), text.index(p) + len(p), t) for p, t in phrases]}
    model = SentenceVerifierModel()
    model.decoding = choose_decoding([(model, Article("1", text), encoded(probs, text))], labels)
    assert (model.decoding.sentence_threshold > 0) == sentence_in_gold
    _, _, named = Analyzer(model).candidates(encoded(probs, text))  # what the chosen decoding then marks
    marked = ["reckless plan"] + ["They are coming for your children tonight."] * sentence_in_gold
    assert [text[d.start : d.end] for d, _, _ in named] == marked
