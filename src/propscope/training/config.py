"""The training configuration: one TOML file, read into typed sections."""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from propscope.errors import InputError
from propscope.model.encoders import ENCODERS


@dataclass(frozen=True)
class DataConfig:
    ptc_dir: str = "../shared/data/ptc-v2"
    train_ids: str = "splits/train-ids.txt"
    validation_ids: str = "splits/validation-ids.txt"
    dev_articles: int = 30  # held out of training to choose decoding and calibration (when folds is 0)
    dev_seed: int = 13  # picks the dev set or the folds; apart from the training seed, so other seeds share them
    # K >= 2: cross-fitting instead of a dev hold-out. K networks, each trained without one K-th of the
    # training split, predict the articles they did not see; decoding and calibration are chosen on those
    # predictions for every training-split article, and the shipped network trains on all of them.
    folds: int = 0
    # below 1: each fold network learns from that share of its articles (whole stories), the held-out ones unchanged;
    # a learning curve (bench/cross_fit.py, bench/RESULTS.md) says what more annotated news would buy. The yardstick
    # alone: `propscope train` refuses it, and the pool network is never cut.
    fold_share: float = 1.0
    # "all": train on every article of both splits (what ships); the folds, grouped by story, then give the
    # held-out figures and the validation split is not used. "train": the training split only, the
    # validation split measured (figures comparable with earlier models).
    pool: str = "train"
    # corpus folders as `propscope import` writes them (annotators' corrections): their articles also train
    extra_folders: list[str] = field(default_factory=list)
    memes_dir: str = ""  # SemEval-2021 Task 6 folder: its spans also train the technique classifier ("" for none)


@dataclass(frozen=True)
class ModelConfig:
    encoder: str = "all-MiniLM-L6-v2"  # the span tagger's (model/encoders.py); the verifier reads the same
    window_tokens: int = 256
    stride: int = 192  # tokens between window starts at inference
    window_merge: str = "centre"  # or "weighted": overlapping windows average span and technique probabilities
    train_stride: int = 224
    span_hidden: int = 256
    dropout: float = 0.1
    attention_dropout: float = 0.1  # the encoder's own; 0 trains about 1.7x faster on CPU (random masks are costly)
    hidden_dropout: float = 0.1  # the encoder's, between its layers


@dataclass(frozen=True)
class TrainingConfig:
    seed: int = 13
    epochs: int = 6
    batch_size: int = 16
    learning_rate: float = 6e-5
    head_learning_rate: float = 1e-3
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    threads: int = 2
    class_weighting: str = "none"  # or "inverse_sqrt": rare techniques weigh more in the classifier loss
    tag_weighting: str = "none"  # or "inverse_sqrt_length", "inverse_length": short gold spans weigh more
    compute_dtype: str = "fp32"  # or "bf16": autocast; faster where the CPU has AMX or AVX-512 BF16
    # "bytes": dropout masks drawn from numpy's random bytes on a CPU, faster than torch's at the same rate
    dropout_masks: str = "torch"
    # the encoder's word embeddings stay as installed: a delta over the installed encoder then needs none of them
    freeze_word_embeddings: bool = False
    # a model (shipped name or folder) whose tagger also teaches this one: its probability that a word piece lies in a
    # span is a second target, weighing ``teacher_weight`` against the gold tags'; the teacher's networks are read from
    # its work folder as the recipe left them (``<teacher>.work/fold-K`` for each fold network, ``fp32`` for the one
    # that ships), each checked to have learnt from the same articles, so the yardstick stays unseen by both
    teacher: str = ""
    teacher_weight: float = 0.5
    max_articles: int = 0  # 0: all; a small number makes a quick smoke run
    device: str = "auto"  # "cuda" where a GPU is present, else the CPU; or name one


@dataclass(frozen=True)
class VerifierConfig:
    """The technique verifier: reads a candidate span and its line as a sentence pair and gives, for every
    technique, the probability that the span is propaganda of that technique (all low: no technique)."""

    enabled: bool = False  # off: the tagger's own classifier head names techniques
    max_tokens: int = 64  # word pieces of span and line together
    epochs: int = 2
    batch_size: int = 32
    learning_rate: float = 1e-4
    # training candidates per distinct gold span, besides the span itself: its edges moved by a few words,
    # and a random stretch of a random line; their targets are how much of them lies in gold spans
    jittered: int = 1
    random: int = 1
    encoder: str = "all-MiniLM-L6-v2"  # or "all-mpnet-base-v2" (model/encoders.py says how to install it)
    # > 0: the encoder's weights stay frozen and low-rank adapters of this rank (LoRA, scaled by 2) learn beside
    # them with its biases and layer norms; the model then ships as a small delta over the installed encoder
    adapter_rank: int = 0
    # verifiers trained alike with seeds training.seed, +1, ..., their probabilities averaged in one verifier.onnx
    networks: int = 1
    # a span file (ID<TAB>start<TAB>end) of passages a tagger found in articles it had not learnt from (bench/
    # cross_fit.py --spans writes one): they are candidates too, so the verifier learns which of a tagger's
    # finds are propaganda, where random stretches teach it little about them ("": none; on one fold of the
    # yardstick it named techniques 0.028 worse and ranked spans worse, bench/RESULTS.md)
    tagger_spans: str = ""
    # the tagger head's share when the verifier names techniques: each span's techniques are then (1 - w) times the
    # verifier's (their shares of what it gives techniques) plus w times the head's, scaled back to the verifier's
    # total, so its "no technique" share stays its own (0: the verifier alone; 0.5 named 0.037-0.042 better than
    # either alone for `accurate` on the yardstick, bench/RESULTS.md). A reading setting: no network changes.
    tagger_weight: float = 0.0


@dataclass(frozen=True)
class ExportConfig:
    name: str = "default"
    output: str = "runs/default"
    max_int8_f1_drop: float = 0.01
    # "auto": int8 where validation F1 drops at most max_int8_f1_drop, else fp16 weights; "fp16-weights" or
    # "int8" always (with pool = "all" there is no validation split to decide on)
    precision: str = "auto"
    verifier_precision: str = "int8"  # the fold networks use it too, so held-out figures measure what ships
    # > 0: the tagger ships as encoder.delta.onnx, the installed encoder plus a rank-r change per matrix (every
    # network trained is cut so, fold networks too, so figures measure what ships); 0: whole, as encoder.onnx
    delta_rank: int = 0
    # a shipped model's name or a model folder whose verifier this model names techniques with, instead of training
    # one on the pool and shipping a copy: that verifier must have trained with this [verifier] on the same
    # articles (checked); the model folder then names it (a relative path) and its digest ("": its own verifier)
    verifier_from: str = ""


@dataclass(frozen=True)
class Config:
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    training: TrainingConfig = TrainingConfig()
    export: ExportConfig = ExportConfig()
    verifier: VerifierConfig = VerifierConfig()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _section(cls: type, values: dict[str, Any], name: str, source: str) -> Any:
    known = {f.name for f in fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise InputError(f"{source}: unknown key(s) in [{name}]: {', '.join(sorted(unknown))}")
    defaults = cls()
    choices = {
        "class_weighting": ("none", "inverse_sqrt"),
        "compute_dtype": ("fp32", "bf16"),
        "dropout_masks": ("torch", "bytes"),
        "window_merge": ("centre", "weighted"),
        "tag_weighting": ("none", "inverse_sqrt_length", "inverse_length"),
        "pool": ("train", "all"),
        "device": ("auto", "cpu", "cuda"),
        "precision": ("auto", "fp16-weights", "int8"),
        "verifier_precision": ("fp32", "fp16-weights", "int8"),
        "encoder": tuple(ENCODERS),
    }
    for key, value in values.items():
        if key in choices and value not in choices[key]:
            raise InputError(f"{source}: [{name}] {key} must be one of {', '.join(choices[key])}, got {value!r}")
        expected = type(getattr(defaults, key))
        if not isinstance(value, expected) and not (expected is float and type(value) is int):
            raise InputError(f"{source}: [{name}] {key} must be {expected.__name__}, got {value!r}")
    section = cls(**values)
    if isinstance(section, DataConfig) and (section.folds == 1 or section.folds < 0):
        raise InputError(f"{source}: [data] folds must be 0 (dev hold-out) or at least 2, got {section.folds}")
    if isinstance(section, DataConfig) and not 0 < section.fold_share <= 1:
        raise InputError(f"{source}: [data] fold_share must be above 0 and at most 1, got {section.fold_share}")
    if isinstance(section, DataConfig) and section.fold_share < 1 and section.folds < 2:
        raise InputError(f"{source}: [data] fold_share cuts fold networks: it needs folds of 2 or more")
    if isinstance(section, ExportConfig) and section.delta_rank < 0:
        raise InputError(
            f"{source}: [export] delta_rank must be 0 (the tagger ships whole) or more, got {section.delta_rank}"
        )
    if isinstance(section, ExportConfig) and section.delta_rank and section.precision != "int8":
        raise InputError(
            f'{source}: [export] delta_rank needs precision = "int8" (a delta is assembled in int8), '
            f"got {section.precision!r}"
        )
    if isinstance(section, VerifierConfig) and section.adapter_rank < 0:
        raise InputError(f"{source}: [verifier] adapter_rank must be 0 (none) or more, got {section.adapter_rank}")
    if isinstance(section, VerifierConfig) and (section.networks < 1 or section.networks > 1 and section.adapter_rank):
        raise InputError(
            f"{source}: [verifier] networks must be at least 1, and 1 with adapters (a delta holds one network: "
            f"set verifier.networks = 1), got {section.networks}"
        )
    if isinstance(section, VerifierConfig) and not 0 <= section.tagger_weight <= 1:
        raise InputError(f"{source}: [verifier] tagger_weight must be from 0 to 1, got {section.tagger_weight}")
    if isinstance(section, TrainingConfig) and not 0 <= section.teacher_weight <= 1:
        raise InputError(f"{source}: [training] teacher_weight must be from 0 to 1, got {section.teacher_weight}")
    return section


def _parse_value(text: str) -> Any:
    """A TOML value (``10``, ``0.5``, ``true``, ``"x"``), or else the bare text as a string."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def with_overrides(config: Config, overrides: list[str]) -> Config:
    """Apply ``section.key=value`` settings, checked like the file's own."""
    sections = config.to_dict()
    for item in overrides:
        name, sep, value = item.partition("=")
        section, dot, key = name.strip().partition(".")
        if not sep or not dot or section not in sections:
            raise InputError(f"--set {item!r}: expected section.key=value, with section one of {', '.join(sections)}")
        sections[section][key] = _parse_value(value.strip())
    return _build(sections, "--set")


def _build(raw: dict[str, Any], source: str) -> Config:
    sections = {
        "data": DataConfig,
        "model": ModelConfig,
        "training": TrainingConfig,
        "export": ExportConfig,
        "verifier": VerifierConfig,
    }
    unknown = set(raw) - set(sections)
    if unknown:
        raise InputError(f"{source}: unknown section(s): {', '.join(sorted(unknown))}")
    return Config(**{k: _section(cls, raw.get(k, {}), k, source) for k, cls in sections.items()})


def load_config(path: Path) -> Config:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"{path}: not valid TOML ({err})") from None
    return _build(raw, str(path))
