"""An ensemble of networks trained with different seeds: span and technique probabilities averaged (technique
probabilities of the members with a verifier only, where there are such), or its own verifier naming techniques
where its folder holds one.

It behaves like one ``OnnxModel`` (encode, detect, classify), so the pipeline does not know the
difference. Members share the tokenizer and windows; its folder's ``meta.json`` names them
(``"members"``, paths relative to the folder) and holds its own decoding and calibration, chosen for
exactly those networks: a member retrained since (its digest changed) makes the ensemble refuse to load.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from propscope.errors import ModelError
from propscope.model.assembly import VERIFIER_DELTA_FILE, VERIFIER_FILE
from propscope.model.calibration import Calibration
from propscope.model.inference import (
    CLASSIFIER_FILE,
    Decoding,
    DetectedSpan,
    EncodedText,
    OnnxModel,
    decode_spans,
    read_meta,
)
from propscope.model.verifier import find_verifier, name_techniques


@dataclass(frozen=True)
class EnsembleEncoded(EncodedText):
    members: tuple[EncodedText, ...] = ()


class EnsembleModel:
    def __init__(
        self,
        members: list[OnnxModel],
        meta: dict[str, Any] | None = None,
        directory: Path | None = None,
        threads: int | None = None,
        verifier_folder: Path | None = None,
    ):
        """Networks read as one; ``meta`` holds the ensemble's own decoding and calibration, and the settings of
        its own verifier where its folder (or ``verifier_folder``) holds one."""
        self.members = members
        self.meta: dict[str, Any] = meta or {}
        self.directory = Path(directory) if directory else members[0].directory.parent
        # their probabilities are averaged token by token, so they must cut articles into the same word pieces
        shared = {(m.meta.get("base_encoder"), m.meta["window_tokens"], m.meta["stride"]) for m in members}
        if len(shared) != 1 or len({m.techniques for m in members}) != 1:
            raise ModelError(f"{self.directory}: ensemble members must share the encoder, windows and techniques")
        self.techniques = members[0].techniques
        self.decoding = Decoding.of(self.meta)
        self.calibration = Calibration(**self.meta.get("calibration", {}))
        # only a folder named for it: one derived from the members' place is not the ensemble's
        own = verifier_folder or (Path(directory) if directory else None)
        self.verifier = find_verifier(own, self.meta, threads) if own else None

    @classmethod
    def load(cls, directory: Path, threads: int | None = None) -> EnsembleModel:
        meta = read_meta(directory)
        try:
            paths = [(Path(directory) / member).resolve() for member in meta["members"]]
        except (KeyError, TypeError) as err:
            raise ModelError(f"{directory}: not a usable PropScope ensemble ({err})") from None
        for path, expected in zip(paths, meta.get("member_digests", [None] * len(paths)), strict=True):
            # ensembles built before the digest covered verifiers name the classifier's alone (checked only then)
            if expected not in (None, member_digest(path)) and expected != member_digest(path, verifier=False):
                raise ModelError(f"{directory}: member {path} changed since the ensemble was built: rebuild it")
        return cls([OnnxModel(path, threads=threads) for path in paths], meta, directory, threads)

    @property
    def name(self) -> str:
        return str(self.meta.get("name", self.directory.name))

    @property
    def multi_label(self) -> bool:
        return self.verifier is not None or any(m.multi_label for m in self.members)

    def encode(self, text: str) -> EnsembleEncoded:
        members = tuple(m.encode(text) for m in self.members)
        first = members[0]
        average = np.mean([e.span_probability for e in members], axis=0)
        return EnsembleEncoded(text, first.tokens, first.windows, first.hidden, average, members)

    def detect(self, encoded: EnsembleEncoded) -> list[DetectedSpan]:
        return decode_spans(encoded, self.decoding)

    def classify(self, encoded: EnsembleEncoded, spans: list[tuple[int, int]]) -> np.ndarray:
        """The members' technique probabilities averaged; where some members have a verifier, theirs alone
        (a verifier's leave room for "no technique", the tagger head's do not: they do not average into either).
        The ensemble's own verifier names them with the members' heads averaged in its ``tagger_weight``."""
        if not spans:
            return np.zeros((0, len(self.techniques)), dtype=np.float32)
        pairs = list(zip(self.members, encoded.members, strict=True))
        if self.verifier is not None:

            def heads() -> np.ndarray:
                return np.mean([m.head_probabilities(e, spans) for m, e in pairs], axis=0)

            return name_techniques(self.verifier, self.meta, encoded.text, spans, heads)
        namers = [(m, e) for m, e in pairs if m.multi_label] or pairs
        return np.mean([m.classify(e, spans) for m, e in namers], axis=0)


def member_digest(directory: Path, verifier: bool = True) -> str:
    """Identifies a member by its technique classifier's weights, which any retraining of the tagger changes, and
    by its verifier, which may be retrained alone: an ensemble's choices were made for both."""
    digest = hashlib.sha256()
    try:
        digest.update((Path(directory) / CLASSIFIER_FILE).read_bytes())
        for name in (VERIFIER_FILE, VERIFIER_DELTA_FILE):
            if verifier and (Path(directory) / name).exists():
                digest.update((Path(directory) / name).read_bytes())
    except OSError as err:
        raise ModelError(f"{directory}: not a usable PropScope model ({err})") from None
    return digest.hexdigest()[:16]


def load_model(directory: Path, threads: int | None = None) -> OnnxModel | EnsembleModel:
    """The model in a folder: an ensemble where its meta.json lists members, else one network."""
    meta = read_meta(directory)
    return EnsembleModel.load(directory, threads) if "members" in meta else OnnxModel(directory, threads)


Model = OnnxModel | EnsembleModel
