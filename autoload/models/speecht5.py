"""SpeechT5: one post-norm transformer encoder-decoder (relative position bias in the encoder) between modality
pre-nets and post-nets. SpeechT5Model has none (hidden states in and out); SpeechT5ForTextToSpeech reads tokens
(text encoder pre-net) and writes log-mel frames (speech decoder pre-net with speaker embeddings, post-net with
a stop-probability head); SpeechT5ForSpeechToText reads raw audio (a wav2vec2-style conv feature encoder,
`autoload/speech.py`) and writes tokens.

The numpy tables here (positions, the encoder's relative distances) are computed once for every framework.

The speech-decoder pre-net applies its dropout in eval mode too, as transformers does ("consistent dropout"):
one Bernoulli(p) mask of shape [frames, units] per pre-net layer, shared by every example of the batch, that
KEEPS a unit where the draw is 1 (probability p, not 1 - p) and scales kept units by 1 / (1 - p). With p = 0
every pre-net output is therefore zero, which makes the forward pass (and generation) deterministic.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ..configuration import PretrainedConfig
from ..speech import SpeechEncoderConfig, SpeechOptions, set_feature_encoder_fields

# The activations every backend implements for the feed-forward blocks and the conv feature encoder.
ACTIVATIONS = ("gelu", "gelu_new", "gelu_fast", "gelu_pytorch_tanh", "quick_gelu", "relu", "silu", "swish", "tanh",
               "sigmoid")  # fmt: skip


class SpeechT5Config(PretrainedConfig):
    model_type = "speecht5"
    # The speech encoder pre-net's frame arithmetic, as the wav2vec2-style configs compute it.
    conv_layer_options = SpeechEncoderConfig.conv_layer_options
    conv_output_lengths = SpeechEncoderConfig.conv_output_lengths
    samples_for_frames = SpeechEncoderConfig.samples_for_frames
    inputs_to_logits_ratio = SpeechEncoderConfig.inputs_to_logits_ratio
    attribute_map = {"num_attention_heads": "encoder_attention_heads", "num_hidden_layers": "encoder_layers"}

    def __init__(self, vocab_size=81, hidden_size=768, encoder_layers=12, encoder_attention_heads=12,
                 encoder_ffn_dim=3072, encoder_layerdrop=0.1, decoder_layers=6, decoder_ffn_dim=3072,
                 decoder_attention_heads=12, decoder_layerdrop=0.1, hidden_act="gelu", positional_dropout=0.1,
                 hidden_dropout=0.1, attention_dropout=0.1, activation_dropout=0.1, initializer_range=0.02,
                 layer_norm_eps=1e-5, scale_embedding=False, feat_extract_norm="group", feat_proj_dropout=0.0,
                 feat_extract_activation="gelu", conv_dim=(512, 512, 512, 512, 512, 512, 512),
                 conv_stride=(5, 2, 2, 2, 2, 2, 2), conv_kernel=(10, 3, 3, 3, 3, 2, 2), conv_bias=False,
                 num_conv_pos_embeddings=128, num_conv_pos_embedding_groups=16, apply_spec_augment=True,
                 mask_time_prob=0.05, mask_time_length=10, mask_time_min_masks=2, mask_feature_prob=0.0,
                 mask_feature_length=10, mask_feature_min_masks=0, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                 decoder_start_token_id=2, num_mel_bins=80, speech_decoder_prenet_layers=2,
                 speech_decoder_prenet_units=256, speech_decoder_prenet_dropout=0.5, speaker_embedding_dim=512,
                 speech_decoder_postnet_layers=5, speech_decoder_postnet_units=256, speech_decoder_postnet_kernel=5,
                 speech_decoder_postnet_dropout=0.5, reduction_factor=2, max_speech_positions=4000,
                 max_text_positions=450, encoder_max_relative_position=160, use_guided_attention_loss=True,
                 guided_attention_loss_num_heads=2, guided_attention_loss_sigma=0.4, guided_attention_loss_scale=10.0,
                 use_cache=True, is_encoder_decoder=True, **kwargs):  # fmt: skip
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.encoder_layers = encoder_layers
        self.encoder_ffn_dim = encoder_ffn_dim
        self.encoder_attention_heads = encoder_attention_heads
        self.encoder_layerdrop = encoder_layerdrop
        self.decoder_layers = decoder_layers
        self.decoder_ffn_dim = decoder_ffn_dim
        self.decoder_attention_heads = decoder_attention_heads
        self.decoder_layerdrop = decoder_layerdrop
        self.hidden_act = hidden_act
        self.positional_dropout = positional_dropout
        self.hidden_dropout = hidden_dropout
        self.attention_dropout = attention_dropout
        self.activation_dropout = activation_dropout
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.scale_embedding = scale_embedding
        set_feature_encoder_fields(self, locals())
        if not len(self.conv_dim) == len(self.conv_stride) == len(self.conv_kernel):
            raise ValueError(
                f"SpeechT5Config: conv_dim ({len(self.conv_dim)}), conv_stride ({len(self.conv_stride)}) and "
                f"conv_kernel ({len(self.conv_kernel)}) must have the same length."
            )
        self.mask_feature_min_masks = mask_feature_min_masks
        self.num_mel_bins = num_mel_bins
        self.speech_decoder_prenet_layers = speech_decoder_prenet_layers
        self.speech_decoder_prenet_units = speech_decoder_prenet_units
        self.speech_decoder_prenet_dropout = speech_decoder_prenet_dropout
        self.speaker_embedding_dim = speaker_embedding_dim
        self.speech_decoder_postnet_layers = speech_decoder_postnet_layers
        self.speech_decoder_postnet_units = speech_decoder_postnet_units
        self.speech_decoder_postnet_kernel = speech_decoder_postnet_kernel
        self.speech_decoder_postnet_dropout = speech_decoder_postnet_dropout
        self.reduction_factor = reduction_factor
        self.max_speech_positions = max_speech_positions
        self.max_text_positions = max_text_positions
        self.encoder_max_relative_position = encoder_max_relative_position
        self.use_guided_attention_loss = use_guided_attention_loss
        self.guided_attention_loss_num_heads = guided_attention_loss_num_heads
        self.guided_attention_loss_sigma = guided_attention_loss_sigma
        self.guided_attention_loss_scale = guided_attention_loss_scale
        self.use_cache = use_cache
        super().__init__(pad_token_id=pad_token_id, bos_token_id=bos_token_id, eos_token_id=eos_token_id,
                         is_encoder_decoder=is_encoder_decoder, decoder_start_token_id=decoder_start_token_id,
                         **kwargs)  # fmt: skip

    # -- checks made when a model is built ---------------------------------------------------------------
    def check_sizes(self) -> None:
        name = "SpeechT5Config"
        for field in ("encoder_attention_heads", "decoder_attention_heads"):
            if self.hidden_size % getattr(self, field):
                raise ValueError(f"{name}: hidden_size ({self.hidden_size}) is not a multiple of {field} "
                                 f"({getattr(self, field)}).")  # fmt: skip
        if self.hidden_size % 2:
            raise ValueError(f"{name}: hidden_size ({self.hidden_size}) must be even (the scaled sin/cos position "
                             "tables interleave sines and cosines).")  # fmt: skip
        for field in ("hidden_act", "feat_extract_activation"):
            if getattr(self, field) not in ACTIVATIONS:
                raise ValueError(f"{name}: {field} {getattr(self, field)!r} is not supported; use one of "
                                 f"{', '.join(ACTIVATIONS)}.")  # fmt: skip
        if self.feat_extract_norm not in ("group", "layer"):
            raise ValueError(f"{name}: feat_extract_norm must be 'group' or 'layer', got {self.feat_extract_norm!r}.")
        if self.hidden_size % self.num_conv_pos_embedding_groups:
            raise ValueError(f"{name}: num_conv_pos_embedding_groups ({self.num_conv_pos_embedding_groups}) must "
                             f"divide hidden_size ({self.hidden_size}).")  # fmt: skip
        if self.reduction_factor < 1 or self.speech_decoder_prenet_layers < 0 or self.speech_decoder_postnet_layers < 1:
            raise ValueError(f"{name}: reduction_factor and speech_decoder_postnet_layers must be at least 1, "
                             "speech_decoder_prenet_layers at least 0.")  # fmt: skip
        if self.speech_decoder_prenet_layers == 0 and self.num_mel_bins != self.speech_decoder_prenet_units:
            raise ValueError(f"{name}: speech_decoder_prenet_layers=0 feeds the log-mel frames straight to the pre-net's "
                             f"final_layer, which reads speech_decoder_prenet_units ({self.speech_decoder_prenet_units})"
                             f" features: num_mel_bins ({self.num_mel_bins}) must equal it.")  # fmt: skip
        if not 0.0 <= self.speech_decoder_prenet_dropout < 1.0:
            raise ValueError(f"{name}: speech_decoder_prenet_dropout must be in [0, 1), got "
                             f"{self.speech_decoder_prenet_dropout} (kept units are scaled by 1 / (1 - p)).")  # fmt: skip
        if self.speech_decoder_postnet_kernel % 2 == 0:
            raise ValueError(f"{name}: speech_decoder_postnet_kernel must be odd (the post-net keeps the frame "
                             f"count with (kernel - 1) // 2 padding), got {self.speech_decoder_postnet_kernel}.")  # fmt: skip
        if self.encoder_max_relative_position < 1:
            raise ValueError(f"{name}: encoder_max_relative_position must be at least 1.")
        if getattr(self, "tie_encoder_decoder", False):
            raise ValueError(f"{name}: tie_encoder_decoder=True is not supported by autoload; set it to false.")

    # -- derived values every framework reads -------------------------------------------------------------
    @property
    def encoder_head_dim(self) -> int:
        return self.hidden_size // self.encoder_attention_heads

    @property
    def embed_scale(self) -> float:
        """The text decoder pre-net's token-embedding scale (the text encoder pre-net never scales)."""
        return math.sqrt(self.hidden_size) if self.scale_embedding else 1.0

    def speech_options(self) -> SpeechOptions:
        """The wav2vec2-style speech encoder pre-net (conv feature encoder, projection, positional conv): the
        shared speech blocks build it from these options."""
        return SpeechOptions(
            conv_layers=self.conv_layer_options(), conv_bias=bool(self.conv_bias),
            conv_activation=self.feat_extract_activation, hidden_size=self.hidden_size,
            num_heads=self.encoder_attention_heads, intermediate_size=self.encoder_ffn_dim,
            num_layers=self.encoder_layers, activation=self.hidden_act, layer_norm_eps=self.layer_norm_eps,
            pos_conv_kernel=self.num_conv_pos_embeddings, pos_conv_groups=self.num_conv_pos_embedding_groups,
            stable_layer_norm=False, masked_spec_embed=self.mask_time_prob > 0.0 or self.mask_feature_prob > 0.0,
            apply_spec_augment=bool(self.apply_spec_augment),
            mask_time=(self.mask_time_prob, self.mask_time_length, self.mask_time_min_masks),
            mask_feature=(self.mask_feature_prob, self.mask_feature_length, self.mask_feature_min_masks),
            hidden_dropout=self.hidden_dropout, activation_dropout=self.activation_dropout,
            attention_dropout=self.attention_dropout, feat_proj_dropout=self.feat_proj_dropout,
            layerdrop=self.encoder_layerdrop,
        )  # fmt: skip

    def feed_forward_options(self, decoder: bool) -> SpeechOptions:
        """Options of a layer's feed-forward block (intermediate_dense / output_dense, as the speech blocks')."""
        return replace(self.speech_options(), intermediate_size=self.decoder_ffn_dim if decoder else self.encoder_ffn_dim)


# -- numpy tables shared by every framework ------------------------------------------------------------------
def scaled_positions(length: int, dim: int, limit: int, limit_name: str) -> np.ndarray:
    """[length, dim] sin/cos table of the pre-nets' scaled positional encoding (sines in even columns, cosines in
    odd ones), which the pre-net multiplies by its learned `alpha`. transformers' table has `limit` rows."""
    if length > limit:
        raise ValueError(f"Sequence length {length} is longer than the {limit} positions of the SpeechT5 pre-net "
                         f"(config.{limit_name}); shorten the input.")  # fmt: skip
    position = np.arange(length, dtype=np.float32)[:, None]
    div = np.exp(np.arange(0, dim, 2, dtype=np.float32) * np.float32(-(math.log(10000.0) / dim)))
    table = np.zeros((length, dim), dtype=np.float32)
    table[:, 0::2] = np.sin(position * div)
    table[:, 1::2] = np.cos(position * div)
    return table


def fairseq_sinusoids(positions: np.ndarray, dim: int, padding_idx: int) -> np.ndarray:
    """Rows `positions` (any int array) of the fairseq sinusoidal table (sines then cosines, the padding row
    zero), as float32 [*positions.shape, dim]."""
    half = dim // 2
    scale = math.log(10000) / (half - 1)
    freq = np.exp(np.arange(half, dtype=np.float32) * np.float32(-scale))
    angle = positions.astype(np.float32)[..., None] * freq
    table = np.concatenate([np.sin(angle), np.cos(angle)], axis=-1)
    if dim % 2:
        table = np.concatenate([table, np.zeros((*table.shape[:-1], 1), np.float32)], axis=-1)
    return np.where((positions == padding_idx)[..., None], np.float32(0), table).astype(np.float32)


def padded_positions(ids: np.ndarray, padding_idx: int, past_length: int = 0) -> np.ndarray:
    """fairseq's position ids: count the entries that are not `padding_idx` from padding_idx + 1 (past_length
    added), padding entries keep padding_idx."""
    keep = (ids != padding_idx).astype(np.int64)
    return (np.cumsum(keep, axis=1) + past_length) * keep + padding_idx


def speech_frame_positions(frame_mask: np.ndarray | None, frames: int, batch: int, padding_idx: int) -> np.ndarray:
    """The speech encoder pre-net's sinusoidal positions [batch, frames, dim] index: real frames count from
    padding_idx + 1, padded frames get padding_idx (a zero row). transformers builds the ids as 1 for padding,
    0 for audio, and runs them through the padding-aware position count."""
    ids = np.zeros((batch, frames), np.int64) if frame_mask is None else (~frame_mask.astype(bool)).astype(np.int64)
    return padded_positions(ids, padding_idx)


def relative_distances(length: int, max_distance: int) -> np.ndarray:
    """[length, length] rows of the encoder's relative position table: query - key, clipped to
    [-max_distance, max_distance - 1], shifted by max_distance."""
    distance = np.arange(length)[:, None] - np.arange(length)[None, :]
    return np.clip(distance, -max_distance, max_distance - 1) + max_distance


def consistent_dropout_mask(draws: np.ndarray, p: float) -> np.ndarray:
    """The multiplier of one pre-net layer from uniform draws in [0, 1) of shape [frames, units]: a unit is kept
    where bernoulli(p) is 1 (draw < p) and scaled by 1 / (1 - p); the mask is shared by the batch."""
    return np.where(draws < p, np.float32(1.0 / (1.0 - p)), np.float32(0.0)).astype(np.float32)


CONFIG_CLASS = SpeechT5Config
ARCHITECTURES = {
    "MODEL": "SpeechT5Model",
    "MODEL_FOR_TEXT_TO_SPECTROGRAM": "SpeechT5ForTextToSpeech",
    "MODEL_FOR_SPEECH_SEQ_2_SEQ": "SpeechT5ForSpeechToText",
}
BACKENDS = ("torch", "tf", "flax")
