"""From text to an ``Analysis``: encode once, detect spans, name their techniques, split sentences."""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from propscope.corpus.labels import Label
from propscope.document import Analysis, Article, Span
from propscope.errors import InputError, ModelError
from propscope.model.assembly import DELTA_FILES, assemble, assembled_folder, delta_encoder, is_assembled
from propscope.model.encoders import encoder_by_name, is_installed
from propscope.model.ensemble import EnsembleModel, Model, load_model
from propscope.model.inference import META_FILE, DetectedSpan, EncodedText, name_spans, read_meta
from propscope.model.verifier import shared_verifier_folder
from propscope.pipeline.evidence import EvidenceFinder
from propscope.pipeline.sentences import sentence_candidates, split_sentences

MODELS_DIR = Path(__file__).resolve().parent.parent / "resources" / "models"
DEFAULT_MODEL = "default"


def model_directory(name_or_path: str) -> Path:
    """A shipped model's name (``default``) or the path of a model folder."""
    shipped = MODELS_DIR / name_or_path
    if shipped.is_dir():
        return shipped
    path = Path(name_or_path)
    if path.is_dir():
        return path
    available = sorted(p.name for p in MODELS_DIR.iterdir() if p.is_dir()) if MODELS_DIR.is_dir() else []
    raise ModelError(f"no model {name_or_path!r}: name one of {available} or give a model folder")


@dataclass(frozen=True)
class ModelStatus:
    name: str
    directory: Path
    ready: bool  # loads as it is, nothing to install or build first
    note: str  # what it needs where it is not ready, or what it is built from


def shipped_models() -> list[str]:
    return sorted(p.name for p in MODELS_DIR.iterdir() if (p / "meta.json").exists()) if MODELS_DIR.is_dir() else []


def model_status(name_or_path: str) -> ModelStatus:
    """Whether a model loads as it is; a network shipped as a delta needs its encoder installed and assembled, and a
    verifier named in another model's folder must be there, unchanged."""
    directory = model_directory(name_or_path)
    try:
        meta = read_meta(directory) if (directory / META_FILE).exists() else {}
        deltas = _deltas(directory, meta)
        built = [] if deltas else ["ships whole"]
        for delta in deltas:
            encoder = delta_encoder(delta)
            if not is_installed(encoder):
                install = encoder_by_name(encoder).install
                return ModelStatus(name_or_path, directory, False, f"needs {encoder}: {install}")
            if not is_assembled(delta):
                return ModelStatus(name_or_path, directory, False, f"assembled over {encoder} on first use")
            built.append(f"assembled over {encoder} in {assembled_folder(delta)}")
        if meta.get("verifier_from"):
            built.append(f"names techniques with the verifier in {shared_verifier_folder(directory, meta)}")
    except (OSError, ValueError, TypeError, ModelError) as err:
        return ModelStatus(name_or_path, directory, False, str(err))
    return ModelStatus(name_or_path, directory, True, "; ".join(built))


def build_model(name_or_path: str) -> list[Path]:
    """Assemble the networks a model ships as deltas now, rather than on first use; the folders built into."""
    directory = model_directory(name_or_path)
    return [assemble(delta) for delta in _deltas(directory, read_meta(directory))]


def _deltas(directory: Path, meta: dict) -> list[Path]:
    """The deltas a model folder holds, and an ensemble's members'."""
    folders = [directory] + [(directory / member).resolve() for member in meta.get("members") or []]
    for folder in folders[1:]:
        if not folder.is_dir():
            raise ModelError(f"{directory}: its member {folder} is not there")
    return [folder / name for folder in folders for name in DELTA_FILES if (folder / name).exists()]


class Analyzer:
    def __init__(self, model: Model) -> None:
        self.model = model

    @classmethod
    def load(cls, name_or_path: str = DEFAULT_MODEL, threads: int | None = None) -> Analyzer:
        directory = model_directory(name_or_path)
        try:
            return cls(load_model(directory, threads=threads))
        except ModelError:
            raise
        except Exception as err:  # any folder can be named: a missing file, a meta.json of the wrong shape
            raise ModelError(f"{directory}: not a usable PropScope model ({type(err).__name__}: {err})") from None

    def analyze(self, article: Article | str, encoded: EncodedText | None = None) -> Analysis:
        """``encoded``: the article already run through ``self.model.encode``, to reuse it."""
        if isinstance(article, str):
            article = Article(id="text", text=article)
        if not isinstance(article, Article):
            raise TypeError(f"analyze() takes a str or an Article, not {type(article).__name__}")
        _check_str(text=article.text, title=article.title, id=article.id)
        if not article.text.strip():
            raise InputError(f"article {article.id!r} is empty")
        try:
            article.text.encode("utf-8")
        except UnicodeEncodeError as err:  # a lone surrogate, as JSON's "\\ud800" decodes to
            raise InputError(f"article {article.id!r} is not valid Unicode (character {err.start})") from None
        encoded = encoded or self.model.encode(article.text)
        if not len(encoded.tokens):
            raise InputError(f"article {article.id!r} has no words the model can read")
        spans = self._spans(encoded)
        return Analysis.build(article, spans, split_sentences(article.text), model=self.model.name)

    def candidates(
        self, encoded: EncodedText
    ) -> tuple[list[DetectedSpan], np.ndarray, list[tuple[DetectedSpan, int, float]]]:
        """The detected passages, their technique probabilities, and each passage with every technique it receives
        and its raw score: what the calibration turns into a probability (and is fitted on)."""
        decoding = self.model.decoding
        detected = self.model.detect(encoded)
        probabilities = self.model.classify(encoded, [(d.start, d.end) for d in detected])
        named = name_spans(detected, probabilities, decoding)
        if decoding.sentence_threshold and self.model.multi_label:  # a verifier's "no technique" passes most over
            sentences, rows = self.sentences(encoded, [(d.start, d.end) for d, _, _ in named])
            named += name_spans(sentences, rows, replace(decoding, technique_threshold=decoding.sentence_threshold))
            detected, probabilities = detected + sentences, np.concatenate([probabilities, rows])
        return detected, probabilities, named

    def sentences(self, encoded: EncodedText, marked: list[tuple[int, int]]) -> tuple[list[DetectedSpan], np.ndarray]:
        """The sentences the ``marked`` passages leave alone (``sentence_candidates``), with their techniques'
        probabilities: what a decoding's ``sentence_threshold`` marks whole."""
        found = sentence_candidates(encoded, sorted(set(marked)))
        return found, self.model.classify(encoded, [(d.start, d.end) for d in found])

    def _spans(self, encoded: EncodedText) -> list[Span]:
        detected, probabilities, named = self.candidates(encoded)
        raw, peaks = np.array([r for _, _, r in named]), np.array([d.peak for d, _, _ in named])
        techniques = self.model.techniques
        scores = self.model.calibration.apply(raw, peaks, [techniques[k] for _, k, _ in named])
        finder = EvidenceFinder(encoded.text, encoded.tokens, encoded.span_probability, techniques)
        kept = {(d.start, d.end) for d, _, _ in named}
        evidence = {
            (d.start, d.end): finder.evidence(d.start, d.end, row)
            for d, row in zip(detected, probabilities, strict=True)
            if (d.start, d.end) in kept
        }
        return [
            Span(d.start, d.end, techniques[k], max(round(float(score), 4), 0.0001), evidence[(d.start, d.end)])
            for (d, k, _), score in zip(named, scores, strict=True)
        ]

    def word_pieces(self, text: str) -> int:
        """How many word pieces the model reads in ``text``: what analysing it costs, unlike its length."""
        model = self.model
        tokenizer = model.members[0].tokenizer if isinstance(model, EnsembleModel) else model.tokenizer
        return len(tokenizer.tokenize(text))

    def technique_probabilities(
        self, text: str, spans: list[tuple[int, int]], encoded: EncodedText | None = None
    ) -> np.ndarray:
        """Probabilities over ``self.model.techniques`` for given character spans of one text."""
        for start, end in spans:
            if start >= end:
                raise InputError(f"span {start}..{end} holds no character: its end must come after its start")
            if not 0 <= start < end <= len(text):
                raise InputError(f"span {start}..{end} lies outside the text (length {len(text)})")
        encoded = encoded or self.model.encode(text)
        for start, end in spans:
            first, last = encoded.tokens.token_range(start, end)
            if first >= last:
                raise InputError(f"span {start}..{end} holds no word the model can read")
        return self.model.classify(encoded, spans)

    def classify_template(
        self,
        articles: dict[str, Article],
        template: list[Label],
        encoded: dict[str, EncodedText] | None = None,
    ) -> list[Label]:
        """Fill in the technique of every template row, keeping the template's order.

        A span listed k times gets its k most probable techniques, since gold labels of one span are
        matched as a multiset.
        """
        rows_by_article: dict[str, list[int]] = defaultdict(list)
        for index, row in enumerate(template):
            if row.article_id not in articles:
                raise InputError(f"template row {index + 1}: no article with id {row.article_id!r}")
            rows_by_article[row.article_id].append(index)
        filled: list[Label | None] = [None] * len(template)
        for article_id, indices in rows_by_article.items():
            article = articles[article_id]
            spans = sorted({(template[i].start, template[i].end) for i in indices})
            probabilities = self.technique_probabilities(article.text, spans, (encoded or {}).get(article_id))
            ranked = {span: list(np.argsort(-p)) for span, p in zip(spans, probabilities, strict=True)}
            for i in indices:
                row = template[i]
                choice = ranked[(row.start, row.end)]
                technique = self.model.techniques[choice.pop(0) if len(choice) > 1 else choice[0]]
                filled[i] = Label(row.article_id, row.start, row.end, technique)
        return [label for label in filled if label is not None]


def _check_str(**values: object) -> None:
    for name, value in values.items():
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a str, not {type(value).__name__}")


_loading = threading.Lock()


def load_analyzer(name_or_path: str = DEFAULT_MODEL) -> Analyzer:
    """The cached analyzer: loading a model takes a while, so every caller (and thread) shares one."""
    _check_str(model=name_or_path)
    with _loading:  # threads asking at once wait for the one load
        return _cached_analyzer(name_or_path)


@lru_cache(maxsize=4)
def _cached_analyzer(name_or_path: str) -> Analyzer:
    return Analyzer.load(name_or_path)


def analyze(text: str, *, title: str = "", model: str = DEFAULT_MODEL) -> Analysis:
    """Find the propaganda techniques in ``text``, with the shipped default model unless named."""
    _check_str(text=text, title=title, model=model)
    return load_analyzer(model).analyze(Article(id="text", text=text, title=title))
