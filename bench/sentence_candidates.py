"""Whole sentences named by the verifier, on the yardstick: span and full-task F1 fold by fold for each threshold.

    python bench/sentence_candidates.py [--config configs/accurate.toml] [--reading-of accurate] [--fold K]

Reads a configuration's fold networks (int8, as they ship; trained where missing, as `bench/cross_fit.py` does) with
a model's decoding, its sentence threshold set aside, then marks each sentence the decoded passages cover at most
30% of (`Analyzer.sentences`) whole where the verifier gives one technique at least
the threshold: the choice `propscope train` makes last, shown threshold by threshold. In the corpus, 15% of the spans
and their sentence overlap by 80% or more each way: passages a token tagger often passes over.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np

from propscope.corpus.labels import technique_labels
from propscope.errors import ModelError
from propscope.metrics import full_task, span_identification
from propscope.model.inference import read_decoding
from propscope.pipeline.analyzer import Analyzer, model_directory
from propscope.training.config import load_config, with_overrides
from propscope.training.loop import load_corpus
from propscope.training.recipe import cross_fitted_models, marked_sentences, quantized_folds, work_folder

THRESHOLDS = (0.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3)  # 0: no sentence marked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=Path("configs/accurate.toml"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="e.g. data.folds=2")
    parser.add_argument("--reading-of", metavar="MODEL", default="accurate", help="the model whose decoding reads")
    parser.add_argument("--fold", type=int, help="read this fold alone")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    config = with_overrides(load_config(args.config), args.overrides)
    try:
        decoding = replace(read_decoding(model_directory(args.reading_of)), sentence_threshold=0.0)
    except ModelError as error:
        raise SystemExit(f"error: --reading-of: {error}") from None
    corpus = load_corpus(config)
    work = work_folder(config)
    held_out = quantized_folds(cross_fitted_models(config, corpus, work, logging.info, only=args.fold), work)
    folds = []  # per fold: (gold, passages found, sentence candidates with their techniques' probabilities)
    for model, articles in held_out:
        if model.verifier is None:
            raise SystemExit("error: the configuration's fold networks have no verifier to name sentences with")
        model.decoding = decoding
        analyzer = Analyzer(model)
        gold, found, sentences = [], [], []
        for article in articles:
            encoding = model.encode(article.text)
            passages = technique_labels(analyzer.analyze(article, encoding))
            gold += corpus.labels.get(article.id, [])
            found += passages
            sentences.append((article.id, *analyzer.sentences(encoding, [(p.start, p.end) for p in passages])))
        folds.append((gold, found, sentences, model.techniques))
        logging.info("fold %d of %d read", len(folds), len(held_out))
    print(f"decoding: {decoding}")
    print("| sentence threshold | sentences marked | span F1 (folds) | mean | full task F1 (folds) | mean |")
    print("|---|---|---|---|---|---|")
    for threshold in THRESHOLDS:
        marked, span, full = 0, [], []
        for gold, found, sentences, techniques in folds:
            extra = marked_sentences(sentences, techniques, decoding, threshold)
            marked += len({(e.article_id, e.start) for e in extra})
            span.append(span_identification(found + extra, gold).overall.f1)
            full.append(full_task(found + extra, gold).overall.f1)
        print(
            f"| {threshold or 'none'} | {marked} | {' / '.join(f'{v:.4f}' for v in span)} | {np.mean(span):.4f} "
            f"| {' / '.join(f'{v:.4f}' for v in full)} | {np.mean(full):.4f} |"
        )


if __name__ == "__main__":
    main()
