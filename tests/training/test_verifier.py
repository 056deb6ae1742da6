"""The verifier's training pairs: gold spans with their techniques, nudged copies and random stretches."""

import random
from itertools import pairwise

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from propscope.corpus.labels import Label
from propscope.document import Article
from propscope.techniques import TECHNIQUE_NAMES
from propscope.training.config import Config, VerifierConfig
from propscope.training.verifier import LIKE_LENGTH_POOL, candidates, like_length_batches, overlap_targets

INDEX = {name: k for k, name in enumerate(TECHNIQUE_NAMES)}
TEXT = "Bridge vote\n\nThe reckless council approved a shameful plan today.\nCritics called it a disgrace.\n"


def label(phrase: str, technique: str) -> Label:
    start = TEXT.index(phrase)
    return Label("1", start, start + len(phrase), technique)


NONE = len(TECHNIQUE_NAMES)  # the last target: no technique


def test_targets_are_the_share_of_the_span_inside_gold_spans_of_each_technique():
    gold = [label("reckless council", "Loaded_Language"), label("council approved", "Doubt")]
    start = TEXT.index("The reckless")
    targets = overlap_targets(start, start + len("The reckless"), gold, INDEX)
    assert np.isclose(targets[INDEX["Loaded_Language"]], len("reckless") / len("The reckless"))
    assert np.isclose(targets[NONE], len("The ") / len("The reckless")) and np.isclose(targets.sum(), 1.0)
    # shares over 1 in all (two techniques on the same words) are scaled to a distribution, none left over
    targets = overlap_targets(start, start + len("The reckless council"), gold, INDEX)
    shares = np.array([len("reckless council"), len("council")]) / len("The reckless council")
    assert np.allclose(targets[[INDEX["Loaded_Language"], INDEX["Doubt"]]], shares / shares.sum())
    assert targets[NONE] == 0.0


def test_candidates_hold_each_gold_span_once_and_stay_inside_lines():
    gold = [
        label("reckless", "Loaded_Language"),
        label("a shameful plan", "Loaded_Language"),
        label("a shameful plan", "Name_Calling,Labeling"),
        label("a disgrace", "Name_Calling,Labeling"),
    ]
    config = Config(verifier=VerifierConfig(enabled=True, jittered=2, random=1))
    found = candidates(Article("1", TEXT), gold, config, random.Random(3))
    distinct = {(g.start, g.end) for g in gold}
    assert len(found) == len(distinct) * (1 + 2 + 1)
    exact = {(c.start, c.end): c.targets for c in found[: len(distinct)]}
    assert set(exact) == distinct
    both = exact[(gold[1].start, gold[1].end)]
    assert both[INDEX["Loaded_Language"]] == both[INDEX["Name_Calling,Labeling"]] == 0.5 and both[NONE] == 0.0
    for c in found:
        assert 0 <= c.start < c.end <= len(TEXT) and "\n" not in TEXT[c.start : c.end]
        assert TEXT[c.start : c.end] == TEXT[c.start : c.end].strip()
        assert ((c.targets >= 0.0) & (c.targets <= 1.0)).all()
        assert np.allclose(c.targets, overlap_targets(c.start, c.end, gold, INDEX)) or (c.start, c.end) in distinct


def test_a_taggers_spans_are_candidates_with_targets_from_their_overlap_with_gold_spans():
    import pytest

    from propscope.errors import InputError

    gold = [label("reckless", "Loaded_Language")]
    tagged = [label("The reckless council", None), label("Critics called it", None)]
    config = Config(verifier=VerifierConfig(enabled=True, jittered=0, random=0))
    found = candidates(Article("1", TEXT), gold, config, random.Random(3), tagged)
    assert [(c.start, c.end) for c in found] == [(gold[0].start, gold[0].end), *((t.start, t.end) for t in tagged)]
    assert np.isclose(found[1].targets[INDEX["Loaded_Language"]], len("reckless") / len("The reckless council"))
    assert found[2].targets[NONE] == 1.0  # a find outside every gold span: "no technique"
    with pytest.raises(InputError, match="outside article 1"):
        candidates(Article("1", TEXT), gold, config, random.Random(3), [Label("1", 5, len(TEXT) + 1)])


def test_a_networks_stamp_covers_what_the_tagger_span_file_holds_for_its_articles(tmp_path):
    from dataclasses import replace

    from propscope.training.verifier import network_identity

    articles = [Article("1", TEXT)]
    spans = tmp_path / "spans.labels"
    spans.write_text("1\t4\t12\n2\t0\t5\n", encoding="utf-8")
    plain = Config(verifier=VerifierConfig(enabled=True))
    tagged = replace(plain, verifier=replace(plain.verifier, tagger_spans=str(spans)))
    stamp = network_identity(tagged, articles, {})
    assert stamp != network_identity(plain, articles, {})
    assert "tagger_spans" not in network_identity(plain, articles, {})["verifier"]  # stamps made before it still match
    moved = tmp_path / "moved.labels"
    moved.write_text("2\t0\t9\n1\t4\t12\n", encoding="utf-8")  # another article's row changed, another name
    assert (
        network_identity(replace(tagged, verifier=replace(tagged.verifier, tagger_spans=str(moved))), articles, {})
        == stamp
    )
    spans.write_text("1\t4\t13\n", encoding="utf-8")
    assert network_identity(tagged, articles, {}) != stamp


def test_a_networks_stamp_names_byte_dropout_masks_only_where_they_are_set():
    from dataclasses import replace

    from propscope.training.verifier import network_identity

    articles = [Article("1", TEXT)]
    plain = Config(verifier=VerifierConfig(enabled=True))
    stamp = network_identity(plain, articles, {})
    assert stamp["training"] == [0.01, 0.1, "fp32", "auto"]  # as stamped before the setting existed
    with_bytes = replace(plain, training=replace(plain.training, dropout_masks="bytes"))
    assert network_identity(with_bytes, articles, {})["training"] == [*stamp["training"], "bytes"]


@given(st.lists(st.integers(1, 64), max_size=300), st.integers(1, 8), st.integers(0, 99))
def test_like_length_batches_take_every_candidate_once_in_as_many_batches_as_random_ones(
    lengths: list[int], size: int, seed: int
):
    batches = like_length_batches(lengths, size, random.Random(seed))
    assert sorted(k for batch in batches for k in batch) == list(range(len(lengths)))
    assert len(batches) == -(-len(lengths) // size) and all(0 < len(batch) <= size for batch in batches)
    assert batches == like_length_batches(lengths, size, random.Random(seed))


def test_within_one_pool_batches_are_cut_from_the_candidates_sorted_by_length():
    rng = random.Random(3)
    lengths = [rng.randint(5, 64) for _ in range(4 * LIKE_LENGTH_POOL)]  # one pool of batches of four
    batches = like_length_batches(lengths, 4, random.Random(7))
    spans = sorted((min(lengths[k] for k in b), max(lengths[k] for k in b)) for b in batches)
    assert all(high <= next_low for (_, high), (next_low, _) in pairwise(spans))  # no two batches interleave
    padded = sum(len(b) * max(lengths[k] for k in b) for b in batches)
    assert padded < 1.1 * sum(lengths)  # random batches of four pad about a third
