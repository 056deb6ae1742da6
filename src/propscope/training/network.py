"""The torch networks: the joint span tagger and technique classifier, and the technique verifier.

Training only; ``export.py`` turns it into the ONNX encoder and numpy classifier that run at analysis.
"""

from __future__ import annotations

import inspect

import numpy as np
import torch
from torch import nn

from propscope.model.windows import BIO_TAGS


def accepts_token_types(encoder: nn.Module) -> bool:
    """BERT-like encoders (MiniLM) take segment ids; MPNet has none."""
    return "token_type_ids" in inspect.signature(encoder.forward).parameters


class JointModel(nn.Module):
    def __init__(
        self,
        encoder: nn.Module,
        n_techniques: int,
        n_features: int,
        span_hidden: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.typed = accepts_token_types(encoder)
        width = encoder.config.hidden_size
        self.dropout = nn.Dropout(dropout)
        self.tagger = nn.Linear(width, len(BIO_TAGS))
        self.classifier = nn.Sequential(
            nn.Linear(2 * width + n_features, span_hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(span_hidden, n_techniques),
        )

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        types = {"token_type_ids": torch.zeros_like(input_ids)} if self.typed else {}
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask, **types).last_hidden_state

    def tag_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.tagger(self.dropout(hidden))

    def classify(
        self,
        hidden: torch.Tensor,
        attention_mask: torch.Tensor,
        span_rows: torch.Tensor,
        span_tokens: torch.Tensor,
        features: torch.Tensor,
    ) -> torch.Tensor:
        """Technique logits for spans given as window row and token ``[first, last)`` (no [CLS])."""
        positions = torch.arange(hidden.shape[1], device=hidden.device)
        rows = hidden[span_rows]

        def mean_over(first: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
            mask = ((positions >= first) & (positions < last)).float()
            return (rows * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)

        lengths = attention_mask[span_rows].sum(dim=1, keepdim=True)
        pooled = [mean_over(span_tokens[:, :1] + 1, span_tokens[:, 1:] + 1), mean_over(1, lengths - 1)]
        inputs = torch.cat([*pooled, features], dim=1)
        return self.classifier(self.dropout(inputs))


class ExportedEncoder(nn.Module):
    """What goes into ONNX: windows in, BIO probabilities and hidden states out."""

    def __init__(self, model: JointModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        hidden = self.model.encode(input_ids, attention_mask)
        return torch.softmax(self.model.tagger(hidden), dim=-1), hidden


class PairClassifier(nn.Module):
    """The verifier: a (span, line) sentence pair's first state and the span's surface features, a logit per
    technique and, last, one for "no technique"."""

    def __init__(self, encoder: nn.Module, n_features: int, n_techniques: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size + n_features, n_techniques)
        self.typed = accepts_token_types(encoder)

    def logits(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor,
        features: torch.Tensor,
    ) -> torch.Tensor:
        # MPNet has no token types: its pairs are told apart by separators alone
        types = {"token_type_ids": token_type_ids} if self.typed else {}
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **types).last_hidden_state
        return self.head(self.dropout(torch.cat([hidden[:, 0], features.to(hidden.dtype)], dim=1)))

    def forward(self, input_ids, attention_mask, token_type_ids, features) -> torch.Tensor:
        """What goes into ONNX: the techniques' probabilities (what "no technique" leaves of 1 is dropped)."""
        return torch.softmax(self.logits(input_ids, attention_mask, token_type_ids, features), dim=1)[:, :-1]


class ByteDropout(nn.Module):
    """Dropout whose masks are drawn from numpy's random bytes, which on a CPU took a third of the time torch's
    dropout did (bench/RESULTS.md). Each element is dropped with probability ``p`` to within 1/65,536 and the rest
    scaled by ``1 / (1 - p)``, as torch's; only the random stream differs. Not on a CPU it is torch's dropout."""

    def __init__(self, p: float, rng: np.random.Generator) -> None:
        super().__init__()
        self.p = p  # read by attention layers that drop out through the functional form
        self.rng = rng
        self.below = round(p * 65536) - 32768  # a uniform int16 below this is dropped
        self.scale = 1 / (1 - p) if p < 1 else 0.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        if x.device.type != "cpu":
            return nn.functional.dropout(x, self.p, training=True)
        drawn = torch.frombuffer(bytearray(self.rng.bytes(2 * x.numel())), dtype=torch.int16).view(x.shape)
        return x * (drawn >= self.below).to(x.dtype) * self.scale


def draw_dropout_masks(model: nn.Module, masks: str, seed: int) -> None:
    """Where ``masks`` (``training.dropout_masks``) is "bytes", make every dropout layer of ``model`` a ``ByteDropout``,
    all drawing from one stream seeded with ``seed``; "torch" leaves them as they are."""
    if masks == "torch":
        return
    rng = np.random.default_rng(seed)
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if type(child) is nn.Dropout:
                setattr(module, name, ByteDropout(child.p, rng))


class LowRankAdapted(nn.Module):
    """A frozen linear layer plus a learned low-rank update (LoRA): ``W x + s·B A x``. Only ``A`` and ``B`` (and
    the bias) differ from the installed encoder, so that is all a shipped delta needs to hold."""

    def __init__(self, base: nn.Linear, rank: int) -> None:
        super().__init__()
        self.base = base
        self.down = nn.Linear(base.in_features, rank, bias=False)
        self.up = nn.Linear(rank, base.out_features, bias=False)
        nn.init.kaiming_uniform_(self.down.weight, a=5**0.5)
        nn.init.zeros_(self.up.weight)  # starts as the encoder itself
        self.scale = ADAPTER_SCALE

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.up(self.down(x)) * self.scale

    def merged_weight(self) -> torch.Tensor:
        return self.base.weight + self.scale * self.up.weight @ self.down.weight


ADAPTER_SCALE = 2.0  # the update's factor, alpha / rank in the LoRA paper (its usual alpha: twice the rank)


def add_adapters(encoder: nn.Module, rank: int) -> None:
    """Freeze ``encoder`` but its biases and layer norms, and give every linear layer of its transformer blocks
    a low-rank adapter (the embeddings and pooler stay as installed)."""
    for name, parameter in encoder.named_parameters():
        parameter.requires_grad = name.endswith(".bias") or "LayerNorm" in name or "layer_norm" in name
    for module in list(encoder.encoder.modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, nn.Linear):
                setattr(module, child_name, LowRankAdapted(child, rank))
