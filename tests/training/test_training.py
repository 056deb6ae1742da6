"""One short training run on hand-written articles, through the whole recipe to a loadable model."""

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch", reason="training needs the train extra: pip install '.[train]'")

from propscope.corpus.folder import write_corpus_folder  # noqa: E402
from propscope.corpus.labels import Label  # noqa: E402
from propscope.document import Article  # noqa: E402
from propscope.errors import InputError, ModelError  # noqa: E402
from propscope.model.ensemble import EnsembleModel, load_model  # noqa: E402
from propscope.pipeline.analyzer import Analyzer, model_status  # noqa: E402
from propscope.techniques import TECHNIQUE_NAMES  # noqa: E402
from propscope.training.config import (  # noqa: E402
    Config,
    DataConfig,
    ExportConfig,
    ModelConfig,
    TrainingConfig,
    VerifierConfig,
)
from propscope.training.loop import MEME_FILES, load_corpus  # noqa: E402
from propscope.training.recipe import (  # noqa: E402
    add_verifier,
    build_ensemble,
    cross_fitted_models,
    train,
    train_reading_as,
    train_with_stand_in,
)


def tiny_memes(folder: Path) -> Path:
    """The three SemEval-2021 Task 6 files, with one hand-written meme each (one without spans)."""
    folder.mkdir()
    memes = [
        [{"id": "1", "text": "JOBS FIRST", "labels": [{"start": 0, "end": 10, "technique": "Slogans"}]}],
        [{"id": "2", "text": "a quiet harbour", "labels": []}],
        [{"id": "3", "text": "TRAITORS all", "labels": [{"start": 0, "end": 8, "technique": "Name calling/Labeling"}]}],
    ]
    for name, records in zip(MEME_FILES, memes, strict=True):
        (folder / name).write_text(json.dumps(records), encoding="utf-8")
    return folder


def tiny_config(corpus: Path, output: Path) -> Config:
    return Config(
        data=DataConfig(ptc_dir=str(corpus), dev_articles=1, memes_dir=str(tiny_memes(output.parent / "memes"))),
        model=ModelConfig(window_tokens=32, stride=16, train_stride=16, span_hidden=16, attention_dropout=0.0),
        training=TrainingConfig(epochs=1, batch_size=4, compute_dtype="bf16"),
        export=ExportConfig(output=str(output)),
    )


def test_training_recipe_writes_a_working_model(tiny_corpus: Path, tmp_path: Path):
    config = tiny_config(tiny_corpus, tmp_path / "model")
    directory = train(config, progress=lambda line: None)
    names = {p.name for p in directory.iterdir()}
    assert {"encoder.onnx", "classifier.npz", "tokenizer.json", "meta.json", "MODEL_CARD.md"} <= names
    meta = json.loads((directory / "meta.json").read_text("utf-8"))
    assert meta["precision"] in {"int8", "fp32"}
    assert set(meta["validation"]) == {"fp32", "int8"}
    assert meta["train_articles"] == 2 and meta["dev_articles"] == 1
    card = (directory / "MODEL_CARD.md").read_text("utf-8")
    assert f"Seed {config.training.seed}" in card and "Validation figures" in card
    assert meta["held_out_figures"]["tc"]["gold"] in {2, 3}  # the one dev article's gold spans
    assert "Figures on the dev articles" in card
    analysis = Analyzer.load(str(directory)).analyze("Title\n\nThe reckless council approved a shameful plan.\n")
    assert analysis.model == "default"
    assert len(analysis.sentences) == 2

    ensemble = build_ensemble(config, [directory, directory], tmp_path / "pair", progress=lambda line: None)
    pair = load_model(ensemble)
    assert isinstance(pair, EnsembleModel) and len(pair.members) == 2
    ensemble_card = (ensemble / "MODEL_CARD.md").read_text("utf-8")
    assert "ensemble" in ensemble_card and "Figures on the dev articles" in ensemble_card
    single = load_model(directory)
    text = "Title\n\nThe reckless council approved a shameful plan.\n"
    spans = [(7, 19), (20, 27)]
    assert np.allclose(pair.classify(pair.encode(text), spans), single.classify(single.encode(text), spans), atol=1e-6)
    other = tmp_path / "on-another-encoder"
    shutil.copytree(directory, other)
    meta = json.loads((other / "meta.json").read_text("utf-8"))
    (other / "meta.json").write_text(json.dumps(meta | {"base_encoder": "all-mpnet-base-v2"}), encoding="utf-8")
    with pytest.raises(ModelError, match="must share the encoder"):
        EnsembleModel([single, load_model(other)])

    weights = directory / "classifier.npz"
    weights.write_bytes(weights.read_bytes() + b"\0")  # as if the member had been retrained
    with pytest.raises(ModelError, match="changed since the ensemble was built"):
        load_model(ensemble)


def test_inverse_sqrt_class_weights_favour_rare_techniques():
    from propscope.training.loop import WindowExample, class_weights

    def example(labels):
        return WindowExample(
            np.zeros(3),
            np.zeros(3),
            np.zeros(3),
            np.zeros((len(labels), 2)),
            np.array(labels),
            np.zeros((0, 1)),
            np.full(3, -1.0),
        )

    weights = class_weights([example([0, 0, 0, 0]), example([1])], "inverse_sqrt").numpy()
    assert weights.mean() == pytest.approx(1.0)
    assert weights[1] == pytest.approx(2 * weights[0])  # 4 spans against 1: sqrt(4) = 2
    assert class_weights([example([0])], "none") is None


def test_length_weighted_tag_loss_lifts_short_spans():
    import torch

    from propscope.training.loop import IGNORE, tag_loss

    logits = torch.tensor([[[0.0, 2.0, 0.0], [0.0, 0.0, 2.0], [0.0, 0.0, 2.0], [0.0, 0.0, 2.0], [2.0, 0.0, 0.0]]])
    tags = torch.tensor([[0, 1, 2, 2, IGNORE]])  # an O token the model gets wrong, then a 3-token span
    lengths = torch.tensor([[0, 3, 3, 3, 0]])
    plain = torch.nn.functional.cross_entropy(logits[0, :4], tags[0, :4])
    assert tag_loss(logits, tags, lengths) == pytest.approx(plain.item())
    weighted = tag_loss(logits, tags, lengths, power=0.5)  # span tokens weigh 1/sqrt(3) each
    losses = torch.nn.functional.cross_entropy(logits[0, :4], tags[0, :4], reduction="none")
    share = 3**-0.5
    assert weighted == pytest.approx(((losses[0] + share * losses[1:].sum()) / (1 + 3 * share)).item())
    whole = tag_loss(logits, tags, lengths, power=1.0, scale=2.0)  # the span's tokens weigh 2/3 each: 2 in all
    assert whole == pytest.approx(((losses[0] + 2 / 3 * losses[1:].sum()) / 3).item())

    from propscope.training.loop import WindowExample, span_token_scale

    example = WindowExample(*(np.zeros(0),) * 2, np.array([0, 3, 3, 3, 1]), *(np.zeros(0),) * 4)
    assert span_token_scale([example], 1.0) == pytest.approx(2.0)  # weights 1/3, 1/3, 1/3, 1: mean 1/2
    assert span_token_scale([example], 0.0) == pytest.approx(1.0)


def tiny_encoder_folder(folder: Path, weight: np.ndarray) -> Path:
    """A model folder whose encoder is one MatMul by ``weight``, the other files placeholders."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, weight.shape[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, weight.shape[1]])],
        [numpy_helper.from_array(weight, "w")],
    )
    folder.mkdir()
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(folder / "encoder.onnx"))
    for name in ("classifier.npz", "tokenizer.json", "meta.json"):
        (folder / name).write_bytes(b"{}")
    return folder


def run_tiny(folder: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    return ort.InferenceSession(str(folder / "encoder.onnx")).run(None, {"x": x})[0]


def test_fp16_weight_storage_halves_the_file_and_keeps_outputs(tmp_path: Path):
    from propscope.training.export import store_weights_as_fp16

    rng = np.random.default_rng(0)
    source, target = (
        tiny_encoder_folder(tmp_path / "fp32", rng.normal(size=(64, 64)).astype(np.float32)),
        tmp_path / "fp16",
    )
    store_weights_as_fp16(source, target)
    assert (target / "encoder.onnx").stat().st_size < 0.6 * (source / "encoder.onnx").stat().st_size
    x = rng.normal(size=(1, 64)).astype(np.float32)
    assert np.allclose(run_tiny(source, x), run_tiny(target, x), rtol=1e-2, atol=1e-2)


def test_an_encoder_stored_in_fp16_quantizes_per_channel(tmp_path: Path):
    import onnx

    from propscope.model.assembly import quantize_file
    from propscope.training.export import quantize_model, restore_fp32_weights, store_weights_as_fp16

    rng = np.random.default_rng(1)
    weight = rng.normal(size=(64, 64)).astype(np.float32) * np.geomspace(0.01, 10, 64).astype(np.float32)
    source = tiny_encoder_folder(tmp_path / "fp32", weight)
    store_weights_as_fp16(source, tmp_path / "fp16")
    assert restore_fp32_weights(source / "encoder.onnx", tmp_path / "no.onnx") == source / "encoder.onnx"
    assert not (tmp_path / "no.onnx").exists()  # an fp32 graph is quantized as it is, not copied first
    restore_fp32_weights(tmp_path / "fp16" / "encoder.onnx", tmp_path / "restored.onnx")
    restored = onnx.load(str(tmp_path / "restored.onnx"))
    assert [n.op_type for n in restored.graph.node] == ["MatMul"]  # the casts are gone, the weights fp32 again
    x = rng.normal(size=(1, 64)).astype(np.float32)
    exact = run_tiny(tmp_path / "fp16", x)
    quantize_model(tmp_path / "fp16", tmp_path / "int8")
    assert sorted(p.name for p in (tmp_path / "int8").iterdir()) == sorted(p.name for p in source.iterdir())
    ops = {n.op_type for n in onnx.load(str(tmp_path / "int8" / "encoder.onnx")).graph.node}
    assert "MatMulInteger" in ops or "DynamicQuantizeMatMul" in ops
    # one scale per output column: columns 1000 times smaller than others keep their precision
    scale = np.linalg.norm(weight, axis=0) * np.linalg.norm(x)
    error = lambda folder: (np.abs(run_tiny(folder, x) - exact) / scale).max()  # noqa: E731
    quantize_file(tmp_path / "restored.onnx", tmp_path / "per-tensor.onnx")
    (tmp_path / "per-tensor").mkdir()
    (tmp_path / "per-tensor.onnx").rename(tmp_path / "per-tensor" / "encoder.onnx")
    assert error(tmp_path / "int8") < 0.01 < error(tmp_path / "per-tensor")


def test_fold_networks_quantized_again_keep_their_int8_encoder_until_it_changes(tmp_path: Path, monkeypatch):
    from propscope.training import export

    rng = np.random.default_rng(3)
    source = tiny_encoder_folder(tmp_path / "fp32", rng.normal(size=(16, 16)).astype(np.float32))
    x = rng.normal(size=(1, 16)).astype(np.float32)
    export.quantize_model(source, tmp_path / "int8", reuse=True)
    first = run_tiny(tmp_path / "int8", x)
    (source / "meta.json").write_text('{"new": 1}', encoding="utf-8")  # the other files are copied every time
    calls = []
    real = export.quantize_file
    monkeypatch.setattr(export, "quantize_file", lambda *a, **k: calls.append(a) or real(*a, **k))
    export.quantize_model(source, tmp_path / "int8", reuse=True)
    assert not calls and (tmp_path / "int8" / "meta.json").read_text("utf-8") == '{"new": 1}'
    tiny_encoder_folder(tmp_path / "other", rng.normal(size=(16, 16)).astype(np.float32))
    shutil.copyfile(tmp_path / "other" / "encoder.onnx", source / "encoder.onnx")  # retrained: quantized again
    export.quantize_model(source, tmp_path / "int8", reuse=True)
    assert len(calls) == 1 and not np.allclose(run_tiny(tmp_path / "int8", x), first)
    export.quantize_model(source, tmp_path / "shipped")  # a folder that ships carries no stamp
    assert not (tmp_path / "shipped" / export.QUANTIZED_FROM_FILE).exists()


def test_averaged_graphs_read_the_mean_of_their_sources_and_refuse_unlike_ones(tmp_path: Path):
    from propscope.training.export import average_graphs

    rng = np.random.default_rng(2)
    weights = [rng.normal(size=(8, 4)).astype(np.float32) for _ in range(3)]
    folders = [tiny_encoder_folder(tmp_path / f"n{k}", w) for k, w in enumerate(weights)]
    (tmp_path / "mean").mkdir()
    average_graphs([f / "encoder.onnx" for f in folders], tmp_path / "mean" / "encoder.onnx")
    x = rng.normal(size=(1, 8)).astype(np.float32)
    np.testing.assert_allclose(run_tiny(tmp_path / "mean", x), x @ np.mean(weights, axis=0), rtol=1e-5, atol=1e-6)
    wider = tiny_encoder_folder(tmp_path / "wider", rng.normal(size=(8, 5)).astype(np.float32))
    with pytest.raises(ValueError, match="the same inputs, output"):
        average_graphs([folders[0] / "encoder.onnx", wider / "encoder.onnx"], tmp_path / "no.onnx")


def test_teacher_loss_pulls_the_span_probability_towards_the_teachers():
    import torch

    from propscope.training.loop import teacher_loss

    logits = torch.tensor([[[1.0, 0.5, -0.5], [0.0, 2.0, 1.0], [3.0, 0.0, 0.0]]], requires_grad=True)
    soft = torch.tensor([[0.9, 0.2, -1.0]])  # the last position: no teacher's word
    inside = 1 - torch.softmax(logits, dim=-1)[..., 0]
    expected = -(soft[0, :2] * inside[0, :2].log() + (1 - soft[0, :2]) * (1 - inside[0, :2]).log()).mean()
    loss = teacher_loss(logits, soft)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    loss.backward()
    assert logits.grad[0, 0, 0] > 0 > logits.grad[0, 1, 0]  # O pushed down where the teacher says 0.9, up at 0.2
    assert not logits.grad[0, 2].any()
    assert teacher_loss(logits, torch.full((1, 3), -1.0)).item() == 0.0


def test_meme_windows_train_the_classifier_but_not_the_tagger(encoder_tokenizer_path: str):
    from propscope.corpus.labels import Label
    from propscope.document import Article
    from propscope.model.windows import WindowTokenizer
    from propscope.training.loop import IGNORE, window_examples

    tokenizer = WindowTokenizer.from_file(encoder_tokenizer_path, 32, 16)
    meme = Article("meme1", "STOP THE WASTE now")
    labels = {"meme1": [Label("meme1", 0, 14, "Slogans")]}
    tagged, untagged = (window_examples([meme], labels, tokenizer, 16, tagged=flag)[0] for flag in (True, False))
    assert (tagged.tags[1:-1] != IGNORE).all()
    assert (untagged.tags == IGNORE).all()
    assert untagged.span_labels.tolist() == tagged.span_labels.tolist() == [TECHNIQUE_NAMES.index("Slogans")]


def test_a_teacher_teaches_each_fold_with_its_own_fold_network(tiny_corpus: Path, tmp_path: Path):
    from propscope.model.windows import WindowTokenizer
    from propscope.training.loop import teacher_targets, train_network, window_examples

    base = tiny_config(tiny_corpus, tmp_path / "teacher")
    config = replace(base, data=replace(base.data, folds=2, memes_dir=""))
    teacher = train(config, progress=lambda line: None)
    student = replace(
        config,
        training=replace(config.training, teacher=str(teacher), teacher_weight=0.7),
        export=replace(config.export, output=str(tmp_path / "student")),
    )
    lines: list[str] = []
    train(student, progress=lines.append)
    taught = [line.split()[-1] for line in lines if "with the teacher" in line]
    work = teacher.parent / "teacher.work"
    assert taught == [str(work / "fold-1"), str(work / "fold-2"), str(work / "fp32")]
    meta = json.loads((tmp_path / "student" / "meta.json").read_text("utf-8"))
    assert meta["config"]["training"]["teacher"] == str(teacher)
    card = (tmp_path / "student" / "MODEL_CARD.md").read_text("utf-8")
    assert f"The tagger also learnt from a teacher, `{teacher}`" in card and "weighing 0.7" in card
    lines.clear()
    train(student, progress=lines.append)
    assert not any("with the teacher" in line for line in lines)  # the same teachers: every student kept
    with np.load(work / "fold-1" / "classifier.npz") as weights:  # the fold-1 teacher as if trained again
        retrained = {name: array + 1 if array.dtype.kind == "f" else array for name, array in weights.items()}
    np.savez(work / "fold-1" / "classifier.npz", **retrained)
    lines.clear()
    train(student, progress=lines.append)
    assert [line.split(":")[0] for line in lines if "training without" in line] == ["fold 1/2"]
    assert [line.split()[-1] for line in lines if "with the teacher" in line] == [str(work / "fold-1")]
    with np.load(work / "fp32" / "classifier.npz") as weights:  # and the teacher that ships
        retrained = {name: array + 1 if array.dtype.kind == "f" else array for name, array in weights.items()}
    np.savez(work / "fp32" / "classifier.npz", **retrained)
    lines.clear()
    train(student, progress=lines.append)
    assert [line.split()[-1] for line in lines if "with the teacher" in line] == [str(work / "fp32")]
    with pytest.raises(InputError, match="fold_share below 1 is for the yardstick alone"):
        train(replace(student, data=replace(student.data, fold_share=0.5)), progress=lambda line: None)

    corpus = load_corpus(student)
    tokenizer = WindowTokenizer.from_file(str(teacher / "tokenizer.json"), 32, 16)
    soft = teacher_targets(teacher, corpus.train, threads=1)
    article = corpus.train[0]
    assert soft[article.id].shape == (len(article.text),)
    known = soft[article.id][np.isfinite(soft[article.id])]
    assert len(known) and ((known >= 0) & (known <= 1)).all()
    window = window_examples([article], corpus.labels, tokenizer, 16, soft=soft)[0]
    assert window.soft_tags[0] == window.soft_tags[-1] == -1  # [CLS] and [SEP]
    first = tokenizer.tokenize(article.text).offsets[0]  # the same tokeniser: each piece gets its own probability
    assert window.soft_tags[1] == pytest.approx(float(np.nanmean(soft[article.id][first[0] : first[1]])))
    assert ((window.soft_tags[1:-1] >= 0) & (window.soft_tags[1:-1] <= 1)).all()

    fewer = replace(student, training=replace(student.training, max_articles=2))
    with pytest.raises(InputError, match="learnt from other articles"):
        train(fewer, progress=lambda line: None)
    shutil.rmtree(work / "fold-2")
    lines.clear()
    with pytest.raises(InputError, match="no trained network in .*fold-2"):  # found before any network trains
        train(replace(student, training=replace(student.training, seed=5)), progress=lines.append)
    assert not any("training without" in line for line in lines)
    with pytest.raises(InputError, match="train through the recipe"):
        train_network(student, corpus, progress=lambda line: None)


def test_a_teacher_without_folds_teaches_the_network_that_ships(tiny_corpus: Path, tmp_path: Path):
    base = tiny_config(tiny_corpus, tmp_path / "teacher")
    config = replace(base, data=replace(base.data, memes_dir=""))  # one dev article held out, no folds
    teacher = train(config, progress=lambda line: None)
    taught = replace(config.training, teacher=str(teacher))
    lines: list[str] = []
    train(replace(config, training=taught, export=replace(config.export, output=str(tmp_path / "s"))), lines.append)
    assert [line.split()[-1] for line in lines if "with the teacher" in line] == [str(tmp_path / "teacher.work/fp32")]
    card = (tmp_path / "s" / "MODEL_CARD.md").read_text("utf-8")
    assert "The tagger also learnt from a teacher" in card and "same fold" not in card


def test_cross_fitting_chooses_on_unseen_articles_and_resumes(tiny_corpus: Path, tmp_path: Path):
    base = tiny_config(tiny_corpus, tmp_path / "model")
    config = replace(base, data=replace(base.data, folds=2, memes_dir=""))
    lines: list[str] = []
    directory = train(config, progress=lines.append)
    meta = json.loads((directory / "meta.json").read_text("utf-8"))
    assert meta["train_articles"] == 3 and meta["dev_articles"] == 0 and meta["held_out_articles"] == 3
    folds = [json.loads((tmp_path / "model.work" / f"fold-{k}" / "meta.json").read_text("utf-8")) for k in (1, 2)]
    held_out = [fold["held_out_ids"] for fold in folds]
    assert sorted(held_out[0] + held_out[1]) == ["1", "2", "3"]
    assert [fold["train_articles"] for fold in folds] == [3 - len(ids) for ids in held_out]
    card = (directory / "MODEL_CARD.md").read_text("utf-8")
    assert "cross-fitting" in card and "Figures on out-of-fold predictions for all 3 training articles" in card
    assert meta["held_out_figures"]["tc"]["gold"] == 8  # every gold span, each scored by the fold that did not see it
    chosen_on = meta["held_out_figures"]
    assert f"span F1 {chosen_on['si']['f1']:.4f}, full-task F1 {chosen_on['flc']['f1']:.4f} there" in card
    assert sum("fold" in line and "training without" in line for line in lines) == 2

    lines.clear()
    again = json.loads((train(config, progress=lines.append) / "meta.json").read_text("utf-8"))
    assert sum("reusing" in line for line in lines) == 3  # both folds and the final network
    assert again["held_out_figures"] == meta["held_out_figures"] and again["validation"] == meta["validation"]

    moved = replace(config, export=replace(config.export, output=str(tmp_path / "moved"), name="moved"))
    shutil.copytree(tmp_path / "model.work", tmp_path / "moved.work")
    lines.clear()
    cross_fitted_models(moved, load_corpus(moved), tmp_path / "moved.work", lines.append)
    assert sum("reusing" in line for line in lines) == 2  # a model's name and folder do not change its folds
    reading = replace(moved, model=replace(moved.model, stride=8, window_merge="weighted"))
    lines.clear()
    models = cross_fitted_models(reading, load_corpus(reading), tmp_path / "moved.work", lines.append)
    assert sum("reusing" in line for line in lines) == 2  # how a network reads an article is not its training
    assert all(model.tokenizer.stride == 8 and model.weighted_windows for model, _ in models)
    reseeded = replace(moved, training=replace(moved.training, seed=moved.training.seed + 1))
    lines.clear()
    cross_fitted_models(reseeded, load_corpus(reseeded), tmp_path / "moved.work", lines.append)
    assert sum("training without" in line for line in lines) == 2
    with pytest.raises(InputError, match="--folds"):
        build_ensemble(config, [directory], tmp_path / "pair", progress=lambda line: None)
    with pytest.raises(InputError, match="not fold 1"):
        build_ensemble(config, [directory], tmp_path / "pair", lambda line: None, fold_works=[tmp_path])

    work = tmp_path / "model.work"
    pair = build_ensemble(config, [directory, directory], tmp_path / "pair", lambda line: None, [work, work])
    pair_meta = json.loads((pair / "meta.json").read_text("utf-8"))
    # twice the same networks average to themselves: the same out-of-fold choice and figures as one model
    assert pair_meta["held_out_articles"] == 3
    assert pair_meta["decoding"] == meta["decoding"] and pair_meta["held_out_figures"] == meta["held_out_figures"]
    assert "Figures on out-of-fold predictions for all 3 training articles" in (pair / "MODEL_CARD.md").read_text()


@pytest.mark.parametrize("encoder", ["all-MiniLM-L6-v2", "tiny_installed_encoder"])
def test_the_exported_model_reads_like_the_torch_network(
    encoder: str, tiny_corpus: Path, tmp_path: Path, request: pytest.FixtureRequest
):
    """On MiniLM, and on an MPNet (no segment ids; windows framed by <s> ... </s>, not by its unused [CLS])."""
    import torch

    from propscope.model.encoders import encoder_folder
    from propscope.model.features import ArticleSignals
    from propscope.model.inference import OnnxModel
    from propscope.training.export import export_model
    from propscope.training.loop import train_network

    base = tiny_config(tiny_corpus, tmp_path / "model")
    config = replace(
        base,
        training=replace(base.training, epochs=1, dropout_masks="bytes"),
        model=replace(
            base.model, hidden_dropout=0.0, encoder=request.getfixturevalue(encoder) if "tiny" in encoder else encoder
        ),
    )
    network = train_network(config, load_corpus(config), progress=lambda line: None)
    assert network.encoder.config.hidden_dropout_prob == 0.0  # the installed encoder's own is 0.1
    assert not any(type(m) is torch.nn.Dropout for m in network.modules())  # all drew masks from bytes
    meta = {"window_tokens": 32, "stride": 16, "techniques": list(TECHNIQUE_NAMES), "config": config.to_dict()}
    export_model(network, encoder_folder(config.model.encoder), tmp_path / "exported", meta)
    model = OnnxModel(tmp_path / "exported")

    text = "Jobs first\n\nJOBS FIRST, they chanted. Jobs first!\nCan we trust the mayor?\n"
    encoded = model.encode(text)
    window = encoded.windows[0]
    ids, mask = (torch.from_numpy(array) for array in model.tokenizer.batch(encoded.tokens, [window]))
    framing = model.tokenizer.tokenizer.encode("", add_special_tokens=True).ids
    assert [ids[0, 0], ids[0, window.end - window.start + 1]] == framing
    opening = model.tokenizer.tokenizer.token_to_id("<s>" if "tiny" in encoder else "[CLS]")
    assert ids[0, 0] == opening
    start = text.index("trust")
    first, last = encoded.tokens.token_range(start, start + 5)
    with torch.no_grad():
        hidden = network.encode(ids, mask)
        logits = network.classify(
            hidden,
            mask,
            torch.zeros(1, dtype=torch.long),
            torch.tensor([[first, last]]),
            torch.from_numpy(ArticleSignals(text).features(start, start + 5)[None]),
        )
    n = window.end - window.start + 2
    assert np.allclose(encoded.hidden[0, :n], hidden[0].numpy(), atol=1e-3)
    expected = torch.softmax(logits, dim=-1).numpy()
    assert np.allclose(model.classify(encoded, [(start, start + 5)]), expected, atol=1e-3)


def verifier_config(corpus: Path, output: Path) -> Config:
    output.parent.mkdir(parents=True, exist_ok=True)
    config = tiny_config(corpus, output)
    return replace(
        config,
        data=replace(config.data, pool="all", folds=2, memes_dir=""),
        verifier=VerifierConfig(enabled=True, epochs=1, batch_size=4, max_tokens=32),
        export=replace(config.export, precision="fp16-weights"),
    )


def test_a_verifier_model_trains_on_every_article_and_reports_its_folds(tiny_corpus: Path, tmp_path: Path):
    directory = train(verifier_config(tiny_corpus, tmp_path / "model"), progress=lambda line: None)
    assert (directory / "verifier.onnx").exists()
    meta = json.loads((directory / "meta.json").read_text("utf-8"))
    assert meta["train_articles"] == 4 and meta["validation"] == {}  # both splits trained it
    assert len(meta["fold_figures"]["tc"]["folds"]) == 2
    assert {"auroc", "precision_over_half", "ece_after"} <= set(meta["calibration_figures"])
    assert meta["calibration_figures"]["measured_on"] == "cross_fitted"  # each fold scored by the others' curve
    assert set(meta["calibration"].get("technique_offsets", {})) <= set(TECHNIQUE_NAMES)
    card = (directory / "MODEL_CARD.md").read_text("utf-8")
    assert "verifier" in card and "Fold by fold" in card and "Validation figures" not in card
    model = load_model(directory)
    assert model.multi_label
    text = "Title\n\nThe reckless council approved a shameful plan.\n"
    probabilities = model.classify(model.encode(text), [(7, 19), (20, 27)])
    assert probabilities.shape == (2, len(TECHNIQUE_NAMES)) and ((probabilities >= 0) & (probabilities <= 1)).all()
    analysis = Analyzer(model).analyze(text)
    assert all(0 < span.score <= 1 for span in analysis.spans)


def test_averaged_verifier_networks_train_with_successive_seeds_and_are_reused_one_by_one(
    tiny_corpus: Path, tmp_path: Path
):
    from propscope.model.verifier import Verifier
    from propscope.training.verifier import verifier_for

    config = verifier_config(tiny_corpus, tmp_path / "model")
    corpus = load_corpus(config)
    two = replace(config, verifier=replace(config.verifier, networks=2))
    lines: list[str] = []
    averaged = verifier_for(two, corpus.train, corpus.labels, tmp_path / "v", lines.append)
    seeds = [json.loads((averaged / f"seed-{s}" / "identity.json").read_text("utf-8"))["seed"] for s in (13, 14)]
    assert averaged == tmp_path / "v" and seeds == [13, 14] and not any("reusing" in line for line in lines)
    text = "Title\n\nThe reckless council approved a shameful plan.\n"
    spans = [(7, 19), (20, 27), (0, 5)]
    read = lambda folder: Verifier(folder, folder / "tokenizer.json", 32).probabilities(text, spans)  # noqa: E731
    members = [read(averaged / f"seed-{s}") for s in (13, 14)]
    assert not np.allclose(members[0], members[1])  # the seeds made different networks ...
    np.testing.assert_allclose(read(averaged), np.mean(members, axis=0), atol=1e-6)  # ... which one graph averages
    lines.clear()
    one = verifier_for(config, corpus.train, corpus.labels, tmp_path / "v", lines.append)
    assert one == tmp_path / "v" / "seed-13" and lines == [f"reusing the verifier in {one}"]
    assert not (averaged / "verifier.onnx").exists()  # no earlier average left beside the network in use


def test_a_model_names_techniques_with_another_models_verifier_and_its_own_head(
    tiny_corpus: Path, tmp_path: Path, tiny_installed_encoder: str
):
    from propscope.model.verifier import Verifier, blend_naming

    source = train(verifier_config(tiny_corpus, tmp_path / "a" / "source"), progress=lambda line: None)
    base = verifier_config(tiny_corpus, tmp_path / "b" / "model")
    config = replace(
        base,
        model=replace(base.model, encoder=tiny_installed_encoder),  # an MPNet tagger beside the MiniLM verifier
        verifier=replace(base.verifier, tagger_weight=0.5),
        export=replace(base.export, verifier_from=str(source)),
    )
    with pytest.raises(InputError, match="was not trained with this configuration's"):  # before any training
        train(replace(config, verifier=replace(config.verifier, epochs=2)), progress=lambda line: None)
    with pytest.raises(InputError, match="verifier_from needs cross-fitting"):
        train(replace(config, data=replace(config.data, folds=0)), progress=lambda line: None)
    directory = train(config, progress=lambda line: None)

    # fold networks carry their own verifier, with its tokenizer beside the tagger's
    fold = tmp_path / "b" / "model.work" / "fold-1"
    assert (fold / "verifier-tokenizer.json").read_bytes() == (source / "tokenizer.json").read_bytes()
    assert (fold / "tokenizer.json").read_bytes() != (source / "tokenizer.json").read_bytes()
    # the model that ships names the source's verifier instead of a copy, and blends its head in
    assert not (directory / "verifier.onnx").exists()
    meta = json.loads((directory / "meta.json").read_text("utf-8"))
    assert meta["verifier_from"] == "../../a/source" and meta["verifier"]["tagger_weight"] == 0.5
    model = load_model(directory)
    text = "Title\n\nThe reckless council approved a shameful plan.\n"
    spans = [(7, 19), (20, 27)]
    encoded = model.encode(text)
    verifier = Verifier(source, source / "tokenizer.json", 32).probabilities(text, spans)
    expected = blend_naming(model.head_probabilities(encoded, spans), verifier, 0.5)
    np.testing.assert_allclose(model.classify(encoded, spans), expected, atol=1e-6)
    assert not np.allclose(expected, verifier, atol=1e-3)  # the head moved the verifier's reading
    card = (directory / "MODEL_CARD.md").read_text("utf-8")
    assert "so not shipped twice" in card and "which weighs 0.5" in card

    assert model_status(str(directory)).note == f"ships whole; names techniques with the verifier in {source}"

    with (source / "verifier.onnx").open("ab") as network:
        network.write(b"retrained")
    with pytest.raises(ModelError, match="changed since this model was built"):
        load_model(directory)
    status = model_status(str(directory))
    assert not status.ready and "changed since this model was built" in status.note


def train_tiny_tagger(corpus: Path, folder: Path) -> Path:
    """A tagger without a verifier, trained on the tiny corpus's training split, in ``folder``/tagger."""
    folder.mkdir()
    config = tiny_config(corpus, folder / "tagger")
    data, export = replace(config.data, memes_dir=""), replace(config.export, precision="fp16-weights")
    return train(replace(config, data=data, export=export), progress=lambda line: None)


def test_a_verifier_added_to_a_trained_tagger_keeps_its_networks(tiny_corpus: Path, tmp_path: Path):
    import onnx

    tagger = train_tiny_tagger(tiny_corpus, tmp_path / "t")
    config = verifier_config(tiny_corpus, tmp_path / "v" / "model")
    pooled = replace(config, export=replace(config.export, output=str(tmp_path / "v" / "pooled")))
    trained_on_all = train(pooled, progress=lambda line: None)
    with pytest.raises(InputError, match="training split alone"):
        add_verifier(config, trained_on_all, progress=lambda line: None)
    as_delta = tmp_path / "as-delta"
    as_delta.mkdir()
    (as_delta / "encoder.delta.onnx").write_bytes(b"")
    with pytest.raises(InputError, match="a tagger shipped as a delta takes no verifier here"):
        add_verifier(config, as_delta, progress=lambda line: None)
    with pytest.raises(InputError, match="a verifier added to a tagger is trained for it"):
        add_verifier(replace(config, export=replace(config.export, verifier_from="default")), tagger)
    directory = add_verifier(config, tagger, progress=lambda line: None, command="propscope train --tagger x")
    assert (directory / "encoder.onnx").read_bytes() == (tagger / "encoder.onnx").read_bytes()
    meta = json.loads((directory / "meta.json").read_text("utf-8"))
    assert meta["verifier_articles"] == 4 and meta["train_articles"] == 2
    assert meta["chosen_on"] == "the 2 validation articles" and "technique_threshold" in meta["decoding"]
    card = (directory / "MODEL_CARD.md").read_text("utf-8")
    assert "The verifier: fine-tuned on all 4 articles" in card and "`propscope train --tagger x`" in card
    assert load_model(directory).multi_label

    # an ensemble of the verified model and a plain tagger names techniques with the verifier alone, and
    # chooses on the validation split read by stand-ins that did not learn from it
    chooser = tmp_path / "v" / "model.work" / "chooser"
    pair = build_ensemble(
        config, [directory, tagger], tmp_path / "pair", progress=lambda line: None, stand_ins=[chooser, tagger]
    )
    ensemble = load_model(pair)
    assert isinstance(ensemble, EnsembleModel) and ensemble.multi_label
    text = "Title\n\nThe reckless council approved a shameful plan.\n"
    verified = load_model(directory)
    assert np.allclose(
        ensemble.classify(ensemble.encode(text), [(7, 19)]), verified.classify(verified.encode(text), [(7, 19)])
    )
    meta = json.loads((pair / "meta.json").read_text("utf-8"))
    assert meta["chosen_on"].startswith("the 2 validation articles") and meta["validation"] == {}
    card = (pair / "MODEL_CARD.md").read_text("utf-8")
    assert "Validation figures" not in card
    assert "named by the verifier network of the members that have one (1 of 2;" in card
    verifier = directory / "verifier.onnx"
    verifier.write_bytes(verifier.read_bytes() + b"\0")  # as if the member's verifier alone had been retrained
    with pytest.raises(ModelError, match="changed since the ensemble was built"):
        load_model(pair)

    # networks trained on every article, every choice made by the stand-in that left the validation split out
    with pytest.raises(InputError, match="training split alone"):
        train_with_stand_in(config, trained_on_all, progress=lambda line: None)
    whole = train_with_stand_in(
        replace(config, export=replace(config.export, output=str(tmp_path / "all"))), chooser, lambda line: None
    )
    meta = json.loads((whole / "meta.json").read_text("utf-8"))
    assert meta["train_articles"] == 4 and meta["chosen_on"].startswith("the 2 validation articles, read by a stand-in")
    assert meta["calibration"] and meta["decoding"]["technique_threshold"] and (whole / "verifier.onnx").exists()
    assert meta["calibration_figures"]["measured_on"] == "cross_validated"  # one reader: five folds by article
    assert load_model(whole).multi_label
    assert "read by a stand-in that had not seen them: a tagger and a verifier" in (whole / "MODEL_CARD.md").read_text()

    # the same networks trained again, reading articles as the model made above does: no stand-in, no choice made
    copy = replace(config, export=replace(config.export, output=str(tmp_path / "copy")))
    with pytest.raises(InputError, match="other windows"):
        train_reading_as(
            replace(copy, model=replace(copy.model, stride=copy.model.stride - 1)), whole, lambda line: None
        )
    with pytest.raises(InputError, match="must carry a verifier trained with"):
        train_reading_as(replace(copy, verifier=replace(copy.verifier, random=0)), whole, lambda line: None)
    again = train_reading_as(copy, whole, lambda line: None, command="propscope train --reading-of x")
    first, second = (json.loads((folder / "meta.json").read_text("utf-8")) for folder in (whole, again))
    for key in ("decoding", "calibration", "calibration_figures", "held_out_figures", "chosen_on"):
        assert second[key] == first[key]
    assert second["train_articles"] == 4 and second["command"] == "propscope train --reading-of x"
    card = (again / "MODEL_CARD.md").read_text("utf-8")
    assert f"reads articles as `{first['name']}` ({first['created']}) does" in card
    assert "read by a stand-in that had not seen them" in card  # how the choices it took over were made
    text = "Title\n\nThe reckless council approved a shameful plan.\n"
    assert Analyzer(load_model(again)).analyze(text).spans == Analyzer(load_model(whole)).analyze(text).spans

    # a new verifier recipe retrains the verifier alone: the tagger trained on every article is kept, and an int8
    # tagger ships from it, its choices made on the stand-in read in int8 too
    verifier_bytes = (whole / "verifier.onnx").read_bytes()
    lines: list[str] = []
    export = replace(config.export, output=str(whole), precision="int8")
    recipe = replace(config, export=export, verifier=replace(config.verifier, random=0))
    with pytest.raises(InputError, match="must carry a verifier trained with"):
        train_with_stand_in(recipe, chooser, lines.append)  # its choices were made for another verifier
    other = replace(recipe, export=replace(config.export, output=str(tmp_path / "v0" / "model")))
    add_verifier(other, tagger, progress=lambda line: None)
    chooser = tmp_path / "v0" / "model.work" / "chooser"
    again = train_with_stand_in(recipe, chooser, lines.append)
    assert sum("keeping the tagger" in line for line in lines) == 1
    assert not any(" windows, " in line for line in lines)  # the tagger did not train
    assert (again / "verifier.onnx").read_bytes() != verifier_bytes
    assert json.loads((again / "meta.json").read_text("utf-8"))["verifier"]["random"] == 0
    for folder in (again, tmp_path / "all.work" / "stand-in-int8"):
        assert "MatMulInteger" in {n.op_type for n in onnx.load(str(folder / "encoder.onnx")).graph.node}
    assert load_model(again).multi_label
    lines.clear()
    longer = replace(recipe, training=replace(recipe.training, epochs=recipe.training.epochs + 1))
    train_with_stand_in(longer, chooser, lines.append)  # a tagger setting changed: the tagger trains again
    assert any(" windows, " in line for line in lines) and not any("keeping the tagger" in line for line in lines)
    assert any("reusing the verifier" in line for line in lines)


def test_imported_corpus_folders_join_the_training_articles(tiny_corpus: Path, tmp_path: Path):
    folder = tmp_path / "corrections"
    text = "Corrected\n\nThe greedy developers won again.\n"
    start = text.index("greedy developers")
    write_corpus_folder(folder, [Article("900", text)], [Label("900", start, start + 17, "Name_Calling,Labeling")])
    config = tiny_config(tiny_corpus, tmp_path / "model")
    corpus = load_corpus(replace(config, data=replace(config.data, extra_folders=[str(folder)])))
    assert "900" in {a.id for a in corpus.train}
    assert [label.technique for label in corpus.labels["900"]] == ["Name_Calling,Labeling"]
    write_corpus_folder(folder, [Article("1", text)], [])
    with pytest.raises(InputError, match="already in the training data"):
        load_corpus(replace(config, data=replace(config.data, extra_folders=[str(folder)])))


@pytest.mark.parametrize("family", ["bert", "mpnet"])
def test_cpu_attention_computes_the_same_and_hands_the_encoder_back(family: str):
    import torch
    from transformers import BertConfig, BertModel, MPNetConfig, MPNetModel

    from propscope.training.loop import cpu_attention

    sizes = {"vocab_size": 50, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2}
    make, settings = {"bert": (BertModel, BertConfig), "mpnet": (MPNetModel, MPNetConfig)}[family]
    encoder = make(settings(**sizes, intermediate_size=32)).eval()
    loaded = encoder.config._attn_implementation
    ids = torch.randint(5, 50, (3, 12))
    mask = torch.ones_like(ids)
    mask[1, 7:] = 0  # a padded window: the mask must weigh the same in both implementations
    before = encoder(input_ids=ids, attention_mask=mask).last_hidden_state
    with cpu_attention(encoder, torch.device("cpu")):
        assert encoder.config._attn_implementation == "eager"
        during = encoder(input_ids=ids, attention_mask=mask).last_hidden_state
    assert encoder.config._attn_implementation == loaded
    assert torch.allclose(before[mask.bool()], during[mask.bool()], atol=1e-5)
    with pytest.raises(RuntimeError), cpu_attention(encoder, torch.device("cpu")):
        raise RuntimeError("a step failed")
    assert encoder.config._attn_implementation == loaded


def test_fused_adamw_steps_as_the_per_tensor_loop_does():
    import torch

    from propscope.training.loop import adamw

    torch.manual_seed(0)
    weights = [torch.randn(4, 3, requires_grad=True), torch.randn(3, requires_grad=True)]
    copies = [w.detach().clone().requires_grad_() for w in weights]
    start = [w.detach().clone() for w in weights]
    fused = adamw([{"params": weights, "lr": 0.1}], 0.01, torch.device("cpu"))
    plain = torch.optim.AdamW([{"params": copies, "lr": 0.1}], weight_decay=0.01, foreach=False)
    assert fused.defaults["fused"]
    for _ in range(3):
        for optimizer, ws in ((fused, weights), (plain, copies)):
            optimizer.zero_grad()
            (ws[0].sum(0) * ws[1]).pow(2).sum().backward()
            optimizer.step()
    for w, c, s in zip(weights, copies, start, strict=True):
        assert torch.allclose(w, c, atol=1e-6)
        assert not torch.allclose(w, s, atol=1e-3)  # the steps moved the weights
