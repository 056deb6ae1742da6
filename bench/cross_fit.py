"""The yardstick: out-of-fold figures of a training configuration, without training the final networks.

    python bench/cross_fit.py [--config configs/default.toml] [--set verifier.epochs=3 ...] [--naming tagger]

Trains (or reuses) the configuration's fold networks where `propscope train` would put them (a later
`propscope train` with the same settings starts from them). The folds keep each story whole, so every
figure is measured on articles whose story no network met in training. Chooses the span decoding as the
recipe does and prints span, technique and full-task F1 over all held-out articles, then each fold's
F1 with their mean and standard deviation (a change must beat that spread), and how the scores rank
spans (area under the ROC curve, precision over 0.5, ECE, each fold's spans calibrated by the curve fitted
on the other folds').
`--naming tagger` reads the same fold networks with the tagger's own technique head instead of the
verifier: the recipe without a verifier, on identical folds. `--spans FILE` writes the passages the fold
taggers found in the articles they had not learnt from, with that decoding: what `[verifier] tagger_spans`
trains a verifier on.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from propscope.corpus.labels import Label, write_labels
from propscope.training.config import load_config, with_overrides
from propscope.training.loop import load_corpus
from propscope.training.recipe import (
    choose_decoding,
    cross_fitted_models,
    encode_all,
    fold_figures,
    held_out_figures,
    outcomes,
    work_folder,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=Path("configs/default.toml"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="e.g. training.epochs=24")
    parser.add_argument("--naming", choices=("verifier", "tagger"), default="verifier")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument("--spans", type=Path, help="write the tagger's out-of-fold spans here (ID, start, end)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    config = with_overrides(load_config(args.config), args.overrides)
    if config.data.folds < 2:
        raise SystemExit("cross-fitting needs [data] folds >= 2 (e.g. --set data.folds=4)")
    corpus = load_corpus(config)
    held_out = cross_fitted_models(config, corpus, work_folder(config), logging.info)
    if args.naming == "tagger":
        for model, _ in held_out:
            model.verifier = None
    encoded = encode_all(held_out)
    decoding = choose_decoding(encoded, corpus.labels)
    figures = held_out_figures(encoded, decoding, corpus.labels)
    folds = fold_figures(encoded, corpus.labels)
    if args.spans:
        found = [Label(a.id, d.start, d.end) for model, a, e in encoded for d in model.detect(e)]
        with args.spans.open("w", encoding="utf-8") as out:
            write_labels(found, out)
    ranking = outcomes(encoded, corpus.labels).cross_fitted_figures()
    print(f"settings: {' '.join(args.overrides) or '(config as is)'}, naming by {args.naming}; decoding: {decoding}")
    print("| task | precision | recall | F1 | fold mean ± sd | per fold |\n|---|---|---|---|---|---|")
    for task, name in (("si", "span identification"), ("tc", "technique classification"), ("flc", "full task")):
        score, fold = figures[task], folds[task]
        print(
            f"| {name} | {score['precision']:.4f} | {score['recall']:.4f} | {score['f1']:.4f} "
            f"| {fold['mean']:.4f} ± {fold['std']:.4f} | {' / '.join(f'{v:.4f}' for v in fold['folds'])} |"
        )
    print(
        f"scores: AUROC {ranking['auroc']:.4f}, {ranking['spans_over_half']} spans over 0.5 right "
        f"{ranking['precision_over_half']:.4f}, ECE {ranking['ece_before']:.4f} -> {ranking['ece_after']:.4f} "
        f"({ranking['spans']} spans)"
    )
    if args.json:
        record = {"settings": args.overrides, "naming": args.naming, "decoding": str(decoding)}
        record |= {"figures": figures, "folds": folds, "scores": ranking}
        args.json.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
