"""How much of a fully fine-tuned verifier survives as a low-rank delta over its installed encoder.

    python bench/delta_rank.py --set verifier.encoder=all-mpnet-base-v2 --set verifier.learning_rate=1e-4 \
        [--ranks 32 8] [--work runs/delta-rank]

Trains one verifier network fully fine-tuned on fold 1 of the 2-fold story-grouped yardstick (the fold
``bench/naming_folds.py --set data.folds=2 --set verifier.networks=1`` trains first, so the "full" figure is the
same one) and
scores technique F1 on the other fold's gold spans: as trained, then with every weight matrix of the
encoder's blocks replaced by the installed one plus the best rank-r approximation (SVD) of what
training changed, and the embeddings reset to the installed ones, which is what a delta of low-rank
factors (``training/delta.py``) can hold.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import shutil
from pathlib import Path

from naming_folds import VerifierNaming

from propscope.metrics import technique_classification
from propscope.model.encoders import encoder_folder
from propscope.model.verifier import find_verifier
from propscope.model.windows import WindowTokenizer
from propscope.pipeline.analyzer import Analyzer
from propscope.training.config import load_config, with_overrides
from propscope.training.loop import configured_folds, load_corpus
from propscope.training.verifier import export_verifier, train_verifier


def low_rank(network, installed: dict, rank: int):
    """``network`` with each block's weight matrix cut to installed + rank-r change, embeddings as installed."""
    import torch

    cut = copy.deepcopy(network)
    state = cut.state_dict()
    for key, value in state.items():
        base = installed.get(key.removeprefix("encoder."))
        if not key.startswith("encoder.") or base is None or value.ndim != 2:
            continue
        if "embeddings" in key:
            state[key] = base.clone()
        elif ".layer." in key:
            u, s, vt = torch.linalg.svd((value - base).float(), full_matrices=False)
            state[key] = base + (u[:, :rank] * s[:rank]) @ vt[:rank]
    cut.load_state_dict(state)
    return cut


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=Path("configs/default.toml"))
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--ranks", type=int, nargs="*", default=[32, 8])
    parser.add_argument("--work", type=Path, default=Path("runs/delta-rank"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    from transformers import AutoModel

    config = with_overrides(load_config(args.config), ["data.folds=2", *args.overrides, "verifier.adapter_rank=0"])
    fold = configured_folds(config, load_corpus(config))[0]
    network = train_verifier(config, fold.train, fold.labels, logging.info)
    installed = AutoModel.from_pretrained(str(encoder_folder(config.verifier.encoder))).state_dict()
    pieces = WindowTokenizer.from_file(str(encoder_folder(config.model.encoder) / "tokenizer.json"), 256, 1)
    articles = {a.id: a for a in fold.dev}
    template = [label for a in fold.dev for label in fold.labels.get(a.id, [])]
    figures = {}
    for name, candidate in [("full", network), *((f"rank {r}", low_rank(network, installed, r)) for r in args.ranks)]:
        folder = args.work / name.replace(" ", "-")
        export_verifier(candidate, folder, config.export.verifier_precision)
        shutil.copyfile(encoder_folder(config.verifier.encoder) / "tokenizer.json", folder / "tokenizer.json")
        verifier = find_verifier(folder, {"verifier": {"max_tokens": config.verifier.max_tokens}})
        named = Analyzer(VerifierNaming(verifier, pieces)).classify_template(articles, template)  # type: ignore[arg-type]
        figures[name] = technique_classification(named, template).overall.f1
        logging.info("%s: fold-1 technique F1 %.4f", name, figures[name])
    print(json.dumps({"settings": args.overrides, "fold-1 technique F1": figures}, indent=1))


if __name__ == "__main__":
    main()
