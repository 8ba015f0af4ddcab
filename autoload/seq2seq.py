"""What tells the BART-family encoder-decoders apart (BART, mBART, Marian, Pegasus, Whisper's decoder),
decided once from the config class for every framework.

Each of these configs carries a `layout` (a Seq2SeqLayout) and inherits Seq2SeqConfig's derived values
(embedding scale, the sizes of each stack); the block library of every backend
(`autoload/backends/<framework>/blocks/seq2seq.py`) reads only these, never the model type.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .configuration import PretrainedConfig

POSITIONS = ("learned", "sinusoidal")


@dataclass(frozen=True)
class Seq2SeqLayout:
    """pre_norm: LayerNorm before each sub-layer (mBART, Pegasus, Whisper), else after it (BART, Marian).
    positions: "learned" (an `embed_positions` table in the checkpoint) or "sinusoidal" (computed from the
        config; a checkpoint's copy of the table is not read).
    position_offset: rows of the learned table before position 0 (BART and mBART keep 2).
    embedding_norm: `layernorm_embedding` after adding the positions (BART, mBART).
    final_norm: `layer_norm` after each stack's last layer (mBART, Pegasus, Whisper).
    key_bias: k_proj has a bias (Whisper's has none).
    scales_embeddings: config.scale_embedding multiplies the token embeddings (Whisper reads the field and
        never applies it).
    scales_given_embeddings: the decoder scales `decoder_inputs_embeds` a caller passes too (Marian, Pegasus);
        elsewhere only embeddings looked up from ids are scaled.
    """

    pre_norm: bool
    positions: str
    position_offset: int = 0
    embedding_norm: bool = False
    final_norm: bool = False
    key_bias: bool = True
    scales_embeddings: bool = True
    scales_given_embeddings: bool = False

    def __post_init__(self):
        if self.positions not in POSITIONS:
            raise ValueError(f"positions must be one of {POSITIONS}, got {self.positions!r}")


# The activation names every backend implements (autoload/backends/*/activations.py); transformers accepts
# more, and a config naming one of those is refused when it is built rather than failing inside a model.
ACTIVATIONS = ("gelu", "gelu_new", "gelu_fast", "gelu_pytorch_tanh", "quick_gelu", "relu", "silu", "swish", "tanh",
               "sigmoid")  # fmt: skip


# The fields every BART-family config stores as given (each class keeps its own argument defaults).
BART_FIELDS = ("vocab_size", "max_position_embeddings", "d_model", "encoder_ffn_dim", "encoder_layers",
               "encoder_attention_heads", "decoder_ffn_dim", "decoder_layers", "decoder_attention_heads", "dropout",
               "attention_dropout", "activation_dropout", "activation_function", "init_std", "encoder_layerdrop",
               "decoder_layerdrop", "use_cache", "scale_embedding")  # fmt: skip


class Seq2SeqConfig(PretrainedConfig):
    """Derived values shared by the BART-family config classes (each sets `layout`)."""

    layout: Seq2SeqLayout

    def set_bart_fields(self, arguments: dict) -> None:
        """Store BART_FIELDS from a subclass's __init__ arguments (its `locals()`)."""
        for name in BART_FIELDS:
            setattr(self, name, arguments[name])
        self.num_hidden_layers = self.encoder_layers

    @property
    def embed_scale(self) -> float:
        scale = self.layout.scales_embeddings and getattr(self, "scale_embedding", False)
        return math.sqrt(self.d_model) if scale else 1.0

    def stack_sizes(self, decoder: bool) -> tuple[int, int, int]:
        """(layers, attention heads, feed-forward width) of the encoder or the decoder."""
        if decoder:
            return self.decoder_layers, self.decoder_attention_heads, self.decoder_ffn_dim
        return self.encoder_layers, self.encoder_attention_heads, self.encoder_ffn_dim

    def position_limit(self, decoder: bool) -> tuple[int, str]:
        """How many positions the encoder or the decoder has, and the config field that says so."""
        return self.max_position_embeddings, "max_position_embeddings"

    @property
    def decoder_vocab(self) -> int:
        """Rows of the token embedding a decoder builds for itself (a causal LM's decoder)."""
        return self.vocab_size

    @property
    def target_vocab(self) -> int:
        """Rows of the encoder-decoder's LM head and final_logits_bias."""
        return self.vocab_size

    def check_sizes(self) -> None:
        refuse_tied_encoder_decoder(self)
        name = type(self).__name__
        for heads in (self.encoder_attention_heads, self.decoder_attention_heads):
            if self.d_model % heads:
                raise ValueError(f"{name}: d_model ({self.d_model}) is not a multiple of the head count ({heads}).")
        if self.activation_function not in ACTIVATIONS:
            raise ValueError(
                f"{name}: activation_function {self.activation_function!r} is not supported; use one of "
                f"{', '.join(ACTIVATIONS)}."
            )


def refuse_tied_encoder_decoder(config) -> None:
    """tie_encoder_decoder=True (decoder weights shared with the encoder's by name) is not implemented."""
    if getattr(config, "tie_encoder_decoder", False):
        raise ValueError(
            f"{type(config).__name__}: tie_encoder_decoder=True (the decoder sharing the encoder's weights) is not "
            "supported by autoload; set it to false."
        )


def sinusoidal_positions(count: int, dim: int) -> np.ndarray:
    """The fixed [count, dim] position table of Marian and Pegasus: sines of the even frequencies in the first
    ceil(dim / 2) columns, cosines of the odd ones after them (not interleaved), computed in float64."""
    position = np.arange(count, dtype=np.float64)[:, None]
    angle = position / np.power(10000.0, 2 * (np.arange(dim) // 2) / dim)[None, :]
    split = (dim + 1) // 2
    table = np.empty((count, dim), dtype=np.float64)
    table[:, :split] = np.sin(angle[:, 0::2])
    table[:, split:] = np.cos(angle[:, 1::2])
    return table.astype(np.float32)


def whisper_sinusoids(length: int, channels: int, max_timescale: float = 10000.0) -> np.ndarray:
    """The sin/cos table Whisper's encoder positions are initialised with (sines, then cosines)."""
    increment = math.log(max_timescale) / (channels // 2 - 1)
    inverse = np.exp(-increment * np.arange(channels // 2, dtype=np.float32))
    scaled = np.arange(length, dtype=np.float32)[:, None] * inverse[None, :]
    return np.concatenate([np.sin(scaled), np.cos(scaled)], axis=1).astype(np.float32)
