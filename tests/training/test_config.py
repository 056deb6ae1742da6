from dataclasses import replace
from pathlib import Path

import pytest

from propscope.errors import InputError
from propscope.training.config import load_config

REPO = Path(__file__).resolve().parents[2]


def test_shipped_config_loads():
    config = load_config(REPO / "configs" / "default.toml")
    assert config.training.seed == 13
    assert config.model.window_tokens <= 512


def test_the_accurate_config_ships_its_mpnet_tagger_as_a_delta_naming_with_the_defaults_verifier():
    config = load_config(REPO / "configs" / "accurate.toml")
    default = load_config(REPO / "configs" / "default.toml")
    assert config.model.encoder == "all-mpnet-base-v2" and config.export.name == "accurate"
    assert config.export.delta_rank > 0 and config.export.precision == "int8"
    assert config.export.verifier_from == "default" and 0 < config.verifier.tagger_weight < 1
    # the verifier it names techniques with is the one the default trains: the same settings, seed and articles
    assert replace(config.verifier, tagger_weight=0.0) == replace(default.verifier, tagger_weight=0.0)
    assert (config.training.seed, config.data) == (default.training.seed, default.data)


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


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[training]\nepoch = 3\n", "unknown key.*epoch"),
        ("[training\n", "not valid TOML"),
        ("[training]\nepochs = 'many'\nlearning_rate = 1\n", r"\[training\] epochs must be int"),
        ("[data]\nfolds = 1\n", r"\[data\] folds must be 0 .* or at least 2"),
        ("[data]\nfolds = -2\n", r"\[data\] folds must be 0 .* or at least 2"),
        ("[verifier]\nnetworks = 0\n", r"\[verifier\] networks must be at least 1, and 1 with adapters"),
        ("[verifier]\nnetworks = 2\nadapter_rank = 4\n", r"\[verifier\] networks must be at least 1, and 1 with"),
        ("[verifier]\ntagger_weight = 1.5\n", r"\[verifier\] tagger_weight must be from 0 to 1, got 1.5"),
        ("[data]\nfold_share = 0\n", r"\[data\] fold_share must be above 0 and at most 1, got 0"),
        ("[data]\nfold_share = 1.5\n", r"\[data\] fold_share must be above 0 and at most 1, got 1.5"),
        ("[data]\nfold_share = 0.5\n", r"\[data\] fold_share cuts fold networks: it needs folds of 2 or more"),
        ("[training]\nteacher_weight = -0.1\n", r"\[training\] teacher_weight must be from 0 to 1, got -0.1"),
        ("[export]\ndelta_rank = -1\n", r"\[export\] delta_rank must be 0 \(the tagger ships whole\) or more, got -1"),
        (
            '[export]\ndelta_rank = 8\nprecision = "fp16-weights"\n',
            r"\[export\] delta_rank needs precision = \"int8\".*got 'fp16-weights'",
        ),
    ],
)
def test_a_config_that_cannot_train_is_refused_by_name(tmp_path: Path, toml: str, message: str):
    path = tmp_path / "c.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_config(path)
