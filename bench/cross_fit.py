"""Out-of-fold figures of a training configuration, without training the final network.

    python bench/cross_fit.py [--config configs/default.toml] [--set training.learning_rate=1e-4 ...]

Trains (or reuses) the configuration's fold networks where `propscope train` would put them, so a
later `propscope train` with the same settings starts from them, chooses the span decoding as the
recipe does and prints span, technique and full-task figures over all held-out training articles:
what configurations are compared by, never the validation split.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from propscope.training.config import load_config, with_overrides
from propscope.training.loop import load_corpus
from propscope.training.recipe import choose_decoding, cross_fitted_models, encode_all, held_out_figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=Path("configs/default.toml"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="e.g. training.epochs=24")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    config = with_overrides(load_config(args.config), args.overrides)
    if config.data.folds < 2:
        raise SystemExit("cross-fitting needs [data] folds >= 2 (e.g. --set data.folds=2)")
    corpus = load_corpus(config)
    output = Path(config.export.output)
    encoded = encode_all(cross_fitted_models(config, corpus, output.parent / f"{output.name}.work", logging.info))
    decoding = choose_decoding(encoded, corpus.labels)
    figures = held_out_figures(encoded, decoding, corpus.labels)
    print(f"settings: {' '.join(args.overrides) or '(config as is)'}; decoding: {decoding}")
    print("| task | precision | recall | F1 |\n|---|---|---|---|")
    for task, name in (("si", "span identification"), ("tc", "technique classification"), ("flc", "full task")):
        score = figures[task]
        print(f"| {name} | {score['precision']:.4f} | {score['recall']:.4f} | {score['f1']:.4f} |")


if __name__ == "__main__":
    main()
