"""Seconds a training step of the tagger or of one verifier network, and the whole run they project.

    python bench/training_speed.py tagger [--config configs/default.toml] [--set training.epochs=12] [--steps 100]

Trains on the configuration's pool exactly as `propscope train` would and stops after ``--steps`` steps: a
change to the training loop is timed in a minute or two, not a run's hour. Run it before and after the change
(one after the other, nothing else running), and compare the losses printed at the same steps: a change meant
to be faster only should leave them alike.
"""

from __future__ import annotations

import argparse
import logging
import re
import time
from pathlib import Path

from propscope.errors import InputError
from propscope.training.config import load_config, with_overrides
from propscope.training.loop import load_corpus, train_network
from propscope.training.verifier import train_verifier


class Enough(Exception):
    """Raised from the progress callback once the steps to time are done."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("trainer", choices=("tagger", "verifier"))
    parser.add_argument("--config", type=Path, default=Path("configs/default.toml"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="e.g. training.epochs=12")
    parser.add_argument("--steps", type=int, default=100, help="a multiple of 20 (tagger) or 50 (verifier)")
    args = parser.parse_args()
    interval = {"tagger": 20, "verifier": 50}[args.trainer]  # how often each trainer reports a step
    if args.steps <= 0 or args.steps % interval:
        parser.error(f"--steps must be a positive multiple of {interval} for the {args.trainer}")
    logging.basicConfig(level=logging.WARNING)
    try:
        config = with_overrides(load_config(args.config), args.overrides)
        corpus = load_corpus(config)
    except InputError as error:
        raise SystemExit(f"error: {error}") from None
    clock = {"start": time.monotonic()}

    def progress(line: str) -> None:
        print(line, flush=True)
        if "steps on" in line:  # each trainer's first line, once the articles are tokenised and the encoder loaded
            clock["start"] = time.monotonic()
        if f" step {args.steps}/" in line:
            raise Enough(line)

    try:
        if args.trainer == "tagger":
            train_network(config, corpus, progress)
        else:
            train_verifier(config, corpus.train, corpus.labels, progress)
    except Enough as done:
        each = (time.monotonic() - clock["start"]) / args.steps
        total = int(re.search(r" step \d+/(\d+)", str(done)).group(1))
        print(
            f"{args.trainer}: {each:.3f} s a step over {args.steps}; "
            f"its {total} steps project {each * total / 60:.1f} min"
        )
        return
    print(f"{args.trainer}: the run ended before step {args.steps}")


if __name__ == "__main__":
    main()
