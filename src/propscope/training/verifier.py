"""Training the technique verifier: (span, line) sentence pairs, one probability per technique.

Candidates are the gold spans themselves (their exact techniques), optionally the same spans with edges
moved by a few words, and random stretches of random lines, so that the verifier learns to say "none" as
well as "which". One softmax covers the techniques and "none": a candidate's target for a technique is the
share of it that lies inside gold spans of that technique (the credit the official full-task metric would
give it), "none" takes the rest, and a gold span of several techniques shares its mass among them. A
sigmoid per technique, tried first, named gold spans worse (technique F1 0.5594 against 0.5877 on the
validation split, bench/RESULTS.md): the softmax makes the techniques compete, as the metric does.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import shutil
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from propscope.corpus.labels import Label, group_by_article, read_labels
from propscope.document import Article
from propscope.errors import InputError
from propscope.model.assembly import TOKENIZER_FILE, VERIFIER_DELTA_FILE
from propscope.model.encoders import encoder_folder
from propscope.model.features import FEATURE_NAMES, ArticleSignals, line_bounds
from propscope.model.verifier import VERIFIER_FILE, load_pair_tokenizer, pad_encodings, pair_text
from propscope.techniques import TECHNIQUE_NAMES
from propscope.training.config import Config
from propscope.training.export import ONNX_OPSET, average_graphs

_WORD = re.compile(r"\S+")
MAX_SHIFT_WORDS = 3
LIKE_LENGTH_POOL = 50  # batches' worth of candidates sorted by length together


@dataclass(frozen=True)
class Candidate:
    text: str
    start: int
    end: int
    targets: np.ndarray  # [techniques + 1]: a distribution over the techniques and, last, "none"


def overlap_targets(start: int, end: int, gold: list[Label], index: dict[str, int]) -> np.ndarray:
    """Per technique, the largest share of ``[start, end)`` covered by one gold span of that technique (scaled
    to sum to at most 1), and last the rest, for "none"."""
    targets = np.zeros(len(index) + 1, dtype=np.float32)
    for g in gold:
        shared = min(end, g.end) - max(start, g.start)
        if shared > 0:
            k = index[g.technique]
            targets[k] = max(targets[k], shared / (end - start))
    return _with_none(targets)


def _with_none(targets: np.ndarray) -> np.ndarray:
    total = targets[:-1].sum()
    if total > 1:
        targets[:-1] /= total
    targets[-1] = 1.0 - targets[:-1].sum()
    return targets


def _words(text: str, first: int, last: int) -> list[tuple[int, int]]:
    return [(first + m.start(), first + m.end()) for m in _WORD.finditer(text[first:last])]


def candidates(
    article: Article, gold: list[Label], config: Config, rng: random.Random, tagged: Sequence[Label] = ()
) -> list[Candidate]:
    """Training candidates of one article: its gold spans, the copies and random stretches the configuration asks
    for, and the spans a tagger found in it (``tagged``), each with targets from its overlap with gold spans."""
    index = {name: k for k, name in enumerate(TECHNIQUE_NAMES)}
    text = article.text
    exact: dict[tuple[int, int], np.ndarray] = defaultdict(lambda: np.zeros(len(index) + 1, dtype=np.float32))
    for g in gold:
        exact[(g.start, g.end)][index[g.technique]] = 1.0
    found = [Candidate(text, s, e, _with_none(t)) for (s, e), t in sorted(exact.items())]
    lengths = [len(_words(text, s, e)) or 1 for s, e in exact] or [3]
    lines = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text) if _words(text, m.start(), m.end())]
    for start, end in sorted(exact):
        first, last = line_bounds(text, start, end)
        words = _words(text, first, last)
        inside = [k for k, (s, e) in enumerate(words) if s < end and start < e]
        for _ in range(config.verifier.jittered if inside else 0):
            a = min(max(0, inside[0] + rng.randint(-MAX_SHIFT_WORDS, MAX_SHIFT_WORDS)), len(words) - 1)
            b = min(max(a, inside[-1] + rng.randint(-MAX_SHIFT_WORDS, MAX_SHIFT_WORDS)), len(words) - 1)
            found.append(_candidate(text, words[a][0], words[b][1], gold, index))
        for _ in range(config.verifier.random if lines else 0):
            words = _words(text, *rng.choice(lines))
            size = min(rng.choice(lengths), len(words))
            a = rng.randint(0, len(words) - size)
            found.append(_candidate(text, words[a][0], words[a + size - 1][1], gold, index))
    for span in tagged:
        if span.end > len(text):
            raise InputError(f"tagger span {span.start}..{span.end} lies outside article {article.id} ({len(text)})")
        found.append(_candidate(text, span.start, span.end, gold, index))
    return found


def tagger_spans(config: Config, articles: list[Article]) -> dict[str, list[Label]]:
    """The ``[verifier] tagger_spans`` file's spans of these articles, by article."""
    if not config.verifier.tagger_spans:
        return {}
    ids = {a.id for a in articles}
    spans = group_by_article(read_labels(Path(config.verifier.tagger_spans)))
    return {article_id: sorted(found) for article_id, found in spans.items() if article_id in ids}


def _candidate(text: str, start: int, end: int, gold: list[Label], index: dict[str, int]) -> Candidate:
    return Candidate(text, start, end, overlap_targets(start, end, gold, index))


def like_length_batches(lengths: Sequence[int], size: int, rng: random.Random) -> list[list[int]]:
    """Indices in batches of ``size``, in random order, each cut from a shuffled pool of ``LIKE_LENGTH_POOL`` batches
    sorted by length. A batch pads to its longest pair, and in batches drawn at random 37% of the positions were
    padding (bench/RESULTS.md); the pools keep which candidates meet in a batch random otherwise. As many batches
    as ``ceil(len(lengths) / size)``: every pool but the last holds whole batches."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    batches = []
    for first in range(0, len(order), size * LIKE_LENGTH_POOL):
        pool = sorted(order[first : first + size * LIKE_LENGTH_POOL], key=lambda k: lengths[k])
        batches += [pool[i : i + size] for i in range(0, len(pool), size)]
    rng.shuffle(batches)
    return batches


def train_verifier(
    config: Config,
    articles: list[Article],
    labels: dict[str, list[Label]],
    progress: Callable[[str], None],
):
    """Fine-tune and return the torch ``PairClassifier`` (in eval mode)."""
    import torch
    from transformers import AutoModel

    from propscope.training.loop import (
        adamw,
        cpu_attention,
        linear_warmup,
        seed_everything,
        step_report,
        take_step,
        training_device,
    )
    from propscope.training.network import PairClassifier, add_adapters, draw_dropout_masks

    v, t = config.verifier, config.training
    device = training_device(config)
    seed_everything(t.seed)
    rng = random.Random(t.seed)
    tagged = tagger_spans(config, articles)
    examples = [c for a in articles for c in candidates(a, labels.get(a.id, []), config, rng, tagged.get(a.id, []))]
    signals = {a.text: ArticleSignals(a.text) for a in articles}
    encoder_dir = encoder_folder(v.encoder)
    tokenizer = load_pair_tokenizer(encoder_dir / "tokenizer.json", v.max_tokens)
    pairs = [pair_text(c.text, c.start, c.end) for c in examples]
    encodings = tokenizer.encode_batch(pairs)  # once: a batch pads its pairs' encodings
    lengths = [len(e.ids) for e in encodings]
    encoder = AutoModel.from_pretrained(str(encoder_dir))
    if v.adapter_rank:
        add_adapters(encoder, v.adapter_rank)
    model = PairClassifier(encoder, len(FEATURE_NAMES), len(TECHNIQUE_NAMES) + 1)
    draw_dropout_masks(model, t.dropout_masks, t.seed)
    model.to(device)
    learned = [p for p in model.parameters() if p.requires_grad]
    optimizer = adamw([{"params": learned, "lr": v.learning_rate}], t.weight_decay, device)
    total = math.ceil(len(examples) / v.batch_size) * v.epochs
    scheduler = linear_warmup(optimizer, total, t.warmup_ratio)
    progress(
        f"verifier ({v.encoder}): {len(articles)} articles, {len(examples)} candidates, {total} steps on {device}, "
        f"{sum(p.numel() for p in learned):,} weights learn"
    )
    started, step = time.monotonic(), 0
    with cpu_attention(model.encoder, device):
        for epoch in range(1, v.epochs + 1):
            model.train()
            for rows in like_length_batches(lengths, v.batch_size, rng):
                batch = [examples[k] for k in rows]
                ids, mask, types = pad_encodings([encodings[k] for k in rows])
                features = np.stack([signals[c.text].features(c.start, c.end) for c in batch])
                targets = torch.from_numpy(np.stack([c.targets for c in batch])).to(device)
                inputs = [torch.from_numpy(x).to(device) for x in (ids, mask, types, features)]
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=t.compute_dtype == "bf16"):
                    logits = model.logits(*inputs)
                loss = -(targets * torch.log_softmax(logits.float(), dim=1)).sum(dim=1).mean()
                take_step(model, optimizer, scheduler, loss)
                step += 1
                if step % 50 == 0 or step == total:
                    progress(step_report(f"verifier epoch {epoch}/{v.epochs}", step, total, loss.item(), started))
    model.eval()
    return model.cpu()


def verifier_for(
    config: Config, articles: list[Article], labels: dict[str, list[Label]], directory: Path, progress
) -> Path:
    """A folder holding the verifier trained on ``articles``: ``[verifier] networks`` of them, with seeds from the
    training seed up, each trained (or reused) in ``directory/seed-N``; several are averaged into one graph in
    ``directory``. Verifiers of other seeds named the techniques of unseen articles differently by about one fold
    spread, and two averaged named them better than either (bench/RESULTS.md)."""
    seeds = [config.training.seed + k for k in range(config.verifier.networks)]
    seeded = [replace(config, training=replace(config.training, seed=seed)) for seed in seeds]
    trained = [_network_for(c, articles, labels, directory, progress) for c in seeded]
    (directory / "identity.json").unlink(missing_ok=True)  # the stamp of a verifier kept here before seed-N folders
    if len(trained) == 1:
        for name in (VERIFIER_FILE, TOKENIZER_FILE):  # an earlier average must not sit beside the network in use
            (directory / name).unlink(missing_ok=True)
        return trained[0]
    average_graphs([folder / VERIFIER_FILE for folder in trained], directory / VERIFIER_FILE)
    shutil.copyfile(trained[0] / TOKENIZER_FILE, directory / TOKENIZER_FILE)
    return directory


def _network_for(
    config: Config, articles: list[Article], labels: dict[str, list[Label]], parent: Path, progress
) -> Path:
    """``parent/seed-N`` holding one verifier network of the configuration's seed: reused where one of the same
    settings and articles is there (a stamp, written last, says which), else trained and exported."""
    directory = parent / f"seed-{config.training.seed}"
    identity = network_identity(config, articles, labels)
    stamp = directory / "identity.json"
    if stamp.exists() and json.loads(stamp.read_text("utf-8")) == identity:
        progress(f"reusing the verifier in {directory}")
        return directory
    stamp.unlink(missing_ok=True)  # the folder is unfinished until a new stamp is written, last
    for name in (
        VERIFIER_FILE,
        VERIFIER_DELTA_FILE,
        TOKENIZER_FILE,
    ):  # a plain network must not outlive a delta, nor a delta it
        (directory / name).unlink(missing_ok=True)
    network = train_verifier(config, articles, labels, progress)
    if config.verifier.adapter_rank:  # a delta over the installed encoder, which brings its tokenizer
        from propscope.training.delta import export_verifier_delta

        export_verifier_delta(network, directory, config)
    else:
        export_verifier(network, directory, config.export.verifier_precision)
        shutil.copyfile(encoder_folder(config.verifier.encoder) / TOKENIZER_FILE, directory / TOKENIZER_FILE)
    stamp.write_text(json.dumps(identity) + "\n", encoding="utf-8")
    return directory


def network_identity(config: Config, articles: list[Article], labels: dict[str, list[Label]]) -> dict[str, Any]:
    """Everything one verifier network's training reads: its settings, seed, precision, articles and labels."""
    t = config.training
    settings = asdict(config.verifier)
    del settings["networks"]  # how many are averaged does not change how one trains
    del settings["tagger_spans"]  # its name; what it holds for these articles is stamped below
    del settings["tagger_weight"]  # how a model reads the verifier beside its tagger
    identity = {"verifier": settings, "seed": t.seed, "precision": config.export.verifier_precision}
    identity["training"] = [t.weight_decay, t.warmup_ratio, t.compute_dtype, t.device]  # what train_verifier reads
    if t.dropout_masks != "torch":  # named only where set, so networks stamped before the setting still match
        identity["training"].append(t.dropout_masks)
    identity["articles"] = sorted(a.id for a in articles)
    gold = sorted((a.id, g.start, g.end, g.technique) for a in articles for g in labels.get(a.id, []))
    identity["labels"] = hashlib.sha256(json.dumps(gold).encode()).hexdigest()
    if config.verifier.tagger_spans:
        found = sorted(
            (s.article_id, s.start, s.end) for spans in tagger_spans(config, articles).values() for s in spans
        )
        identity["verifier"]["tagger_spans"] = hashlib.sha256(json.dumps(found).encode()).hexdigest()
    return identity


def export_verifier(model, output: Path, precision: str) -> None:
    """``verifier.onnx`` in the given precision: pairs and surface features in, probabilities out."""
    import torch

    from propscope.model.assembly import quantize_file
    from propscope.training.export import store_file_weights_as_fp16

    output.mkdir(parents=True, exist_ok=True)
    ones = torch.ones((2, 8), dtype=torch.long)
    inputs = {
        "input_ids": ones,
        "attention_mask": ones,
        "token_type_ids": torch.zeros_like(ones),
        "features": torch.zeros((2, len(FEATURE_NAMES))),
    }
    fp32 = output / f"{VERIFIER_FILE}.fp32"
    with torch.no_grad():
        torch.onnx.export(
            model,
            tuple(inputs.values()),
            str(fp32),
            input_names=list(inputs),
            output_names=["probabilities"],
            dynamic_axes={
                "input_ids": {0: "pairs", 1: "positions"},
                "attention_mask": {0: "pairs", 1: "positions"},
                "token_type_ids": {0: "pairs", 1: "positions"},
                "features": {0: "pairs"},
                "probabilities": {0: "pairs"},
            },
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
    target = output / VERIFIER_FILE
    if precision == "int8":
        quantize_file(fp32, target)
    elif precision == "fp16-weights":
        store_file_weights_as_fp16(fp32, target)
    else:
        shutil.move(fp32, target)
    fp32.unlink(missing_ok=True)
