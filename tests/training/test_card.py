"""Model-card prose that depends on how a model's verifier was made."""

import json
from pathlib import Path

from propscope.training.card import _ensemble_naming, _networks_text


def member(folder: Path, seed: int, networks: int | None) -> str:
    folder.mkdir()
    meta: dict = {"config": {"training": {"seed": seed}}}
    if networks is not None:
        meta["verifier"] = {"networks": networks}
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return folder.name


def test_a_verifier_of_several_networks_names_their_seeds():
    meta = {"config": {"training": {"seed": 13}}, "verifier": {"networks": 2}}
    assert _networks_text(meta) == ": 2 networks trained alike with seeds 13, 14, their probabilities averaged"
    assert _networks_text(meta | {"verifier": {}}) == ""  # made before verifiers had networks: one


def test_an_ensemble_names_every_verifier_network_of_its_members(tmp_path: Path):
    members = [member(tmp_path / "a", 13, 2), member(tmp_path / "b", 29, None), member(tmp_path / "c", 40, 1)]
    text = _ensemble_naming({"members": members}, tmp_path)
    assert "verifier networks of the members that have one, averaged (2 of 3; training seeds 13, 14, 40)" in text
    alone = _ensemble_naming({"members": members[2:]}, tmp_path)
    assert "the verifier network of the members that have one (1 of 1; training seeds 40)" in alone


def test_the_card_says_where_dropout_masks_were_drawn_from_bytes():
    from propscope.training.card import _masks_text

    assert _masks_text({"dropout_masks": "bytes"}) == " (masks drawn from random bytes)"
    assert _masks_text({"dropout_masks": "torch"}) == _masks_text({}) == ""  # and for models made before the setting
