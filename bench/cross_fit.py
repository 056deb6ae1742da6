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
`--reading-of MODEL` reads with that model's decoding instead of choosing one (a shipped name or a folder; only
its meta.json is read);
`--fold K` trains and reads fold K alone (no score ranking: it calibrates each fold on the others);
`--thresholds 0.2 0.25 ...` also prints the span and full-task F1 the decoding read with gives at each of these span
thresholds, the rest of it unchanged (how much a network trained on fewer articles loses to a decoding chosen for
others);
`--precision int8` reads with each fold tagger's encoder quantized as the shipped tagger's is (in
`WORK/int8-folds/fold-K`, as `propscope train` reads them for an int8 model); `--across-folds` also chooses the
decoding on each fold alone and scores it on the other folds, against the one read with: does a choice made on
some unseen articles carry over to others?
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import replace
from pathlib import Path

from propscope.corpus.labels import Label, write_labels
from propscope.errors import ModelError
from propscope.model.inference import Decoding, read_decoding
from propscope.pipeline.analyzer import model_directory
from propscope.training.config import load_config, with_overrides
from propscope.training.loop import load_corpus
from propscope.training.recipe import (
    choose_decoding,
    cross_fitted_models,
    encode_all,
    fold_figures,
    held_out_figures,
    outcomes,
    quantized_folds,
    work_folder,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=Path("configs/default.toml"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="e.g. training.epochs=24")
    parser.add_argument("--naming", choices=("verifier", "tagger"), default="verifier")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument("--spans", type=Path, help="write the tagger's out-of-fold spans here (ID, start, end)")
    parser.add_argument("--reading-of", metavar="MODEL", help="read with this model's decoding, not one chosen here")
    parser.add_argument("--precision", choices=("fp32", "int8"), default="fp32", help="the fold taggers' encoder")
    parser.add_argument("--across-folds", action="store_true", help="choose on each fold, score on the others")
    parser.add_argument("--thresholds", type=float, nargs="+", default=[], help="span thresholds to also score")
    parser.add_argument("--fold", type=int, help="train and read this fold alone (figures for its articles only)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    config = with_overrides(load_config(args.config), args.overrides)
    if config.data.folds < 2:
        raise SystemExit("cross-fitting needs [data] folds >= 2 (e.g. --set data.folds=4)")
    read_with = None  # a model's decoding, checked before any fold network trains
    if args.reading_of:
        try:
            read_with = read_decoding(model_directory(args.reading_of))
        except ModelError as error:
            raise SystemExit(f"error: --reading-of: {error}") from None
    corpus = load_corpus(config)
    if args.fold is not None and not 1 <= args.fold <= config.data.folds:
        raise SystemExit(f"--fold must be between 1 and {config.data.folds}")
    held_out = cross_fitted_models(config, corpus, work_folder(config), logging.info, only=args.fold)
    if args.precision == "int8":
        held_out = quantized_folds(held_out, work_folder(config))
    if args.naming == "tagger":
        for model, _ in held_out:
            model.verifier = None
    encoded = encode_all(held_out)
    decoding = read_with or choose_decoding(encoded, corpus.labels)
    figures = held_out_figures(encoded, decoding, corpus.labels)
    folds = fold_figures(encoded, corpus.labels)
    if args.spans:
        found = [Label(a.id, d.start, d.end) for model, a, e in encoded for d in model.detect(e)]
        with args.spans.open("w", encoding="utf-8") as out:
            write_labels(found, out)
    # each fold's spans are calibrated by a curve fitted on the other folds': none with one fold
    ranking = outcomes(encoded, corpus.labels).cross_fitted_figures() if args.fold is None else {}
    print(f"settings: {' '.join(args.overrides) or '(config as is)'}, naming by {args.naming}; decoding: {decoding}")
    print("| task | precision | recall | F1 | fold mean ± sd | per fold |\n|---|---|---|---|---|---|")
    for task, name in (("si", "span identification"), ("tc", "technique classification"), ("flc", "full task")):
        score, fold = figures[task], folds[task]
        print(
            f"| {name} | {score['precision']:.4f} | {score['recall']:.4f} | {score['f1']:.4f} "
            f"| {fold['mean']:.4f} ± {fold['std']:.4f} | {' / '.join(f'{v:.4f}' for v in fold['folds'])} |"
        )
    if ranking:
        print(
            f"scores: AUROC {ranking['auroc']:.4f}, {ranking['spans_over_half']} spans over 0.5 right "
            f"{ranking['precision_over_half']:.4f}, ECE {ranking['ece_before']:.4f} -> {ranking['ece_after']:.4f} "
            f"({ranking['spans']} spans)"
        )
    across = across_folds(encoded, decoding, corpus.labels) if args.across_folds else []
    for row in across:
        print(
            f"chosen on fold {row['chosen_on']}, scored on the others: {row['chosen']['mean']:.4f} (span "
            f"{row['chosen']['si']:.4f}, full {row['chosen']['flc']:.4f}) against {row['read']['mean']:.4f} read as "
            f"above (span {row['read']['si']:.4f}, full {row['read']['flc']:.4f}); chose {row['decoding']}"
        )
    # last: scoring sets each model's decoding
    swept = {t: held_out_figures(encoded, replace(decoding, threshold=t), corpus.labels) for t in args.thresholds}
    for threshold, scored in swept.items():
        print(f"span threshold {threshold}: span F1 {scored['si']['f1']:.4f}, full task {scored['flc']['f1']:.4f}")
    if args.json:
        record = {"settings": args.overrides, "naming": args.naming, "decoding": str(decoding)}
        record |= {"precision": args.precision, "reading_of": args.reading_of, "across_folds": across}
        record |= {"figures": figures, "folds": folds, "scores": ranking, "thresholds": swept}
        args.json.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


def across_folds(encoded, read: Decoding, labels: dict[str, list[Label]]) -> list[dict]:
    """For each fold, the decoding chosen on its articles alone, and ``read``, scored on the other folds' articles
    by the mean of span and full-task F1 (what the recipe's choice maximises)."""
    readers = [model for model, _, _ in encoded]
    rows = []
    for number, reader in enumerate(dict.fromkeys(readers), start=1):
        chosen_on = [item for item in encoded if item[0] is reader]
        scored_on = [item for item in encoded if item[0] is not reader]
        chosen = choose_decoding(chosen_on, labels)
        scores = {}
        for name, decoding in (("chosen", chosen), ("read", read)):
            f = held_out_figures(scored_on, decoding, labels)
            scores[name] = {t: f[t]["f1"] for t in ("si", "flc")} | {"mean": (f["si"]["f1"] + f["flc"]["f1"]) / 2}
        rows.append({"chosen_on": number, "decoding": str(chosen)} | scores)
    return rows


if __name__ == "__main__":
    main()
