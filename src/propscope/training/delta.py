"""Networks shipped as deltas over the installed encoder (``model/assembly.py`` assembles them).

An adapter-trained verifier is exported to ONNX with each adapter merged into its layer; a fully fine-tuned
tagger's change to each encoder matrix is cut to its best rank-r approximation. Every weight of the graph that
is an installed encoder tensor (or its transpose), or one plus a low-rank update, is then taken out and named
instead: what stays is the graph, the small tensors training changed (heads, biases, layer norms) and the
updates' factors, a few MB where the whole network is hundreds.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from propscope.model.assembly import DELTA_KEY, ENCODER_DELTA_FILE, SMALLEST_BASE_TENSOR, VERIFIER_DELTA_FILE, fill_in
from propscope.model.encoders import encoder_by_name, encoder_folder, read_safetensors
from propscope.training.config import Config


def export_verifier_delta(model, output: Path, config: Config) -> Path:
    """Write ``verifier.delta.onnx`` for a ``PairClassifier`` whose encoder carries ``LowRankAdapted`` layers."""
    import onnx
    from onnx import numpy_helper
    from torch import nn

    from propscope.training.network import LowRankAdapted
    from propscope.training.verifier import export_verifier

    encoder = encoder_by_name(config.verifier.encoder)
    merged = copy.deepcopy(model)
    # a merged weight's digest -> the encoder tensor, whether the graph holds it transposed, and the factors
    factors: dict[bytes, tuple[str, bool, np.ndarray, np.ndarray]] = {}
    base = read_safetensors(encoder_folder(encoder.name) / "model.safetensors")
    by_digest = _digests(base)
    for parent in list(merged.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, LowRankAdapted):
                weight = child.merged_weight().detach().float()
                key, transposed = by_digest[_digest(child.base.weight.detach().numpy())]
                if transposed:
                    raise ValueError(f"{key}: an encoder tensor stored transposed cannot take an adapter")
                up = (child.scale * child.up.weight).detach().numpy()
                down = child.down.weight.detach().numpy()
                factors[_digest(weight.numpy())] = (key, False, up, down)  # W' = W + up @ down
                factors[_digest(weight.numpy().T)] = (key, True, down.T, up.T)  # W'^T = W^T + down^T @ up^T
                layer = nn.Linear(child.base.in_features, child.base.out_features, bias=child.base.bias is not None)
                layer.weight.data, layer.bias = weight, child.base.bias
                setattr(parent, name, layer)
    with tempfile.TemporaryDirectory() as work:
        export_verifier(merged, Path(work), "fp32")
        graph_model = onnx.load(str(Path(work) / "verifier.onnx"))
    recipe: dict[str, dict] = {}
    kept = []
    for tensor in graph_model.graph.initializer:
        values = numpy_helper.to_array(tensor)
        digest = _digest(values) if values.size >= SMALLEST_BASE_TENSOR else b""
        if digest in factors:
            key, transposed, left, right = factors[digest]
            recipe[tensor.name] = {"base": key, "transpose": transposed, "delta": True}
            kept += [
                numpy_helper.from_array(left.astype(np.float16), f"{tensor.name}/left"),
                numpy_helper.from_array(right.astype(np.float16), f"{tensor.name}/right"),
            ]
        elif digest in by_digest:
            key, transposed = by_digest[digest]
            recipe[tensor.name] = {"base": key, "transpose": transposed, "delta": False}
        else:
            kept.append(tensor)
    del graph_model.graph.initializer[:]
    graph_model.graph.initializer.extend(kept)
    record = {
        "encoder": encoder.name,
        "sha256": encoder.sha256,
        "precision": config.export.verifier_precision,
        "tensors": recipe,
    }
    onnx.helper.set_model_props(graph_model, {DELTA_KEY: json.dumps(record)})
    output.mkdir(parents=True, exist_ok=True)
    onnx.save(graph_model, str(output / VERIFIER_DELTA_FILE))
    return output / VERIFIER_DELTA_FILE


def _digest(values: np.ndarray) -> bytes:
    return hashlib.sha256(np.ascontiguousarray(values, dtype=np.float32).tobytes()).digest() + bytes(
        str(values.shape), "ascii"
    )


def _digests(base: dict[str, np.ndarray]) -> dict[bytes, tuple[str, bool]]:
    """Every large float tensor of the encoder, and its transpose, by content."""
    found: dict[bytes, tuple[str, bool]] = {}
    for key, values in base.items():
        if values.dtype == np.float32 and values.size >= SMALLEST_BASE_TENSOR:
            found.setdefault(_digest(values), (key, False))
            if values.ndim == 2:
                found.setdefault(_digest(values.T), (key, True))
    return found


def fine_tuned_delta(graph_model, encoder_name: str, rank: int, precision: str) -> tuple[dict, float]:
    """Take the encoder's matrices out of a fully fine-tuned network's ONNX graph, in place: each becomes the
    installed tensor plus the best rank-``rank`` approximation (SVD) of what fine-tuning changed, stored as two
    fp16 factors. Returns the delta's record and the largest share of a change the cut left out (relative
    Frobenius norm), a measure of what the rank loses.

    Export renames the weights a matrix product reads (``onnx::MatMul_N``, transposed), so each graph matrix is
    matched to the installed tensor of its shape, either way round, nearest to it: fine-tuning moves weights
    far less than they differ from one another. A matrix training left as installed (frozen word embeddings)
    is named without factors. An int8 delta is quantized per output channel, as the tagger's export is.
    """
    from onnx import numpy_helper

    encoder = encoder_by_name(encoder_name)
    base = {
        key: values
        for key, values in read_safetensors(encoder_folder(encoder.name) / "model.safetensors").items()
        if values.dtype == np.float32 and values.ndim == 2 and values.size >= SMALLEST_BASE_TENSOR
    }
    recipe: dict[str, dict] = {}
    kept, worst = [], 0.0
    for tensor in graph_model.graph.initializer:
        values = numpy_helper.to_array(tensor)
        match = _nearest(values, base) if values.ndim == 2 and values.dtype == np.float32 else None
        if match is None:
            kept.append(tensor)
            continue
        key, transposed = match
        change = values - (base[key].T if transposed else base[key])
        if not change.any():
            recipe[tensor.name] = {"base": key, "transpose": transposed, "delta": False}
            continue
        u, s, vt = np.linalg.svd(change, full_matrices=False)
        worst = max(worst, float(np.sqrt((s[rank:] ** 2).sum() / max((s**2).sum(), 1e-30))))
        recipe[tensor.name] = {"base": key, "transpose": transposed, "delta": True}
        kept += [
            numpy_helper.from_array((u[:, :rank] * s[:rank]).astype(np.float16), f"{tensor.name}/left"),
            numpy_helper.from_array(vt[:rank].astype(np.float16), f"{tensor.name}/right"),
        ]
    del graph_model.graph.initializer[:]
    graph_model.graph.initializer.extend(kept)
    record = {"encoder": encoder.name, "sha256": encoder.sha256, "precision": precision, "per_channel": True}
    return record | {"tensors": recipe}, worst


def cut_to_rank(exported: Path, encoder_name: str, rank: int) -> float:
    """Rewrite an exported fp32 tagger (``encoder.onnx``) in place as it ships as a delta: the installed encoder
    plus the rank-``rank`` cut of each change, so that every reading of it (fold figures, choices, int8) measures
    what ships. Returns the largest share of a change the cut left out (``fine_tuned_delta``)."""
    import onnx

    graph = onnx.load(str(exported))
    record, lost = fine_tuned_delta(graph, encoder_name, rank, "fp32")
    fill_in(graph, record, read_safetensors(encoder_folder(encoder_name) / "model.safetensors"), str(exported))
    partial = exported.with_name(f".{exported.name}.cut")
    onnx.save(graph, str(partial))
    os.replace(partial, exported)  # a run stopped meanwhile leaves the export as it was
    return lost


def write_tagger_delta(exported: Path, output: Path, encoder_name: str, rank: int, precision: str) -> Path:
    """``output/encoder.delta.onnx`` from an exported fp32 tagger: what the repository ships of it."""
    import onnx

    graph = onnx.load(str(exported))
    record, _ = fine_tuned_delta(graph, encoder_name, rank, precision)
    onnx.helper.set_model_props(graph, {DELTA_KEY: json.dumps(record)})
    onnx.save(graph, str(output / ENCODER_DELTA_FILE))
    return output / ENCODER_DELTA_FILE


def _nearest(values: np.ndarray, base: dict[str, np.ndarray]) -> tuple[str, bool] | None:
    """The installed tensor (or transpose) ``values`` was fine-tuned from, if any: same shape, and closer to
    it than half its own norm."""
    best, best_distance = None, np.inf
    for key, installed in base.items():
        for transposed, oriented in ((False, installed), (True, installed.T)):
            if oriented.shape == values.shape:
                distance = float(np.linalg.norm(values - oriented)) / max(float(np.linalg.norm(oriented)), 1e-30)
                if distance < best_distance:
                    best, best_distance = (key, transposed), distance
    return best if best_distance < 0.5 else None
