"""What the post-norm (BERT-family) encoder blocks read from a config, derived once for every framework.

Each encoder config class (BERT, RoBERTa, DistilBERT, ELECTRA, ALBERT, MPNet, …) turns its own fields into
an `EncoderOptions` in `encoder_options()`; the blocks in `autoload/backends/<framework>/blocks/encoder.py`
read only that, so a field cannot mean one thing in PyTorch and another in Flax. Values the blocks cannot
honour are refused here, when a model is built, with the field and the supported values named.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

POSITION_EMBEDDING_TYPES = ("absolute", "relative_key", "relative_key_query")

# The activations of transformers' ACT2FN that have no weights of their own; every backend implements these.
ACTIVATIONS = ("gelu", "gelu_10", "gelu_fast", "gelu_new", "gelu_python", "gelu_pytorch_tanh", "gelu_python_tanh",
               "gelu_accurate", "laplace", "leaky_relu", "linear", "mish", "quick_gelu", "relu", "relu2", "relu6",
               "sigmoid", "silu", "swish", "tanh")  # fmt: skip
# ACT2FN entries that are modules with learned weights (stored in checkpoints under the activation's name).
_WEIGHTED_ACTIVATIONS = ("prelu", "xielu")


def check_activation(name, field: str, owner: str) -> str:
    """`name` if every backend implements it; a clear error otherwise."""
    if not isinstance(name, str):
        raise ValueError(f"{owner}.{field} must be the name of an activation (one of {', '.join(ACTIVATIONS)}), "
                         f"got {name!r}.")  # fmt: skip
    if name in _WEIGHTED_ACTIVATIONS:
        raise NotImplementedError(
            f"{owner}.{field}={name!r}: this activation has learned weights of its own, which autoload does not "
            f"implement. Supported: {', '.join(ACTIVATIONS)}."
        )
    if name not in ACTIVATIONS:
        raise ValueError(f"{owner}.{field}={name!r} is not a known activation; supported: {', '.join(ACTIVATIONS)}.")
    return name


@dataclass(frozen=True)
class EncoderOptions:
    """The sizes and switches of one post-norm encoder.

    embedding_size: width of the embedding tables when it differs from hidden_size (ELECTRA, ALBERT).
    pad_token_id: the word embeddings' padding row (None: none).
    position_padding_idx: None for positions 0, 1, 2, …; an index for positions counted from
        position_padding_idx + 1 over the real tokens, padding keeping position_padding_idx (RoBERTa, MPNet).
    type_vocab_size: rows of the token-type table (0: the model has none).
    position_embedding_type: "absolute" adds the position table to the embeddings; "relative_key" and
        "relative_key_query" add learned distance scores in self-attention instead.
    sinusoidal_positions: the position table starts as the fixed sine/cosine table (DistilBERT) rather than
        random values; it is still a weight, read from checkpoints like any other.
    causal: self-attention sees no later positions (config.is_decoder).
    cross_attention: every layer also attends to encoder_hidden_states (config.add_cross_attention).
    use_cache: the default of a causal model's use_cache argument. transformers' PyTorch decoders, whenever a
        cache is in use, compute relative position scores as if every query stood at the last position (even
        over a whole sequence); the blocks do the same so that every framework gives its outputs.

    config.chunk_size_feed_forward needs no option: transformers runs the position-wise feed-forward in chunks
    of that many positions, which gives the same result as one pass (what the blocks do). (Its PyTorch classes
    also refuse a length that is not a multiple of the chunk size; TF and Flax ignored the field.)
    """

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    hidden_act: str
    layer_norm_eps: float
    hidden_dropout: float
    attention_dropout: float
    max_position_embeddings: int
    initializer_range: float = 0.02
    embedding_size: int | None = None
    pad_token_id: int | None = None
    position_padding_idx: int | None = None
    type_vocab_size: int = 0
    position_embedding_type: str = "absolute"
    sinusoidal_positions: bool = False
    causal: bool = False
    cross_attention: bool = False
    use_cache: bool = False
    owner: str = "config"

    def __post_init__(self):
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(f"{self.owner}: hidden_size ({self.hidden_size}) is not a multiple of num_attention_heads "
                             f"({self.num_attention_heads}).")  # fmt: skip
        if self.position_embedding_type not in POSITION_EMBEDDING_TYPES:
            raise ValueError(f"{self.owner}.position_embedding_type={self.position_embedding_type!r} is not supported; "
                             f"use one of {', '.join(POSITION_EMBEDDING_TYPES)}.")  # fmt: skip
        if self.cross_attention and not self.causal:
            raise ValueError(f"{self.owner}: add_cross_attention=True needs is_decoder=True (cross-attention layers "
                             "belong to a decoder), as in transformers.")  # fmt: skip
        check_activation(self.hidden_act, "hidden_act", self.owner)
        if self.position_padding_idx is not None and self.max_length < 1:
            raise ValueError(f"{self.owner}: max_position_embeddings ({self.max_position_embeddings}) leaves no "
                             f"position after the padding index {self.position_padding_idx}.")  # fmt: skip

    @property
    def embedding_width(self) -> int:
        return self.embedding_size or self.hidden_size

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @property
    def relative(self) -> bool:
        return self.position_embedding_type != "absolute"

    @property
    def max_length(self) -> int:
        """The longest input the position tables can index: the table's rows, less those before the first
        real position when positions start after the padding index (512 of RoBERTa's 514)."""
        if self.position_padding_idx is None or self.relative:
            return self.max_position_embeddings
        return self.max_position_embeddings - self.position_padding_idx - 1

    def check_length(self, length) -> None:
        """Refuse an input longer than the position tables (a static length; None passes)."""
        if length is not None and int(length) > self.max_length:
            raise ValueError(
                f"Sequence length {int(length)} is longer than the {self.max_length} positions this model has "
                f"({self.owner}.max_position_embeddings={self.max_position_embeddings}"
                + (f", positions starting after padding index {self.position_padding_idx}"
                   if self.position_padding_idx is not None and not self.relative else "")
                + "); truncate the inputs."
            )  # fmt: skip


@functools.lru_cache(maxsize=8)
def sinusoidal_table(rows: int, dim: int) -> np.ndarray:
    """The fixed position table DistilBERT starts from: sin on even columns, cos on odd ones, of
    position / 10000^(2*(j//2)/dim), computed in float64 and stored as float32 (read-only, cached)."""
    angles = np.arange(rows, dtype=np.float64)[:, None] / np.power(10000, 2 * (np.arange(dim) // 2) / dim)[None, :]
    table = np.empty((rows, dim), dtype=np.float32)
    table[:, 0::2] = np.sin(angles[:, 0::2])
    table[:, 1::2] = np.cos(angles[:, 1::2])
    table.setflags(write=False)
    return table
