"""Technique naming on the yardstick: the verifier alone, trained fold by fold, technique F1 on gold spans.

    python bench/naming_folds.py [--config configs/default.toml] [--set verifier.epochs=3 ...] [--fixed-split]

Trains (or reuses, under ``--work``) one verifier per story-grouped fold of the configuration's pool and
scores the SemEval-2020 technique-classification task on the gold spans of the fold it did not learn
from (a span listed k times gets its k most probable techniques); prints each fold's F1, their mean and
standard deviation, and the pooled per-technique figures. Costs one verifier per fold and no span
tagger, so naming choices can be compared where training whole models per fold would take hours.
``--fixed-split`` trains on the fixed training split and scores the validation split instead, for
continuity with earlier figures. With ``--set verifier.networks=2`` each fold's verifier is two networks
(seeds 13 and 14 by default) averaged, as a shipped one would be; each network is reused on its own.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np

from propscope.metrics import technique_classification
from propscope.model.encoders import encoder_folder
from propscope.model.inference import EncodedText
from propscope.model.verifier import Verifier, find_verifier
from propscope.model.windows import WindowTokenizer
from propscope.pipeline.analyzer import Analyzer
from propscope.techniques import TECHNIQUE_NAMES
from propscope.training.config import load_config, with_overrides
from propscope.training.loop import configured_folds, load_corpus
from propscope.training.verifier import verifier_for


class VerifierNaming:
    """The verifier alone, read the way ``Analyzer.classify_template`` reads a model."""

    techniques = TECHNIQUE_NAMES

    def __init__(self, verifier: Verifier, tokenizer: WindowTokenizer) -> None:
        self.verifier, self.tokenizer = verifier, tokenizer

    def encode(self, text: str) -> EncodedText:
        """The word pieces alone (the analyzer checks that each span holds some); no tagger runs."""
        return EncodedText(text, self.tokenizer.tokenize(text), [], np.zeros((0, 0, 0)), np.zeros(0))

    def classify(self, encoded: EncodedText, spans: list[tuple[int, int]]) -> np.ndarray:
        return self.verifier.probabilities(encoded.text, spans)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=Path("configs/default.toml"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="e.g. verifier.epochs=3")
    parser.add_argument("--work", type=Path, default=Path("runs/naming"))
    parser.add_argument("--fixed-split", action="store_true")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    config = with_overrides(load_config(args.config), args.overrides)
    if args.fixed_split:
        corpus = load_corpus(with_overrides(config, ["data.pool=train", "data.folds=2"]))
        folds = {"fixed-split": replace(corpus, dev=corpus.validation)}
    else:
        corpus = load_corpus(config)
        parts = configured_folds(config, corpus)
        folds = {f"fold-{k}": fold for k, fold in enumerate(parts, start=1)}
    per_fold, predicted, gold = {}, [], []
    for name, fold in folds.items():
        directory = verifier_for(config, fold.train, fold.labels, args.work / name, logging.info)
        meta = {"verifier": {"max_tokens": config.verifier.max_tokens}}
        verifier = find_verifier(directory, meta)
        pieces = encoder_folder(config.model.encoder) / "tokenizer.json"  # the analyzer's check that spans hold words
        tokenizer = WindowTokenizer.from_file(str(pieces), config.model.window_tokens, 1)
        articles = {a.id: a for a in fold.dev}
        template = [label for a in fold.dev for label in fold.labels.get(a.id, [])]
        named = Analyzer(VerifierNaming(verifier, tokenizer)).classify_template(articles, template)  # type: ignore[arg-type]
        per_fold[name] = technique_classification(named, template).overall.f1
        predicted += named
        gold += template
        logging.info("%s: technique F1 %.4f on %d gold spans", name, per_fold[name], len(template))
    values = list(per_fold.values())
    pooled = technique_classification(predicted, gold)
    spread = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    print(f"settings: {' '.join(args.overrides) or '(config as is)'}")
    print(f"technique F1 pooled {pooled.overall.f1:.4f}; fold mean {np.mean(values):.4f} ± {spread:.4f}; per fold")
    print(" / ".join(f"{name} {value:.4f}" for name, value in per_fold.items()))
    print("| technique | gold spans | technique F1 |\n|---|---|---|")
    for technique, score in pooled.per_technique.items():
        print(f"| {technique} | {score.gold} | {score.f1:.4f} |")
    if args.json:
        record = {"settings": args.overrides, "folds": per_fold, "pooled": pooled.as_dict()}
        args.json.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
