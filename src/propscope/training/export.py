"""Turning the trained torch network into a model folder that runs on ONNX Runtime alone."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from propscope.model.assembly import VERIFIER_TOKENIZER_FILE, quantize_file
from propscope.model.inference import CLASSIFIER_FILE, ENCODER_FILE, META_FILE, TOKENIZER_FILE
from propscope.model.verifier import VERIFIER_FILE

ONNX_OPSET = 17


def export_model(model: Any, encoder_dir: Path, output: Path, meta: dict[str, Any]) -> None:
    """Write ``encoder.onnx`` (fp32), ``classifier.npz``, the tokenizer and ``meta.json``."""
    import torch

    from propscope.training.network import ExportedEncoder

    output.mkdir(parents=True, exist_ok=True)
    wrapper = ExportedEncoder(model).eval()
    ones = torch.ones((2, 16), dtype=torch.long)
    inputs = {"input_ids": ones, "attention_mask": ones}
    with torch.no_grad():
        torch.onnx.export(
            wrapper,
            tuple(inputs.values()),
            str(output / ENCODER_FILE),
            input_names=list(inputs),
            output_names=["bio", "hidden"],
            dynamic_axes={name: {0: "windows", 1: "positions"} for name in [*inputs, "bio", "hidden"]},
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
    first, _, _, last = model.classifier
    np.savez(
        output / CLASSIFIER_FILE,
        w1=first.weight.detach().numpy().T.astype(np.float32),
        b1=first.bias.detach().numpy().astype(np.float32),
        w2=last.weight.detach().numpy().T.astype(np.float32),
        b2=last.bias.detach().numpy().astype(np.float32),
    )
    shutil.copyfile(encoder_dir / "tokenizer.json", output / TOKENIZER_FILE)
    write_meta(output, meta)


def write_meta(output: Path, meta: dict[str, Any]) -> None:
    (output / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


QUANTIZED_FROM_FILE = f"{ENCODER_FILE}.quantized-from"  # the source encoder's digest, written once its int8 is whole


def quantize_model(source: Path, target: Path, reuse: bool = False) -> None:
    """Dynamic int8 weights for the encoder, one scale per output channel; the small classifier stays fp32.

    Per channel, with the decoding chosen on the int8 reading, a tagger lost 0.006 span F1 where one scale per
    matrix lost 0.014 (bench/RESULTS.md). ``source`` may hold weights stored in fp16: they are restored first.
    ``reuse``: keep an int8 encoder ``target`` already holds of the same source encoder (fold networks read again:
    a minute each for MPNet); the stamp that says so stays out of folders that ship.
    """
    _copy_beside_encoder(source, target)
    stamp = target / QUANTIZED_FROM_FILE
    digest = f"{_file_digest(source / ENCODER_FILE)} int8 per channel" if reuse else ""  # what it was, and how
    if reuse and stamp.exists() and stamp.read_text("utf-8") == digest and (target / ENCODER_FILE).exists():
        return
    stamp.unlink(missing_ok=True)
    restored = target / f"{ENCODER_FILE}.fp32"
    try:
        quantize_file(restore_fp32_weights(source / ENCODER_FILE, restored), target / ENCODER_FILE, per_channel=True)
    finally:
        restored.unlink(missing_ok=True)
    if reuse:
        stamp.write_text(digest, encoding="utf-8")


def _file_digest(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def _copy_beside_encoder(source: Path, target: Path) -> None:
    """Every file of a model folder but the encoder (the verifier keeps the precision it was exported in)."""
    target.mkdir(parents=True, exist_ok=True)
    for name in (VERIFIER_FILE, VERIFIER_TOKENIZER_FILE):  # an earlier export's must not outlive its model
        (target / name).unlink(missing_ok=True)
    for name in (CLASSIFIER_FILE, TOKENIZER_FILE, META_FILE, VERIFIER_FILE, VERIFIER_TOKENIZER_FILE):
        if name in (CLASSIFIER_FILE, TOKENIZER_FILE, META_FILE) or (source / name).exists():
            shutil.copyfile(source / name, target / name)


def store_weights_as_fp16(source: Path, target: Path) -> None:
    """The model folder with its encoder's weights stored in fp16 (``store_file_weights_as_fp16``)."""
    _copy_beside_encoder(source, target)
    store_file_weights_as_fp16(source / ENCODER_FILE, target / ENCODER_FILE)


def store_file_weights_as_fp16(source: Path, target: Path) -> None:
    """Halve the file by storing float weights as fp16, cast back to fp32 when the session loads.

    ONNX Runtime folds each Cast of a constant at load time, so the model computes in fp32 as before;
    only the weights' precision (about three decimal digits) changes.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    casts = []
    for initializer in list(graph.initializer):
        if initializer.data_type != TensorProto.FLOAT or np.prod(initializer.dims) < 1024:
            continue
        stored = numpy_helper.from_array(
            numpy_helper.to_array(initializer).astype(np.float16), initializer.name + "_fp16"
        )
        graph.initializer.remove(initializer)
        graph.initializer.append(stored)
        casts.append(helper.make_node("Cast", [stored.name], [initializer.name], to=TensorProto.FLOAT))
    for offset, node in enumerate(casts):
        graph.node.insert(offset, node)
    onnx.save(model, str(target))


def restore_fp32_weights(source: Path, target: Path) -> Path:
    """Undo ``store_file_weights_as_fp16``: every weight cast from fp16 becomes an fp32 weight again (exactly the
    values the session computed with), so the graph can be quantized. Returns the fp32 graph: ``target``, or
    ``source`` itself where it stores no weight in fp16 (then nothing is written)."""
    import onnx
    from onnx import TensorProto, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    stored = {i.name: i for i in graph.initializer if i.data_type == TensorProto.FLOAT16}
    casts = [n for n in graph.node if n.op_type == "Cast" and n.input[0] in stored]
    if not casts:
        return source
    for node in casts:
        weight = stored.pop(node.input[0])
        graph.initializer.remove(weight)
        graph.initializer.append(
            numpy_helper.from_array(numpy_helper.to_array(weight).astype(np.float32), node.output[0])
        )
        graph.node.remove(node)
    onnx.save(model, str(target))
    return target


def average_graphs(sources: list[Path], target: Path) -> None:
    """One graph that runs every source graph on the same inputs and outputs the mean of their (single) outputs.

    The sources must share inputs and output: verifiers trained with different seeds, each already in its shipped
    precision. One file keeps the runtime unchanged: a model folder still holds one ``verifier.onnx``.
    """
    import onnx
    from onnx import compose, helper

    models = [onnx.load(str(path)) for path in sources]
    first = models[0]
    inputs = [i.name for i in first.graph.input]

    def signature(model: onnx.ModelProto) -> tuple:
        graph = model.graph
        return (
            [(i.name, i.type) for i in graph.input],
            [(o.name, o.type) for o in graph.output],
            list(model.opset_import),
            model.ir_version,
        )

    if (
        len(first.graph.output) != 1
        or {i.name for i in first.graph.initializer} & set(inputs)
        or any(signature(m) != signature(first) for m in models[1:])
    ):
        raise ValueError(
            f"averaging {', '.join(map(str, sources))}: each graph needs one output, inputs that are not weights, "
            "and the same inputs, output, opsets and IR version as the others (retrain the odd one out)"
        )
    parts = [compose.add_prefix_graph(m.graph, f"n{k}/") for k, m in enumerate(models)]
    for k, part in enumerate(parts):  # every copy reads the shared inputs (done here: onnx < 1.19 cannot spare them)
        shared = {f"n{k}/{name}": name for name in inputs}
        for node in part.node:
            node.input[:] = [shared.get(name, name) for name in node.input]
    output = first.graph.output[0]
    graph = helper.make_graph(
        [node for part in parts for node in part.node]
        + [helper.make_node("Mean", [part.output[0].name for part in parts], [output.name], name="average")],
        "averaged",
        list(first.graph.input),
        [output],
        initializer=[i for part in parts for i in part.initializer],
        value_info=[v for part in parts for v in part.value_info],
    )
    merged = helper.make_model(graph, opset_imports=first.opset_import, ir_version=first.ir_version)
    onnx.checker.check_model(merged)
    onnx.save(merged, str(target))
