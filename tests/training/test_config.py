from pathlib import Path

import pytest

from propscope.errors import InputError
from propscope.training.config import load_config

REPO = Path(__file__).resolve().parents[2]


def test_shipped_config_loads():
    config = load_config(REPO / "configs" / "default.toml")
    assert config.training.seed == 13
    assert config.model.window_tokens <= 512


def test_the_accurate_config_ships_its_mpnet_tagger_as_a_delta():
    config = load_config(REPO / "configs" / "accurate.toml")
    assert config.model.encoder == "all-mpnet-base-v2" and config.export.name == "accurate"
    assert config.export.delta_rank > 0 and config.export.precision == "int8" and not config.verifier.enabled


def test_unknown_keys_are_named(tmp_path: Path):
    path = tmp_path / "c.toml"
    path.write_text("[training]\nepoch = 3\n", encoding="utf-8")
    with pytest.raises(InputError, match="unknown key.*epoch"):
        load_config(path)


def test_invalid_toml(tmp_path: Path):
    path = tmp_path / "c.toml"
    path.write_text("[training\n", encoding="utf-8")
    with pytest.raises(InputError, match="not valid TOML"):
        load_config(path)


def test_wrong_types_are_named(tmp_path: Path):
    path = tmp_path / "c.toml"
    path.write_text("[training]\nepochs = 'many'\nlearning_rate = 1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"\[training\] epochs must be int"):
        load_config(path)


def test_overrides_are_typed_and_checked():
    from propscope.training.config import with_overrides

    config = load_config(REPO / "configs" / "default.toml")
    changed = with_overrides(config, ["training.epochs=3", "export.output=runs/x", "training.learning_rate=1e-4"])
    assert (changed.training.epochs, changed.export.output, changed.training.learning_rate) == (3, "runs/x", 1e-4)
    assert changed.model == config.model
    with pytest.raises(InputError, match="epochs must be int"):
        with_overrides(config, ["training.epochs=many"])
    with pytest.raises(InputError, match="expected section.key=value"):
        with_overrides(config, ["epochs=3"])
    with pytest.raises(InputError, match="unknown key"):
        with_overrides(config, ["training.epoch=3"])
    with pytest.raises(InputError, match=r"\[training\] dropout_masks must be one of torch, bytes, got 'numpy'"):
        with_overrides(config, ['training.dropout_masks="numpy"'])


@pytest.mark.parametrize("folds", [1, -2])
def test_one_fold_cannot_cross_fit(tmp_path: Path, folds: int):
    path = tmp_path / "c.toml"
    path.write_text(f"[data]\nfolds = {folds}\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"\[data\] folds must be 0 .* or at least 2"):
        load_config(path)


@pytest.mark.parametrize("settings", ["networks = 0", "networks = 2\nadapter_rank = 4"])
def test_verifier_networks_are_at_least_one_and_one_in_a_delta(tmp_path: Path, settings: str):
    path = tmp_path / "c.toml"
    path.write_text(f"[verifier]\n{settings}\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"\[verifier\] networks must be at least 1, and 1 with adapters"):
        load_config(path)


def test_a_delta_rank_is_not_negative(tmp_path: Path):
    path = tmp_path / "c.toml"
    path.write_text("[export]\ndelta_rank = -1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"\[export\] delta_rank must be 0 \(the tagger ships whole\) or more, got -1"):
        load_config(path)


def test_a_delta_is_assembled_in_int8(tmp_path: Path):
    path = tmp_path / "c.toml"
    path.write_text('[export]\ndelta_rank = 8\nprecision = "fp16-weights"\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"\[export\] delta_rank needs precision = \"int8\".*got 'fp16-weights'"):
        load_config(path)
