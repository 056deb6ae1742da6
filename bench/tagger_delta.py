"""How much of a fully fine-tuned tagger survives as a low-rank delta over its installed encoder.

    python bench/tagger_delta.py runs/mpnet.work/fold-1 --ranks 0 32 16 [--config configs/default.toml --set ...]

Reads a fold network of the yardstick (``bench/cross_fit.py --fold K`` trains one) on the articles it did not
learn from, int8 as the tagger ships: as exported (rank 0), then with every encoder matrix replaced by the installed
one plus the best rank-r approximation of what fine-tuning changed (``training/delta.py``), the delta a
base-size encoder's tagger would ship as. The decoding is chosen on those articles for each reading, with the
tagger's own technique head, so rows compare like with like.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
from pathlib import Path

import onnx

from propscope.model.assembly import fill_in
from propscope.model.encoders import encoder_folder, read_safetensors
from propscope.model.inference import OnnxModel
from propscope.training.config import load_config, with_overrides
from propscope.training.delta import fine_tuned_delta
from propscope.training.export import quantize_model
from propscope.training.loop import load_corpus
from propscope.training.recipe import choose_decoding, encode_all, held_out_figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("fold", type=Path, help="an exported fold network (encoder.onnx in fp32, meta.json)")
    parser.add_argument("--ranks", type=int, nargs="*", default=[32, 16])
    parser.add_argument("--config", type=Path, default=Path("configs/default.toml"))
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    meta = json.loads((args.fold / "meta.json").read_text("utf-8"))
    encoder = meta["config"]["model"]["encoder"]
    corpus = load_corpus(with_overrides(load_config(args.config), args.overrides))
    held_out = [a for a in corpus.train if a.id in set(meta["held_out_ids"])]
    work = args.fold.parent / f"{args.fold.name}-delta"
    base = read_safetensors(encoder_folder(encoder) / "model.safetensors")
    print("| reading | delta size | largest change left out | span F1 | technique F1 | full task F1 |")
    print("|---|---|---|---|---|---|")
    for rank in args.ranks:
        folder, size, lost = args.fold, "-", "-"
        if rank:
            folder = work / f"rank-{rank}" / args.fold.name
            shutil.copytree(args.fold, folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns("encoder.onnx"))
            graph = onnx.load(str(args.fold / "encoder.onnx"))
            record, worst = fine_tuned_delta(graph, encoder, rank, "int8")
            size, lost = f"{graph.ByteSize() / 1e6:.1f} MB", f"{worst:.2f}"
            fill_in(graph, record, base, str(args.fold))
            onnx.save(graph, str(folder / "encoder.onnx"))
        quantize_model(folder, work / "int8" / f"rank-{rank}")
        model = OnnxModel(work / "int8" / f"rank-{rank}")
        model.verifier = None
        encoded = encode_all([(model, held_out)])
        figures = held_out_figures(encoded, choose_decoding(encoded, corpus.labels), corpus.labels)
        f1 = [f"{figures[task]['f1']:.4f}" for task in ("si", "tc", "flc")]
        print(f"| {'as exported' if not rank else f'rank {rank}'} | {size} | {lost} | {' | '.join(f1)} |", flush=True)


if __name__ == "__main__":
    main()
