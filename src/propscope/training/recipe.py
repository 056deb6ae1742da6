"""The whole training recipe behind ``propscope train``: fit, export, calibrate, check int8, document.

Every choice is made without the validation split: the span decoding and score calibration come from
training-split articles the deciding network did not learn from (a dev hold-out, or cross-fitting).
Validation figures are only measured, plus the one shipping check the issue asks for: int8 weights
only where validation F1 stays within ``max_int8_f1_drop`` of fp32.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from propscope.corpus.labels import Label
from propscope.document import Article, Span
from propscope.errors import InputError, ModelError
from propscope.metrics import SearchScorer
from propscope.model.assembly import ENCODER_DELTA_FILE, VERIFIER_DELTA_FILE, VERIFIER_TOKENIZER_FILE
from propscope.model.calibration import Calibration, auroc, expected_calibration_error, fit_platt, span_outcomes
from propscope.model.encoders import ENCODERS, encoder_folder
from propscope.model.ensemble import EnsembleModel, Model, load_model, member_digest
from propscope.model.features import FEATURE_NAMES
from propscope.model.inference import (
    CLASSIFIER_FILE,
    ENCODER_FILE,
    META_FILE,
    TOKENIZER_FILE,
    Decoding,
    DetectedSpan,
    EncodedText,
    OnnxModel,
    decode_spans,
    name_spans,
    read_meta,
)
from propscope.model.verifier import VERIFIER_FILE, verifier_digest
from propscope.pipeline.analyzer import Analyzer, model_directory
from propscope.techniques import TECHNIQUE_NAMES
from propscope.training.card import CARD_FILE, ensemble_card, held_out_text, model_card
from propscope.training.config import Config, VerifierConfig, with_overrides
from propscope.training.delta import cut_to_rank, write_tagger_delta
from propscope.training.evaluation import Evaluation, evaluate_analyzer, evaluate_encoded
from propscope.training.export import export_model, quantize_model, store_weights_as_fp16, write_meta
from propscope.training.loop import Corpus, configured_folds, device_description, load_corpus, train_network
from propscope.training.verifier import verifier_for

log = logging.getLogger(__name__)
DECODING_GRID = {
    "threshold": (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5),
    "smoothing": (1, 3, 5),
    "max_gap": (0, 2, 4),
    "min_tokens": (1, 2, 3),
}
PEAK_GRID = (0.0, 0.5, 0.55, 0.6, 0.65, 0.7)  # searched around the best decoding: it only drops spans
TECHNIQUE_THRESHOLDS = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6)  # for models with a verifier
SENTENCE_THRESHOLDS = (0.8, 0.7, 0.6, 0.5, 0.4, 0.3)  # a verifier naming whole sentences, where it helps


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
    span F1 alone prefers low thresholds whose long spans run over passages of other techniques. With a
    verifier, the technique threshold is searched with each decoding (it decides which spans survive at
    all); then the peak rule, which only drops spans, with each decoding at the best threshold; then the
    threshold again. Searching all three at once would cost nine times as many scorings. Last, with a verifier,
    whether it should also name whole sentences the chosen passages leave alone, and how sure it must be.
    """
    scorer = SearchScorer(_gold(encoded, labels))
    techniques = encoded[0][0].techniques if encoded else ()
    thresholds = TECHNIQUE_THRESHOLDS if encoded and encoded[0][0].multi_label else (0.0,)
    probabilities: dict[tuple[int, int, int], np.ndarray] = {}  # each distinct span is classified once
    decodings = list(itertools.product(*DECODING_GRID.values()))

    def detected(decoding: Decoding) -> list[tuple[str, list[DetectedSpan], np.ndarray]]:
        found = []
        for number, (model, article, encoding) in enumerate(encoded):
            spans = decode_spans(encoding, decoding)
            new = [(d.start, d.end) for d in spans if (number, d.start, d.end) not in probabilities]
            for (start, end), row in zip(new, model.classify(encoding, new), strict=True):
                probabilities[(number, start, end)] = row
            rows = [probabilities[(number, d.start, d.end)] for d in spans]
            found.append((article.id, spans, np.array(rows).reshape(len(spans), len(techniques))))
        return found

    def score(found: list[tuple[str, list[DetectedSpan], np.ndarray]], peak: float, threshold: float) -> float:
        predicted = [
            Label(article_id, d.start, d.end, techniques[k])
            for article_id, spans, rows in found
            for d, k, _ in name_spans(spans, rows, Decoding(technique_threshold=threshold))
            if d.peak >= peak
        ]
        return sum(scorer.f1(predicted))

    found = {values: detected(Decoding(**dict(zip(DECODING_GRID, values, strict=True)))) for values in decodings}
    best, best_score = Decoding(), -1.0

    def consider(values: tuple, peak: float, threshold: float) -> None:
        nonlocal best, best_score
        value = score(found[values], peak, threshold)
        if value > best_score:
            settings = dict(zip(DECODING_GRID, values, strict=True))
            best, best_score = Decoding(**settings, peak=peak, technique_threshold=threshold), value

    for values in decodings:  # the technique threshold with each decoding
        for threshold in thresholds:
            consider(values, 0.0, threshold)
    for values in decodings:  # the peak with each decoding, at that threshold
        for peak in PEAK_GRID:
            consider(values, peak, best.technique_threshold)
    chosen = tuple(getattr(best, name) for name in DECODING_GRID)
    for threshold in thresholds:  # and the threshold again, for the decoding and peak chosen
        consider(chosen, best.peak, threshold)
    if thresholds == (0.0,):  # the tagger's head gives every passage a technique: it cannot pass over a sentence
        return best
    return replace(best, sentence_threshold=_sentence_threshold(encoded, found[chosen], best, scorer, best_score))


def _sentence_threshold(
    encoded: Encoded,
    found: list[tuple[str, list[DetectedSpan], np.ndarray]],
    decoding: Decoding,
    scorer: SearchScorer,
    score: float,
) -> float:
    """How sure the verifier must be to mark a sentence the passages ``decoding`` keeps leave alone; 0 (never) unless
    one scores better than ``score``, the passages' own."""
    techniques = encoded[0][0].techniques
    predicted: list[Label] = []
    sentences: SentenceCandidates = []
    for (model, article, encoding), (_, spans, rows) in zip(encoded, found, strict=True):
        kept = [(d, k) for d, k, _ in name_spans(spans, rows, decoding) if d.peak >= decoding.peak]
        predicted += [Label(article.id, d.start, d.end, techniques[k]) for d, k in kept]
        sentences.append((article.id, *Analyzer(model).sentences(encoding, [(d.start, d.end) for d, _ in kept])))
    best = 0.0
    for threshold in SENTENCE_THRESHOLDS:
        value = sum(scorer.f1(predicted + marked_sentences(sentences, techniques, decoding, threshold)))
        if value > score:
            best, score = threshold, value
    return best


# per article: its id, the sentences its passages leave alone, and their techniques' probabilities
SentenceCandidates = list[tuple[str, list[DetectedSpan], np.ndarray]]


def marked_sentences(
    sentences: SentenceCandidates, techniques: tuple[str, ...], decoding: Decoding, threshold: float
) -> list[Label]:
    """The sentences ``decoding`` marks whole with ``threshold`` as its ``sentence_threshold`` (none at 0)."""
    if not threshold:
        return []
    naming = replace(decoding, technique_threshold=threshold)
    return [
        Label(i, d.start, d.end, techniques[k])
        for i, spans, rows in sentences
        for d, k, _ in name_spans(spans, rows, naming)
    ]


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
    return {"decoding": asdict(decoding), "held_out_figures": figures, "fold_figures": fold_figures(held_out, labels)}


def fold_figures(held_out: Encoded, labels: dict[str, list[Label]]) -> dict[str, dict[str, Any]]:
    """Each task's F1 fold by fold, with their mean and standard deviation: the spread a choice must beat."""
    by_model: dict[int, Encoded] = {}
    for item in held_out:
        by_model.setdefault(id(item[0]), []).append(item)
    per_fold = [
        evaluate_encoded(((Analyzer(m), a, e) for m, a, e in part), _gold(part, labels)) for part in by_model.values()
    ]
    summary = {}
    for task in ("si", "tc", "flc"):
        values = [getattr(evaluation, task).overall.f1 for evaluation in per_fold]
        summary[task] = {
            "folds": [round(v, 4) for v in values],
            "mean": round(float(np.mean(values)), 4),
            "std": round(float(np.std(values, ddof=1)), 4) if len(values) > 1 else 0.0,
        }
    return summary


@dataclass(frozen=True)
class SpanOutcomes:
    """Every span the models give some encoded articles: its raw score, peak and technique, whether it was right,
    which model read it (a fold, whose spans a curve fitted on the other folds can be scored on) and the article's
    place among the encoded ones."""

    scores: np.ndarray
    peaks: np.ndarray
    techniques: np.ndarray
    correct: np.ndarray
    readers: np.ndarray
    articles: np.ndarray

    def fit(self) -> Calibration:
        return fit_platt(self.scores, self.correct, self.peaks, self.techniques)

    def figures(self, calibration: Calibration) -> dict[str, Any]:
        """How well the calibrated scores read as probabilities (ECE before and after) and how they rank spans: the
        area under the ROC curve for "overlaps a gold span of its technique" and the precision of spans over 0.5."""
        return ranking_figures(self.scores, calibration.apply(self.scores, self.peaks, self.techniques), self.correct)

    def cross_fitted_figures(self) -> dict[str, Any]:
        """The figures of curves each fitted on the other readers' spans and scored on one reader's: what the curve
        does on stories it was not fitted to (an intercept per technique flatters the spans it was fitted on)."""
        calibrated = np.zeros(len(self.scores))
        for reader in np.unique(self.readers):
            fitted, scored = self._part(self.readers != reader), self._part(self.readers == reader)
            calibrated[self.readers == reader] = fitted.fit().apply(scored.scores, scored.peaks, scored.techniques)
        return ranking_figures(self.scores, calibrated, self.correct)

    def _part(self, mask: np.ndarray) -> SpanOutcomes:
        return SpanOutcomes(*(getattr(self, f.name)[mask] for f in fields(self)))


def outcomes(encoded: Encoded, labels: dict[str, list[Label]]) -> SpanOutcomes:
    """The outcome of every span the models give the encoded articles."""
    rows = []
    readers = {id(model): number for number, model in enumerate(dict.fromkeys(model for model, _, _ in encoded))}
    for number, (model, article, encoding) in enumerate(encoded):
        _, _, named = Analyzer(model).candidates(encoding)
        spans = [Span(d.start, d.end, model.techniques[k], raw) for d, k, raw in named]
        rights = span_outcomes(article.id, spans, labels.get(article.id, []))
        rows += [
            (raw, d.peak, span.technique, right, readers[id(model)], number)
            for (d, _, raw), span, (_, right) in zip(named, spans, rights, strict=True)
        ]
    scores, peaks, techniques, correct, reader, article = zip(*rows, strict=True) if rows else ([],) * 6
    return SpanOutcomes(
        np.asarray(scores, dtype=np.float64),
        np.asarray(peaks, dtype=np.float64),
        np.asarray(techniques, dtype=object),
        np.asarray(correct, dtype=bool),
        np.asarray(reader, dtype=np.int64),
        np.asarray(article, dtype=np.int64),
    )


def ranking_figures(raw: np.ndarray, calibrated: np.ndarray, correct: np.ndarray) -> dict[str, Any]:
    over = calibrated > 0.5
    return {
        "spans": len(raw),
        "ece_before": round(expected_calibration_error(raw, correct), 4),
        "ece_after": round(expected_calibration_error(calibrated, correct), 4),
        "auroc": round(auroc(calibrated, correct), 4),
        "spans_over_half": int(over.sum()),
        "precision_over_half": round(float(correct[over].mean()), 4) if over.any() else 0.0,
    }


def fit_calibration(
    directory: Path, held_out: Encoded, decoding: Decoding, corpus: Corpus
) -> tuple[Calibration, dict[str, Any]]:
    """Platt scaling fitted on the held-out articles' raw scores, and its figures for the card: on the validation
    split where the model did not train on it; else, with several folds, each fold's spans scored by the curve
    fitted on the others'; else (one reader, as a stand-in) five-fold by article: a curve is never scored on the
    spans it was fitted to."""
    for model, _, _ in held_out:
        model.decoding = decoding
    found = outcomes(held_out, corpus.labels)
    calibration = found.fit()
    if corpus.validation:
        shipped = load_model(directory)
        figures = outcomes(encode_all([(shipped, corpus.validation)]), corpus.labels).figures(calibration)
        return calibration, {"measured_on": "validation", **figures}
    if len({id(model) for model, _, _ in held_out}) > 1:  # folds, whether or not each found a span
        return calibration, {"measured_on": "cross_fitted", **found.cross_fitted_figures()}
    five_fold = replace(found, readers=found.articles % 5)
    return calibration, {"measured_on": "cross_validated", **five_fold.cross_fitted_figures()}


def _validate(directory: Path, corpus: Corpus) -> Evaluation:
    gold = [label for a in corpus.validation for label in corpus.labels.get(a.id, [])]
    return evaluate_analyzer(Analyzer(load_model(directory)), corpus.validation, gold)


def _base_meta(config: Config) -> dict[str, Any]:
    verifier = {"verifier": asdict(config.verifier)} if config.verifier.enabled else {}
    return verifier | {
        "name": config.export.name,
        "created": dt.date.today().isoformat(),
        "base_encoder": ENCODERS[config.model.encoder].summary,
        "window_tokens": config.model.window_tokens,
        "stride": config.model.stride,
        "techniques": list(TECHNIQUE_NAMES),
        "features": list(FEATURE_NAMES),
        "config": config.to_dict(),
    }


def cross_fitted_models(
    config: Config, corpus: Corpus, work: Path, progress: Callable[[str], None], only: int | None = None
) -> HeldOut:
    """One network per fold, trained without that fold's articles, exported to ``work/fold-K``.

    A fold already exported with the same configuration and articles is reused, so a training run
    that was stopped resumes after its last finished fold. ``only``: that fold alone (a costly encoder's
    first look).
    """
    held_out: HeldOut = []
    folds = configured_folds(config, corpus)
    for number, fold in enumerate(folds, start=1):
        if only is not None and number != only:
            continue
        directory = work / f"fold-{number}"
        teacher = _teacher(config, fold, number)
        meta = (
            _base_meta(config)
            | _taught_by(teacher)
            | {
                "name": f"{config.export.name}-fold-{number}",
                "train_articles": len(fold.train),
                "held_out_ids": sorted(a.id for a in fold.dev),
            }
        )
        exported = _exported_meta(directory)
        if not _trained_alike(exported, meta):
            progress(f"fold {number}/{len(folds)}: training without its {len(fold.dev)} held-out articles")
            train_and_export(config, fold, directory, meta, progress, work / f"fold-{number}.verifier", teacher)
        else:
            progress(f"fold {number}/{len(folds)}: reusing {directory}")
            write_meta(
                directory, _kept(exported, meta)
            )  # the reading settings (stride, window merging) may have changed
        held_out.append((OnnxModel(directory), fold.dev))
    return held_out


def _teacher(config: Config, corpus: Corpus, fold: int | None = None) -> Path | None:
    """The network that teaches a tagger trained on ``corpus.train`` (``training.teacher``), as the recipe left it in
    the teacher's work folder: its fold network ``fold-K`` for fold ``fold``, else ``fp32`` (the folds' precision).
    It must have learnt from the same articles, so that what the fold networks read stays unseen by their teachers
    too."""
    if not config.training.teacher:
        return None
    folder = work_of(model_directory(config.training.teacher)) / ("fp32" if fold is None else f"fold-{fold}")
    meta = _exported_meta(folder)
    if meta is None:
        raise InputError(f"training.teacher: no trained network in {folder} (the teacher's work folder)")
    data = meta.get("config", {}).get("data", {})
    settings = ("ptc_dir", "train_ids", "validation_ids", "pool", "extra_folders", "dev_seed")
    same = (
        all(data.get(key) == getattr(config.data, key) for key in settings)
        and meta.get("held_out_ids", []) == (sorted(a.id for a in corpus.dev) if fold is not None else [])
        and meta.get("train_articles") == len(corpus.train)
        and meta.get("dev_articles", 0) == (len(corpus.dev) if fold is None else 0)
    )
    if not same:
        share = data.get("fold_share", 1.0), config.data.fold_share
        raise InputError(
            f"training.teacher: {folder} learnt from other articles than the {len(corpus.train)} it would teach from"
            + (f" (fold_share {share[0]} there, {share[1]} here)" if fold is not None and share[0] != share[1] else "")
        )
    return folder


def _taught_by(teacher: Path | None) -> dict[str, Any]:
    """The teacher's network by digest, in a student's meta: a student whose teacher was trained again since is no
    longer the one wanted, and trains again too."""
    return {"teacher_digest": member_digest(teacher, verifier=False)} if teacher else {}


def _teachers(config: Config, corpus: Corpus) -> None:
    """Every teacher network a training run will read, checked before hours of training."""
    _teacher(config, corpus)
    if config.training.teacher and config.data.folds:
        for number, fold in enumerate(configured_folds(config, corpus), start=1):
            _teacher(config, fold, number)


def _kept(exported: dict[str, Any] | None, meta: dict[str, Any]) -> dict[str, Any]:
    """``meta`` for a network that is kept: it also keeps saying where it was trained (updated in place, so the
    model that ships says it too)."""
    if exported and exported.get("trained_on"):
        meta["trained_on"] = exported["trained_on"]
    return meta


def quantized_folds(held_out: HeldOut, work: Path) -> HeldOut:
    """The fold networks with their encoders in int8 per channel (in ``work/int8-folds``), as the tagger ships, so
    that the decoding and calibration chosen on their predictions are chosen for what ships: int8 shifts a
    tagger's probabilities, and MPNet's fp32-chosen decoding read in int8 lost 0.019 span F1 (bench/RESULTS.md)."""
    quantized: HeldOut = []
    for model, articles in held_out:
        target = work / "int8-folds" / model.directory.name
        quantize_model(model.directory, target, reuse=True)
        quantized.append((OnnxModel(target), articles))
    return quantized


def _exported_meta(directory: Path) -> dict[str, Any] | None:
    """A finished export's meta.json (written last), or None."""
    try:
        return read_meta(directory)
    except ModelError:
        return None


def _trained_alike(
    exported: dict[str, Any] | None,
    wanted: dict[str, Any],
    identity: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> bool:
    """Whether an exported network is the one ``wanted`` describes, as far as training goes (the export's
    meta may also hold figures and choices made after training); ``identity`` says what counts."""
    if exported is None:
        return False
    identity = identity or _training_identity
    old, new = identity(exported), identity(wanted)
    return all(old.get(key) == value for key, value in new.items())


def _training_identity(meta: dict[str, Any]) -> dict[str, Any]:
    """What makes two networks the same: everything but the date, the model's name and folder, where it trained, how it
    reads an article (inference stride, window merging), the precision it ships in (made from the fp32 export
    afterwards), and where and by whom its choices are made (a stand-in, or how many folds: a fold network's
    meta names its articles, and the networks that ship train on the whole pool whatever the folds), none of
    which changes the trained weights."""
    config = meta.get("config", {})
    data = config.get("data", {})
    reading = {"stride": None, "window_merge": None}
    return meta | {
        "name": None,
        "created": None,
        "stride": None,
        "stand_in": None,
        "held_out_articles": None,
        "held_out_precision": None,
        "trained_on": None,
        "verifier": _verifier_identity(meta.get("verifier")),
        "config": config
        | {
            # of the folds, only whether a dev hold-out leaves the training; a fold network's share of its articles is
            # in its article count (shares are nested, so one count is one set), and the pool is never cut
            "data": data | {"folds": bool(data.get("folds")), "fold_share": None},
            "verifier": _verifier_identity(config.get("verifier")),
            "export": {"delta_rank": 0, "verifier_from": ""}
            | config.get("export", {})
            | {"output": None, "name": None, "precision": None, "max_int8_f1_drop": None},
            # as trained before these settings existed
            "model": {"hidden_dropout": 0.1, "encoder": "all-MiniLM-L6-v2"} | config.get("model", {}) | reading,
            "training": {
                "dropout_masks": "torch",
                "freeze_word_embeddings": False,
                "teacher": "",
                "teacher_weight": 0.5,
            }
            | config.get("training", {})
            | _without_teacher(config.get("training", {})),
        },
    }


def _without_teacher(training: dict[str, Any]) -> dict[str, Any]:
    """A teacher's weight means nothing without a teacher."""
    return {} if training.get("teacher") else {"teacher_weight": None}


def _verifier_identity(settings: dict[str, Any] | None) -> dict[str, Any] | None:
    """Verifier settings as far as its networks go: without ``tagger_weight`` (how the model reads them), and as before
    ``tagger_spans`` existed where it is unset, so earlier exports still match."""
    if settings is None:
        return None
    unset = () if settings.get("tagger_spans") else ("tagger_spans",)
    return {key: value for key, value in settings.items() if key not in ("tagger_weight", *unset)}


def _tagger_identity(meta: dict[str, Any]) -> dict[str, Any]:
    """What the tagger's training depends on: the training identity without the verifier's settings."""
    identity = _training_identity(meta)
    export = identity["config"]["export"] | {"verifier_precision": None, "verifier_from": None}
    return identity | {"verifier": None, "config": identity["config"] | {"verifier": None, "export": export}}


def train(config: Config, progress: Callable[[str], None] = log.info, command: str = "") -> Path:
    """``command``: the command line that asked for this model, recorded in its card so it can be rerun."""
    _require_plain_verifier(config)
    _verifier_source(config)
    if config.data.fold_share < 1:
        raise InputError(
            "[data] fold_share below 1 is for the yardstick alone (bench/cross_fit.py): the decoding and calibration "
            "that ship are chosen on fold networks that learnt from all their articles"
        )
    corpus = load_corpus(config)
    _teachers(config, corpus)
    output, work = Path(config.export.output), work_folder(config)
    fp32 = work / "fp32"
    folds = cross_fitted_models(config, corpus, work, progress) if config.data.folds else []
    in_int8 = bool(folds) and config.export.precision == "int8"
    held_out = encode_all(quantized_folds(folds, work) if in_int8 else folds)
    meta = _base_meta(config) | {
        "train_articles": len(corpus.train),
        "dev_articles": len(corpus.dev),
        "held_out_articles": len(held_out) or len(corpus.dev),
        "held_out_precision": "int8" if in_int8 else "fp32",
    }
    _train_or_keep(config, corpus, work, meta, progress)
    chosen_on = held_out or encode_all([(OnnxModel(fp32), corpus.dev)])
    meta.update(command=command, **_choose_reading(chosen_on, corpus.labels, progress))
    write_meta(fp32, meta)
    precision, evaluations = _choose_precision(config, corpus, work, progress)
    meta.update(
        precision=precision,
        validation={k: v.as_dict() for k, v in evaluations.items()},
    )
    meta.update(_ship(config, work, precision))
    # with a dev hold-out, calibration reads the shipped weights (int8 or fp16), not the fp32 export
    calibrate_and_document(output, held_out or encode_all([(load_model(output), corpus.dev)]), corpus, meta, progress)
    return output


def _train_or_keep(
    config: Config, corpus: Corpus, work: Path, meta: dict[str, Any], progress: Callable[[str], None]
) -> Path:
    """``work/fp32``: the networks ``meta`` describes, trained on ``corpus.train`` unless already there."""
    fp32 = work / "fp32"
    teacher = _teacher(config, corpus)
    meta.update(_taught_by(teacher))
    exported = _exported_meta(fp32)
    if _trained_alike(exported, meta):
        progress(f"reusing {fp32}: same training, so only the reading settings, choices and figures are renewed")
        write_meta(fp32, _kept(exported, meta))
    else:
        verifier_work = None if config.export.verifier_from else work / "verifier"  # names another model's
        train_and_export(config, corpus, fp32, meta, progress, verifier_work, teacher)
    return fp32


def train_and_export(
    config: Config,
    corpus: Corpus,
    directory: Path,
    meta: dict[str, Any],
    progress: Callable[[str], None],
    verifier_work: Path | None,
    teacher: Path | None = None,
) -> None:
    """Train the networks on ``corpus.train`` and write the model folder, meta.json last (a finished export); the tagger
    learns from ``teacher``'s too where one is named (``_teacher``).

    The verifier trains in ``verifier_work`` (reused there when trained alike, see ``verifier_for``; None: the model
    names techniques with another model's verifier, ``export.verifier_from``), and a tagger
    the folder already holds is kept when only the verifier's settings changed: a new verifier recipe then
    costs minutes on a CPU, not the tagger's hour.
    """
    exported = _exported_meta(directory)
    keep_tagger = _trained_alike(exported, meta, _tagger_identity)
    # the networks train before the folder is touched: a run stopped meanwhile leaves the last export whole
    verifier = (
        verifier_for(config, corpus.train, corpus.labels, verifier_work, progress)
        if config.verifier.enabled and verifier_work is not None
        else None
    )
    tagger = None if keep_tagger else train_network(config, corpus, progress, teacher)
    if tagger is not None:
        meta["trained_on"] = device_description(config)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / META_FILE).unlink(missing_ok=True)  # unfinished until it is written again
    _copy_verifier(config, verifier, directory)
    if tagger is None:
        progress(f"keeping the tagger in {directory}: only the verifier's settings changed")
        write_meta(directory, _kept(exported, meta))
        return
    progress("exporting to ONNX")
    export_model(tagger, encoder_folder(config.model.encoder), directory, meta)
    if config.export.delta_rank:  # unfinished (no meta.json) until the cut network is in place
        rank = config.export.delta_rank
        (directory / META_FILE).unlink()
        lost = cut_to_rank(directory / ENCODER_FILE, config.model.encoder, rank)
        write_meta(directory, meta)
        progress(f"encoder cut to the installed one plus rank {rank} (at most {lost:.0%} of a change left out)")


def _copy_verifier(config: Config, verifier: Path | None, directory: Path) -> None:
    """The verifier into a model folder (none: an earlier one removed), with its tokenizer where its encoder is not
    the tagger's."""
    for name in (VERIFIER_FILE, VERIFIER_TOKENIZER_FILE):
        (directory / name).unlink(missing_ok=True)
    if verifier is not None:
        shutil.copyfile(verifier / VERIFIER_FILE, directory / VERIFIER_FILE)
        if config.verifier.encoder != config.model.encoder:
            shutil.copyfile(verifier / TOKENIZER_FILE, directory / VERIFIER_TOKENIZER_FILE)


def _choose_precision(
    config: Config, corpus: Corpus, work: Path, progress: Callable[[str], None]
) -> tuple[str, dict[str, Evaluation]]:
    """The encoder weights that ship, exported beside ``work/fp32``, and the validation figures behind the choice.

    ``auto`` ships int8 where validation F1 stays within ``max_int8_f1_drop`` of fp32, else fp32 with its
    weights stored in fp16 (fp32 files are too large to ship).
    """
    fp32, int8 = work / "fp32", work / "int8"
    precision = config.export.precision
    if precision == "auto":
        if not corpus.validation:
            raise InputError("export.precision = auto decides on the validation split: name a precision instead")
        quantize_model(fp32, int8)
        evaluations = {"fp32": _validate(fp32, corpus), "int8": _validate(int8, corpus)}
        drop = max(
            evaluations["fp32"].si.overall.f1 - evaluations["int8"].si.overall.f1,
            evaluations["fp32"].flc.overall.f1 - evaluations["int8"].flc.overall.f1,
        )
        precision = "int8" if drop <= config.export.max_int8_f1_drop else "fp16-weights"
        progress(f"int8 F1 drop {drop:.4f}: shipping {precision}")
    else:
        evaluations = {}
        if precision == "int8":
            quantize_model(fp32, int8)
    if precision == "fp16-weights":
        store_weights_as_fp16(fp32, work / precision)
    if corpus.validation and precision not in evaluations:
        evaluations[precision] = _validate(work / precision, corpus)
    return precision, evaluations


TAGGER_FILES = (ENCODER_FILE, CLASSIFIER_FILE, TOKENIZER_FILE)


def _require_training_split(meta: dict[str, Any], folder: Path, role: str) -> None:
    """Choices are made on the validation split: a model that learned from it cannot make them."""
    if meta.get("config", {}).get("data", {}).get("pool", "train") != "train":
        raise InputError(f"{folder}: {role} must be trained on the training split alone (data.pool = train)")


def _require_plain_verifier(config: Config) -> None:
    """A model folder's verifier ships whole beside the tagger (with its own tokenizer where its encoder is another),
    and only a verifier weighs the tagger's head in or can come from another model."""
    if config.verifier.enabled and config.verifier.adapter_rank:
        raise InputError(
            "a model folder's verifier is fine-tuned whole (adapter_rank = 0); one with adapters, shipped as a delta, "
            "is an ensemble's own: propscope ensemble ... --verifier"
        )
    if not config.verifier.enabled and (config.verifier.tagger_weight or config.export.verifier_from):
        raise InputError(
            "[verifier] tagger_weight and [export] verifier_from weigh and name a verifier: set [verifier] enabled"
        )


def _require_same_verifier(meta: dict[str, Any], config: Config, folder: Path, role: str, hint: str) -> None:
    """The choices a stand-in makes (technique threshold, calibration) are for its verifier: it must be trained with
    the settings of the one that ships."""
    if not config.verifier.enabled:
        return
    settings = meta.get("verifier")
    if settings is None or asdict(VerifierConfig(**settings)) != asdict(config.verifier):
        raise InputError(
            f"{folder}: {role} must carry a verifier trained with the configuration's [verifier] settings, as its "
            f"choices are made for that verifier; {hint}"
        )


def _pool_and_split(config: Config) -> tuple[Corpus, Corpus, Path]:
    """The configuration's pool (what ships trains on), the fixed split (where choices are made), the work folder."""
    split = load_corpus(with_overrides(config, ["data.pool=train"]))
    return load_corpus(config), split, work_folder(config)


def work_folder(config: Config) -> Path:
    """Where training keeps what it reuses (networks, stand-ins) for the configuration's model folder."""
    return work_of(Path(config.export.output))


def work_of(model: Path) -> Path:
    """A model folder's work folder, beside it: ``<model>.work``."""
    return model.parent / f"{model.name}.work"


def add_verifier(config: Config, tagger: Path, progress: Callable[[str], None] = log.info, command: str = "") -> Path:
    """A model that keeps a trained tagger's networks and adds a verifier trained on the configuration's pool.

    The tagger must have left the validation split out: its articles are where the technique threshold,
    the decoding and the calibration are chosen, read by the tagger and by a verifier trained on the
    training split alone; the verifier that ships then trains on the whole pool. Costs two verifiers
    and no tagger, which is what a CPU affords where retraining the taggers fold by fold does not.
    """
    _require_plain_verifier(config)
    if config.export.verifier_from:
        raise InputError('a verifier added to a tagger is trained for it: set [export] verifier_from = ""')
    if (tagger / ENCODER_DELTA_FILE).exists():  # a model folder's verifier reads the tagger's tokenizer, beside it
        raise InputError(f"{tagger}: a tagger shipped as a delta takes no verifier here; give its .work/fp32 export")
    base = OnnxModel(tagger)
    _require_training_split(base.meta, tagger, "the tagger")
    corpus, split, work = _pool_and_split(config)
    output = Path(config.export.output)
    held_out_verifier = verifier_for(config, split.train, split.labels, work / "fixed-split", progress)
    shipped_verifier = verifier_for(config, corpus.train, corpus.labels, work / "verifier", progress)
    meta = {k: v for k, v in base.meta.items() if k not in ("validation", "calibration", "calibration_figures")}
    meta |= {
        "name": config.export.name,
        "created": dt.date.today().isoformat(),
        "command": command,
        "verifier": asdict(config.verifier),
        "verifier_articles": len(corpus.train),
        "verifier_config": config.to_dict(),
        # the tagger's own making, also where it comes from a model made this way
        "tagger": base.meta.get("tagger") or {"created": base.meta.get("created"), "command": base.meta.get("command")},
        "chosen_on": f"the {len(split.validation)} validation articles",
        "held_out_articles": len(split.validation),
    }
    chooser = work / "chooser"
    for directory, verifier in ((chooser, held_out_verifier), (output, shipped_verifier)):
        directory.mkdir(parents=True, exist_ok=True)
        for name in TAGGER_FILES:
            shutil.copyfile(tagger / name, directory / name)
        _copy_verifier(config, verifier, directory)
        write_meta(directory, meta)
    held_out = encode_all([(OnnxModel(chooser), split.validation)])
    meta.update(_choose_reading(held_out, split.labels, progress))
    calibrate_and_document(output, held_out, replace(split, validation=[]), meta, progress)
    return output


def train_with_stand_in(
    config: Config, stand_in: Path, progress: Callable[[str], None] = log.info, command: str = ""
) -> Path:
    """Networks trained on the whole pool, every reading choice made by a stand-in that left the validation split out.

    Cross-fitting the taggers costs hours on a CPU; a stand-in costs nothing more than the model it already is:
    a tagger and a verifier trained on the training split alone (``add_verifier`` writes one as
    ``<output>.work/chooser``) read the validation articles unseen, and the decoding, the technique threshold and
    the calibration chosen there go to the networks that then train on every article.
    """
    _require_plain_verifier(config)
    reader = load_model(stand_in)
    _require_training_split(reader.meta, stand_in, "a stand-in")
    _require_same_verifier(
        reader.meta, config, stand_in, "a stand-in", "make one with propscope train --tagger TAGGER (its .work/chooser)"
    )
    corpus, split, work = _pool_and_split(config)
    int8 = reader.meta.get("precision") == "int8"
    if config.export.precision == "int8" and not int8 and isinstance(reader, OnnxModel):
        quantize_model(stand_in, work / "stand-in-int8")  # choices made for int8 probabilities, as they ship
        reader = load_model(work / "stand-in-int8")
    meta = _base_meta(config) | {
        "train_articles": len(corpus.train),
        "dev_articles": 0,
        "held_out_articles": len(split.validation),
        "chosen_on": f"the {len(split.validation)} validation articles, read by a stand-in that had not seen them",
        "stand_in": {"created": reader.meta.get("created"), "command": reader.meta.get("command")},
    }
    held_out = encode_all([(reader, split.validation)])
    reading = {"command": command, **_choose_reading(held_out, split.labels, progress)}  # before the hour of training
    output = _ship_pool_networks(config, corpus, work, meta, reading, progress)
    calibrate_and_document(output, held_out, replace(split, validation=[]), meta, progress)
    return output


READING_KEYS = ("decoding", "held_out_figures", "fold_figures", "calibration", "calibration_figures", "chosen_on")


def train_reading_as(
    config: Config, model: Path, progress: Callable[[str], None] = log.info, command: str = ""
) -> Path:
    """Networks trained on the whole pool, reading articles as ``model`` does: its decoding, technique thresholds
    and calibration taken over unchanged.

    Choosing them again costs a stand-in (a tagger trained on the training split) or fold networks; taking them
    from the model that ships reproduces it in the time its own networks train, and retrains it on more articles
    (``data.extra_folders``) without moving how it reads them.
    """
    _require_plain_verifier(config)
    _verifier_source(config)
    source = _exported_meta(model)
    if source is None or "decoding" not in source:
        raise InputError(f"{model}: not a trained model folder (no meta.json with a decoding)")
    if "members" in source:
        raise InputError(
            f"{model}: an ensemble reads with choices made for its members; build it with propscope ensemble"
        )
    if bool(source.get("verifier")) != config.verifier.enabled:
        said = "names techniques with a verifier" if source.get("verifier") else "has no verifier"
        raise InputError(f"{model}: it {said} and the configuration's [verifier] enabled is {config.verifier.enabled}")
    _require_same_verifier(source, config, model, "a model read as it is", "train with its own configuration")
    reading_settings = ("window_tokens", "stride", "window_merge")
    theirs = {k: source.get("config", {}).get("model", {}).get(k) for k in reading_settings}
    ours = {k: getattr(config.model, k) for k in reading_settings}
    if theirs != ours:
        raise InputError(f"{model}: its choices were made for other windows ({theirs}); the configuration has {ours}")
    corpus = load_corpus(config)
    meta = _base_meta(config) | {"train_articles": len(corpus.train), "dev_articles": 0}
    reading = {k: source[k] for k in READING_KEYS if k in source} | {
        "command": command,
        "held_out_articles": source.get("held_out_articles", 0),
        "reading_of": {
            "name": source.get("name"),
            "created": source.get("created"),
            "chosen": held_out_text(source),
        },
    }
    output = _ship_pool_networks(config, corpus, work_folder(config), meta, reading, progress)
    write_meta(output, meta)
    (output / CARD_FILE).write_text(model_card(meta, output), encoding="utf-8")
    return output


def _ship_pool_networks(
    config: Config,
    corpus: Corpus,
    work: Path,
    meta: dict[str, Any],
    reading: dict[str, Any],
    progress: Callable[[str], None],
) -> Path:
    """Train the networks of ``meta`` on the pool into ``work/fp32`` (kept where trained alike), add the reading
    choices to ``meta`` and copy the precision that ships to the output folder."""
    fp32 = _train_or_keep(config, corpus, work, meta, progress)
    meta.update(reading)
    write_meta(fp32, meta)
    precision, _ = _choose_precision(config, replace(corpus, validation=[]), work, progress)
    meta["precision"] = precision
    meta.update(_ship(config, work, precision))
    return Path(config.export.output)


def _ship(config: Config, work: Path, precision: str) -> dict[str, Any]:
    """The model folder: the export in the precision that ships (its files: the work folder keeps every export for
    later study, and folders other tools left there are not the model's), with the tagger as a delta over its
    installed encoder where ``export.delta_rank`` asks (its tokenizer is then the encoder's); what meta.json must add
    (where its verifier is another model's)."""
    output = Path(config.export.output)
    if output.exists():
        shutil.rmtree(output)
    output.mkdir(parents=True)
    for path in (work / precision).iterdir():
        if path.is_file():
            shutil.copy2(path, output / path.name)
    if config.export.delta_rank:
        rank = config.export.delta_rank
        write_tagger_delta(work / "fp32" / ENCODER_FILE, output, config.model.encoder, rank, precision)
        for name in (ENCODER_FILE, TOKENIZER_FILE):
            (output / name).unlink()
    return _shared_verifier(config, output)


def _shared_verifier(config: Config, output: Path) -> dict[str, Any]:
    """Where ``export.verifier_from`` names a model, the meta.json keys that point the model folder at its verifier."""
    folder = _verifier_source(config)
    if folder is None:
        return {}
    relative = os.path.relpath(folder.resolve(), output.resolve())
    return {"verifier_from": relative, "verifier_digest": verifier_digest(folder)}


def _verifier_source(config: Config) -> Path | None:
    """The model folder ``export.verifier_from`` names, checked to hold the verifier this configuration would train:
    the same [verifier] settings, the same seeds and the same articles (a verifier trained twice alike differs only
    by the noise of its training). Checked before training too, so a mismatch costs no hours."""
    if not config.export.verifier_from:
        return None
    if not config.data.folds:  # a dev hold-out is read by the pool network, which would name without it
        raise InputError("[export] verifier_from needs cross-fitting ([data] folds): fold networks carry a verifier")
    folder = model_directory(config.export.verifier_from)
    source = _exported_meta(folder) or {}
    theirs = _verifier_identity(source.get("verifier"))
    ours = _verifier_identity(asdict(config.verifier))
    trained = source.get("config", {})
    same_seed = trained.get("training", {}).get("seed") == config.training.seed
    articles = ("ptc_dir", "train_ids", "validation_ids", "pool", "extra_folders")  # what the pool is made of
    same_data = all(trained.get("data", {}).get(key) == getattr(config.data, key) for key in articles)
    if theirs is None or theirs != ours or not same_seed or not same_data:
        raise InputError(
            f"{folder}: its verifier was not trained with this configuration's [verifier] settings, training seed and "
            'data; name a model whose verifier was, or train one ([export] verifier_from = "")'
        )
    verifier_digest(folder)  # it must hold the network itself
    return folder


def calibrate_and_document(
    directory: Path,
    held_out: Encoded,
    corpus: Corpus,
    meta: dict[str, Any],
    progress: Callable[[str], None] = log.info,
    card: Callable[[dict[str, Any], Path], str] | None = None,
) -> None:
    """Fit the score calibration of the model that ships, then write its meta.json and card."""
    calibration, figures = fit_calibration(directory, held_out, Decoding.of(meta), corpus)
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
    stand_ins: list[Path] | None = None,
    own_verifier: bool = False,
) -> Path:
    """An ensemble folder over trained model folders: decoding and calibration chosen on held-out articles,
    then validated.

    With cross-fitting, ``fold_works`` names each member's work folder: for every fold, the members' networks
    that did not learn from it are averaged the way the ensemble averages its members. With ``stand_ins``,
    one per member, the validation split is where choices are made, read by the stand-ins in the members'
    place: a member whose verifier learnt from every article stands in by its training-split version.

    With ``own_verifier`` (and stand-ins), the ensemble names techniques with a verifier of its own, trained with
    the configuration's ``[verifier]`` settings twice: on the training split, to read the validation split with
    the stand-ins, and on the whole pool, to ship (as a delta where it has adapters).
    """
    corpus = load_corpus(config)
    verifier: dict[str, Any] = {}
    fixed = shipped = None
    if own_verifier and (stand_ins is None or not config.verifier.adapter_rank):
        raise InputError(
            "an ensemble's own verifier is chosen with stand-ins (--stand-in once per member) and ships as a delta "
            "([verifier] adapter_rank at least 1)"
        )
    if stand_ins is not None:
        if len(stand_ins) != len(members):
            raise InputError("give one stand-in per member, in the members' order")
        pool, split, work = _pool_and_split(config)  # the verifiers train in the config's work folder
        if own_verifier:
            fixed = verifier_for(config, split.train, split.labels, work / "fixed-split", progress)
            shipped = verifier_for(config, pool.train, pool.labels, work / "verifier", progress)
            verifier = {"verifier": asdict(config.verifier), "verifier_articles": len(pool.train)}
        reader = EnsembleModel([OnnxModel(m) for m in stand_ins], verifier, verifier_folder=fixed)
        held_out = encode_all([(reader, split.validation)])
        corpus = replace(split, validation=[])  # it took part in the choices: no validation figures
    elif config.data.folds:
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
    (output / VERIFIER_DELTA_FILE).unlink(
        missing_ok=True
    )  # an earlier build's own verifier must not outlive its settings
    if shipped is not None:
        shutil.copyfile(shipped / VERIFIER_DELTA_FILE, output / VERIFIER_DELTA_FILE)
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
        **verifier,
    }
    if stand_ins is not None:
        meta["chosen_on"] = f"the {len(held_out)} validation articles, read by stand-ins that had not seen them"
    meta.update(_choose_reading(held_out, corpus.labels, progress))
    write_meta(output, meta)
    meta["validation"] = {"ensemble": _validate(output, corpus).as_dict()} if corpus.validation else {}
    calibrate_and_document(output, held_out, corpus, meta, progress, card=ensemble_card)
    return output


def cross_fitted_ensembles(config: Config, corpus: Corpus, works: list[Path]) -> HeldOut:
    """Per fold, the ensemble of the members' fold networks, with the articles none of them learnt from."""
    held_out: HeldOut = []
    for number, fold in enumerate(configured_folds(config, corpus), start=1):
        ids = sorted(a.id for a in fold.dev)
        networks = []
        for directory in (work / f"fold-{number}" for work in works):
            meta = _exported_meta(directory)
            if meta is None or meta.get("held_out_ids") != ids or meta.get("train_articles") != len(fold.train):
                raise InputError(
                    f"{directory}: not fold {number} of this configuration's cross-fitting "
                    f"(folds = {config.data.folds}, dev_seed = {config.data.dev_seed}, "
                    f"fold_share = {config.data.fold_share})"
                )
            networks.append(OnnxModel(directory))
        held_out.append((EnsembleModel(networks), fold.dev))
    return held_out
