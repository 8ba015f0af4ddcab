"""What a wav2vec2-style speech encoder computes (Wav2Vec2, HuBERT, WavLM), decided once from its config for
every framework.

Each config class derives from SpeechEncoderConfig and returns a SpeechOptions from `speech_options()`; the
block libraries (`autoload/backends/<framework>/blocks/speech.py`) build and run the feature encoder, the
positional convolution, the transformer and the audio heads from it alone, so a config field cannot mean one
thing in PyTorch and another in Flax. The heads' declarations (HeadSpec) live here too, shared by the three
architectures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .configuration import PretrainedConfig
from .heads import HeadSpec

FEATURE_NORMS = ("group", "layer")
CTC_REDUCTIONS = ("sum", "mean", "none")


@dataclass(frozen=True)
class ConvLayerOptions:
    """One strided convolution of the feature encoder over raw audio; `norm` is "group" (a GroupNorm with one
    group per channel: each channel normalised over time), "layer" (LayerNorm over channels) or None."""

    in_dim: int
    out_dim: int
    kernel: int
    stride: int
    norm: str | None


@dataclass(frozen=True)
class AdapterOptions:
    """Wav2Vec2's add_adapter: strided convolutions with a GLU after the transformer (`adapter.layers.N.conv`),
    preceded by `adapter.proj` + `adapter.proj_layer_norm` when the output width differs from hidden_size."""

    width: int
    project: bool
    num_layers: int
    kernel: int
    stride: int


@dataclass(frozen=True)
class SpeechOptions:
    conv_layers: tuple[ConvLayerOptions, ...]
    conv_bias: bool
    conv_activation: str  # feat_extract_activation: after every conv and after the positional conv
    hidden_size: int
    num_heads: int
    intermediate_size: int
    num_layers: int
    activation: str
    layer_norm_eps: float
    pos_conv_kernel: int
    pos_conv_groups: int
    stable_layer_norm: bool  # pre-norm layers and a final LayerNorm (else post-norm and a LayerNorm first)
    feature_layer_norm: bool = True  # LayerNorm over the conv features before the projection
    pos_conv_batch_norm: bool = False  # HuBERT conv_pos_batch_norm: BatchNorm before a plain (not weight-normed) conv
    relative_buckets: int | None = None  # WavLM: gated relative position bias with this many buckets
    relative_max_distance: int | None = None
    attn_adapter_dim: int | None = None  # per-layer attention adapters (stable layers only; MMS checkpoints)
    adapter: AdapterOptions | None = None
    masked_spec_embed: bool = False  # a learned vector replaces the masked time steps (mask_time_indices)
    apply_spec_augment: bool = True
    # SpecAugment while training: (probability, span length, minimum spans) over time and over features
    mask_time: tuple[float, int, int] = (0.0, 10, 2)
    mask_feature: tuple[float, int, int] = (0.0, 10, 0)
    hidden_dropout: float = 0.0
    activation_dropout: float = 0.0
    attention_dropout: float = 0.0
    feat_proj_dropout: float = 0.0
    layerdrop: float = 0.0

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads

    @property
    def output_width(self) -> int:
        """Width of the base model's last_hidden_state (after the adapter, when there is one)."""
        return self.adapter.width if self.adapter else self.hidden_size

    @property
    def relative(self) -> bool:
        return self.relative_buckets is not None


# The convolutional feature encoder's and SpecAugment's fields every speech config stores as given.
FEATURE_ENCODER_FIELDS = ("feat_extract_norm", "feat_extract_activation", "feat_proj_dropout", "conv_bias",
                          "num_conv_pos_embeddings", "num_conv_pos_embedding_groups", "apply_spec_augment",
                          "mask_time_prob", "mask_time_length", "mask_time_min_masks", "mask_feature_prob",
                          "mask_feature_length")  # fmt: skip


def set_feature_encoder_fields(config, arguments: dict) -> None:
    """Store FEATURE_ENCODER_FIELDS and the convolution lists from a config's __init__ arguments (its `locals()`)."""
    for name in FEATURE_ENCODER_FIELDS:
        setattr(config, name, arguments[name])
    config.conv_dim, config.conv_stride, config.conv_kernel = (list(arguments[name]) for name in
                                                               ("conv_dim", "conv_stride", "conv_kernel"))  # fmt: skip
    config.num_feat_extract_layers = len(config.conv_dim)


class SpeechEncoderConfig(PretrainedConfig):
    """Shared checks and derived values of the wav2vec2-style configs."""

    def check_speech_fields(self) -> None:
        name = type(self).__name__
        if self.feat_extract_norm not in FEATURE_NORMS:
            raise ValueError(
                f"{name}: feat_extract_norm must be one of {FEATURE_NORMS}, got {self.feat_extract_norm!r}."
            )
        if not len(self.conv_dim) == len(self.conv_stride) == len(self.conv_kernel):
            raise ValueError(
                f"{name}: conv_dim ({len(self.conv_dim)}), conv_stride ({len(self.conv_stride)}) and conv_kernel "
                f"({len(self.conv_kernel)}) must have the same length."
            )
        if not self.conv_dim:
            raise ValueError(f"{name}: conv_dim is empty; the feature encoder needs at least one convolution.")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"{name}: hidden_size ({self.hidden_size}) is not a multiple of num_attention_heads "
                f"({self.num_attention_heads})."
            )
        if self.hidden_size % self.num_conv_pos_embedding_groups:
            raise ValueError(
                f"{name}: num_conv_pos_embedding_groups ({self.num_conv_pos_embedding_groups}) must divide "
                f"hidden_size ({self.hidden_size}) for the grouped positional convolution."
            )
        if self.ctc_loss_reduction not in CTC_REDUCTIONS:
            raise ValueError(
                f"{name}: ctc_loss_reduction must be one of {CTC_REDUCTIONS}, got {self.ctc_loss_reduction!r}."
            )
        tdnn = getattr(self, "tdnn_dim", None)
        if tdnn is not None and not len(tdnn) == len(self.tdnn_kernel) == len(self.tdnn_dilation):
            raise ValueError(
                f"{name}: tdnn_dim ({len(tdnn)}), tdnn_kernel ({len(self.tdnn_kernel)}) and tdnn_dilation "
                f"({len(self.tdnn_dilation)}) must have the same length."
            )

    # -- derived values every framework reads ------------------------------------------------------------
    def conv_layer_options(self) -> tuple[ConvLayerOptions, ...]:
        count = len(self.conv_dim)
        if self.feat_extract_norm == "group":
            norms = ["group"] + [None] * (count - 1)
        else:
            norms = ["layer"] * count
        return tuple(
            ConvLayerOptions(self.conv_dim[i - 1] if i else 1, self.conv_dim[i], self.conv_kernel[i],
                             self.conv_stride[i], norms[i])
            for i in range(count)
        )  # fmt: skip

    def adapter_options(self) -> AdapterOptions | None:
        if not getattr(self, "add_adapter", False):
            return None
        width = self.output_hidden_size or self.hidden_size
        return AdapterOptions(width, width != self.hidden_size, self.num_adapter_layers, self.adapter_kernel_size,
                              self.adapter_stride)  # fmt: skip

    def base_speech_options(self, **values) -> SpeechOptions:
        self.check_speech_fields()
        return SpeechOptions(
            conv_layers=self.conv_layer_options(), conv_bias=bool(self.conv_bias),
            conv_activation=self.feat_extract_activation, hidden_size=self.hidden_size,
            num_heads=self.num_attention_heads, intermediate_size=self.intermediate_size,
            num_layers=self.num_hidden_layers, activation=self.hidden_act, layer_norm_eps=self.layer_norm_eps,
            pos_conv_kernel=self.num_conv_pos_embeddings, pos_conv_groups=self.num_conv_pos_embedding_groups,
            stable_layer_norm=bool(self.do_stable_layer_norm),
            masked_spec_embed=self.mask_time_prob > 0.0 or self.mask_feature_prob > 0.0,
            apply_spec_augment=bool(getattr(self, "apply_spec_augment", True)),
            mask_time=(self.mask_time_prob, self.mask_time_length, self.mask_time_min_masks),
            mask_feature=(self.mask_feature_prob, self.mask_feature_length, getattr(self, "mask_feature_min_masks", 0)),
            hidden_dropout=self.hidden_dropout, activation_dropout=self.activation_dropout,
            attention_dropout=self.attention_dropout, feat_proj_dropout=self.feat_proj_dropout,
            layerdrop=self.layerdrop, **values,
        )  # fmt: skip

    def speech_options(self) -> SpeechOptions:
        raise NotImplementedError

    def conv_output_lengths(self, lengths, add_adapter: bool | None = None):
        """Frames the encoder makes of `lengths` samples (ints or any framework's integer arrays). With the
        adapter (by default when the config has one) each adapter layer counts as a kernel-1 strided conv, as
        transformers counts it."""
        for kernel, stride in zip(self.conv_kernel, self.conv_stride):
            lengths = (lengths - kernel) // stride + 1
        if add_adapter is None:
            add_adapter = bool(getattr(self, "add_adapter", False))
        if add_adapter:
            for _ in range(self.num_adapter_layers):
                lengths = (lengths - 1) // self.adapter_stride + 1
        return lengths

    def tdnn_output_lengths(self, lengths):
        """Frames left after the x-vector TDNN layers (each counted as an undilated valid conv, as transformers
        counts them)."""
        for kernel in self.tdnn_kernel:
            lengths = lengths - kernel + 1
        return lengths

    @property
    def inputs_to_logits_ratio(self) -> int:
        ratio = 1
        for stride in self.conv_stride:
            ratio *= stride
        return ratio

    def samples_for_frames(self, frames: int = 1) -> int:
        """The fewest audio samples the feature encoder turns into `frames` frames."""
        for kernel, stride in reversed(list(zip(self.conv_kernel, self.conv_stride))):
            frames = (frames - 1) * stride + kernel
        return frames


def sliced_length(length: int, frames: int) -> int:
    """How many frames `hidden[:length]` keeps (Python slicing: a negative length counts from the end), as the
    x-vector statistics pooling slices each example."""
    return min(length, frames) if length >= 0 else max(frames + length, 0)


def effective_frame_lengths(lengths, frames: int):
    """The frames transformers' feature-vector mask keeps for each example: it marks position `length - 1` and
    everything before it, so a length in 1..frames keeps `length` frames and a length of 0 or less wraps
    around (0 keeps them all). Works on ints and any framework's integer arrays."""
    return (lengths - 1) % frames + 1


# -- the heads every speech encoder declares (autoload/heads.py HeadSpec) -------------------------------------
def _output_width(config) -> int:
    return config.speech_options().output_width


def _classifier_proj_size(config) -> int:
    return config.classifier_proj_size


CTC_HEAD = HeadSpec(pooling="none", attr="lm_head", dropout=("final_dropout",), width=_output_width)
AUDIO_CLASSIFICATION_HEAD = HeadSpec(pooling="masked_mean", attr="classifier", dropout=(), width=_classifier_proj_size)
FRAME_CLASSIFICATION_HEAD = HeadSpec(pooling="none", attr="classifier", dropout=())
XVECTOR_HEAD = HeadSpec(pooling="none", attr="classifier", dropout=())


def refuse_adapter(config, head: str) -> None:
    if getattr(config, "add_adapter", False):
        raise ValueError(
            f"{head} does not support the adapter (config.add_adapter=True), as in transformers; use a config "
            "without it or the CTC / x-vector heads."
        )


def check_audio(config, shape) -> None:
    """Refuse input_values that are not [batch, samples] mono audio, or too short for one frame."""
    shape = tuple(shape)
    if len(shape) != 2:
        raise ValueError(
            f"input_values must be mono audio of shape [batch, samples]; got {shape}. Average or pick a channel of "
            "stereo audio first (the feature extractor does this)."
        )
    samples, needed = shape[1], config.samples_for_frames(1)
    if samples is not None and samples < needed:
        raise ValueError(
            f"input_values has {samples} samples per example; this {type(config).__name__} needs at least {needed} "
            "(its conv feature encoder's receptive field) to produce one frame. Pad or drop the short clip."
        )


def spec_augment_mask(shape: tuple[int, int], prob: float, span: int, min_spans: int = 0, lengths=None,
                      rng=np.random) -> np.ndarray:  # fmt: skip
    """A random SpecAugment mask [batch, steps] as transformers draws it while training: about
    prob * length / span spans of `span` steps per example (at least min_spans, the count rounded with one
    random offset shared by the batch), their starts distinct and inside the example's own length (`lengths`,
    for right-padded examples). An example given fewer spans than the longest repeats its first start (the last
    step when it has none), as transformers pads them."""
    batch, steps = shape
    if span < 1:
        raise ValueError(f"The SpecAugment span length (mask_time_length / mask_feature_length) must be at least 1, "
                         f"got {span}.")  # fmt: skip
    if span > steps:
        raise ValueError(f"The SpecAugment span length ({span}) is longer than the {steps} steps it masks; lower "
                         "mask_time_length / mask_feature_length or pass longer audio.")  # fmt: skip
    offset = rng.rand(1).item()

    def count(length: int) -> int:
        spans = max(int(prob * length / span + offset), min_spans)
        if spans * span > steps:
            spans = steps // span
        return max(min(spans, length - span + 1), 0)

    mask = np.zeros(shape, dtype=bool)
    most = count(steps)
    if most == 0:
        return mask
    lengths = [steps] * batch if lengths is None else [int(n) for n in lengths]
    for row, length in enumerate(lengths):
        starts = rng.choice(np.arange(length - span + 1), count(length), replace=False)
        filler = starts[0] if len(starts) else steps - 1
        starts = np.concatenate([starts, np.full(most - len(starts), filler)]).astype(np.int64)
        covered = np.minimum((starts[:, None] + np.arange(span)[None, :]).reshape(-1), steps - 1)
        mask[row, covered] = True
    return mask


def training_masks(options: SpeechOptions, batch: int, steps: int, lengths=None):
    """(time mask [batch, steps] or None, feature mask [batch, hidden] or None): SpecAugment's random masks for
    one training call when the config asks for them (apply_spec_augment and a positive probability)."""
    if not options.apply_spec_augment:
        return None, None
    time_prob, time_span, time_min = options.mask_time
    feature_prob, feature_span, feature_min = options.mask_feature
    time = spec_augment_mask((batch, steps), time_prob, time_span, time_min, lengths) if time_prob > 0 else None
    feature = None
    if feature_prob > 0:
        feature = spec_augment_mask((batch, options.hidden_size), feature_prob, feature_span, feature_min)
    return time, feature
