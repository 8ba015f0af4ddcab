"""What a task head is, declared once per architecture for every framework.

Each backend writes the generic heads once (`autoload/backends/<framework>/heads.py`); an architecture's
core module (`autoload/models/<model_type>.py`) declares, in `HEADS`, how each of its head classes pools
the encoder's output, where the head's weights live and which config fields set its dropout. The three
frameworks read the same declaration, so a head cannot mean one thing in PyTorch and another in Flax.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from numbers import Integral
from typing import Any

# How a sequence-level head turns the encoder's output into one vector per example.
POOLINGS = (
    "pooler",  # the base model's pooler_output
    "first",  # the first position's hidden state (CLS)
    "last",  # the last non-padding token (decoders; needs config.pad_token_id for batches)
    "mean",  # the mean over positions
    "eos",  # the last end-of-sequence token of each row (encoder-decoders; every row holds as many)
    "patch_mean",  # the mean over positions after the first (image tokens behind a class token)
    "first_and_patch_mean",  # the first position and the patch mean, concatenated (DINOv2)
    "masked_mean",  # the mean over the positions a mask keeps (speech heads: the frames real audio covers)
    "none",  # token-level heads: every position
)


@dataclass(frozen=True)
class HeadSpec:
    """One head class of one architecture.

    pooling: one of POOLINGS.
    attr: the attribute (checkpoint name) of the output layer: classifier, score, qa_outputs, ….
    bias: whether that layer has a bias.
    dropout: config fields tried in order; the first that is set gives the dropout before the output layer.
        `dropout_default` applies when none is set; `dropout=()` means no dropout at all.
    projection: None for one linear layer; an activation name for a two-layer head (`<attr>.dense` ->
        activation -> dropout -> `<attr>.out_proj`, as RoBERTa's), whose input is also dropped out.
    base_kwargs: keyword arguments for the base model (e.g. add_pooling_layer=False).
    prefix: the base-model attribute when this head's checkpoints use another than the architecture's.
    out_features: the output layer's width when it is fixed (a decoder's QA head has 2); None means the
        head's own rule (num_labels; 1 for multiple choice).
    width: the pooled features' width as a function of the config (the output layer's input size); None
        means config.hidden_size, doubled for "first_and_patch_mean".
    """

    pooling: str = "pooler"
    attr: str = "classifier"
    bias: bool = True
    dropout: tuple[str, ...] = ("classifier_dropout", "hidden_dropout_prob")
    dropout_default: float = 0.0
    projection: str | None = None
    base_kwargs: dict = field(default_factory=dict)
    prefix: str | None = None
    out_features: int | None = None
    width: Callable[[Any], int] | None = None

    def __post_init__(self):
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")

    def span_width(self, config) -> int:
        """The output width of a question-answering head: start and end logits, so exactly two."""
        width = self.out_features or config.num_labels
        if width != 2:
            raise ValueError(
                f"A question-answering head scores a start and an end per position, so it needs num_labels=2; "
                f"the config has num_labels={config.num_labels}."
            )
        return width

    def pooled_width(self, config) -> int:
        if self.width is not None:
            return int(self.width(config))
        return config.hidden_size * (2 if self.pooling == "first_and_patch_mean" else 1)

    def dropout_rate(self, config) -> float:
        for name in self.dropout:
            value = getattr(config, name, None)
            if value is not None:
                return float(value)
        return self.dropout_default if self.dropout else 0.0


def head_spec(model_class: type) -> HeadSpec:
    """The declaration for a backend's head class, found by its PyTorch name in its architecture's HEADS."""
    from .registry import arch_spec

    config_class = model_class.config_class
    name = model_class.__name__.removeprefix("TF").removeprefix("Flax")
    module = arch_spec(config_class.model_type)
    heads = getattr(module, "HEADS", {}) if module is not None else {}
    if name not in heads:
        raise NotImplementedError(
            f"{model_class.__name__}: no HeadSpec named {name!r} in autoload/models/"
            f"{config_class.model_type.replace('-', '_')}.py HEADS; declare how this head pools and where its "
            "weights live there."
        )
    return heads[name]


def last_token_pad_id(has_input_ids: bool, pad_token_id, batch: int):
    """The pad id that marks each row's end for "last" pooling, or None when every row ends at its last
    position (no pad token configured and a batch of one). Raises when the end cannot be found."""
    if pad_token_id is None:
        if batch > 1:
            raise ValueError("Sequence classification of a batch needs config.pad_token_id to find each row's end.")
        return None
    if not has_input_ids:
        raise ValueError("With inputs_embeds the last token cannot be found; pass input_ids.")
    return pad_token_id


def check_eos_counts(counts) -> None:
    """"eos" pooling: every row must hold the same number (at least one) of end-of-sequence tokens."""
    counts = [int(c) for c in counts]
    if not counts or min(counts) == 0 or len(set(counts)) > 1:
        raise ValueError(
            f"All examples must have the same number of end-of-sequence tokens (<eos>, config.eos_token_id), at "
            f"least one; the rows hold {counts}."
        )


def positions_to_keep(logits_to_keep, labels=None):
    """What a causal LM scores (transformers' `logits_to_keep`): None for every position (0), an int N for the last
    N, or the 1-D index array given. Generation scores only the last one; labels need every position."""
    keep_all = isinstance(logits_to_keep, Integral) and logits_to_keep == 0
    if labels is not None and not keep_all:
        raise ValueError("labels need logits at every position: leave logits_to_keep at 0 when passing labels.")
    if keep_all:
        return None
    return int(logits_to_keep) if isinstance(logits_to_keep, Integral) else logits_to_keep
