"""Assembling a network shipped as a delta over an installed encoder into a runnable ONNX file, without torch.

A delta (``verifier.delta.onnx``, or the tagger's ``encoder.delta.onnx``, written by ``training/delta.py``) is
the network's graph without the encoder's weights: its metadata names, for each missing tensor, the encoder
tensor it is (or whose transpose it is), and whether a low-rank update ``left @ right`` stored in the delta is
added to it. Assembly fills them in from the installed encoder, quantizes as the delta asks, and writes the
result once into the per-user cache, under a name made of the delta's and the encoder's digests, so a new delta
or encoder builds anew and concurrent processes share one build.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from propscope.errors import ModelError
from propscope.model.encoders import cache_root, encoder_by_name, encoder_folder, locked, read_safetensors

VERIFIER_DELTA_FILE = "verifier.delta.onnx"
ENCODER_DELTA_FILE = "encoder.delta.onnx"  # the span tagger's
DELTA_FILES = (ENCODER_DELTA_FILE, VERIFIER_DELTA_FILE)
DELTA_SUFFIX = ".delta.onnx"  # X.delta.onnx assembles into X.onnx
DELTA_KEY = "propscope.delta"
SMALLEST_BASE_TENSOR = 1024  # smaller tensors (layer norms, biases) stay in the delta whole
VERIFIER_FILE = "verifier.onnx"  # a whole verifier, shipped or assembled
TOKENIZER_FILE = "tokenizer.json"
# a verifier on another encoder than the tagger's reads its own tokenizer, beside the tagger's
VERIFIER_TOKENIZER_FILE = "verifier-tokenizer.json"

log = logging.getLogger(__name__)


def assembled_folder(delta: Path) -> Path:
    """The folder in the cache for ``delta``: its network (``X.onnx`` for ``X.delta.onnx``) and the encoder's
    ``tokenizer.json``."""
    record = _record(delta)
    digest = hashlib.sha256(delta.read_bytes()).hexdigest()[:16]
    return cache_root() / "models" / f"{_stem(delta)}-{digest}-{record['sha256'][:12] or record['encoder']}"


def assembled_file(delta: Path) -> str:
    """The name of the network ``delta`` assembles into."""
    return f"{_stem(delta)}.onnx"


def _stem(delta: Path) -> str:
    return delta.name.removesuffix(DELTA_SUFFIX)


def is_assembled(delta: Path) -> bool:
    return (assembled_folder(delta) / assembled_file(delta)).exists()


def assemble(delta: Path) -> Path:
    """The assembled folder for ``delta``, built first where the cache lacks it."""
    target = assembled_folder(delta)
    network = target / assembled_file(delta)  # the delta is read and hashed once per call
    if network.exists():
        return target
    with locked(target.parent / f"{target.name}.lock"):
        if not network.exists():
            log.warning("assembling %s over its installed encoder into %s (once; about a minute)", delta, target)
            _build(delta, target)
    return target


def delta_encoder(delta: Path) -> str:
    """The name of the encoder a delta is made over."""
    return str(_record(delta)["encoder"])


def _record(delta: Path) -> dict:
    return _load(delta)[1]


def _load(delta: Path):
    """The delta's ONNX model and the record its metadata holds."""
    onnx = _onnx()
    from google.protobuf.message import DecodeError

    try:
        model = onnx.load(str(delta), load_external_data=False)
        props = {p.key: p.value for p in model.metadata_props}
        return model, json.loads(props[DELTA_KEY])
    except (OSError, KeyError, ValueError, TypeError, DecodeError) as err:
        raise ModelError(f"{delta}: not a PropScope model delta ({err})") from None


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ModelError("assembling a model delta needs the onnx package: pip install 'propscope[accurate]'") from None
    return onnx


def _build(delta: Path, target: Path) -> None:
    onnx = _onnx()
    model, record = _load(delta)
    encoder = encoder_by_name(record["encoder"])
    if encoder.sha256 != record["sha256"]:
        raise ModelError(f"{delta}: made for another build of {encoder.name} than the one this PropScope knows")
    folder = encoder_folder(encoder.name)
    fill_in(model, record, read_safetensors(folder / "model.safetensors"), str(delta))
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".assemble-") as work:
        built = Path(work) / "built"
        built.mkdir()
        full = Path(work) / "fp32.onnx"
        onnx.save(model, str(full))
        network = built / assembled_file(delta)
        if record["precision"] == "int8":
            quantize_file(full, network, per_channel=record.get("per_channel", False))
        else:
            shutil.move(full, network)
        shutil.copyfile(folder / TOKENIZER_FILE, built / TOKENIZER_FILE)
        os.replace(built, target)


def quantize_file(source: Path, target: Path, per_channel: bool = False) -> None:
    """Dynamic int8 weights (one scale per matrix, or per output channel): how every int8 network is made."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=per_channel)


def fill_in(model, record: dict, base: dict[str, np.ndarray], source: str) -> None:
    """Put the encoder's tensors (plus their low-rank updates) back into a delta's graph, in place."""
    from onnx import numpy_helper

    graph = model.graph
    stored = {t.name: t for t in graph.initializer}
    filled = []
    for name, how in record["tensors"].items():
        if how["base"] not in base:
            raise ModelError(f"{source}: the encoder has no tensor {how['base']}")
        values = np.asarray(base[how["base"]], dtype=np.float32)
        values = values.T if how["transpose"] else values
        if how["delta"]:
            left = numpy_helper.to_array(stored.pop(f"{name}/left")).astype(np.float32)
            right = numpy_helper.to_array(stored.pop(f"{name}/right")).astype(np.float32)
            values = values + left @ right
        filled.append(numpy_helper.from_array(np.ascontiguousarray(values), name))
    del graph.initializer[:]
    graph.initializer.extend([*stored.values(), *filled])
    del model.metadata_props[:]
