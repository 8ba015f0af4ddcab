"""SpeechT5's HiFi-GAN vocoder (transformers' SpeechT5HifiGan, model_type "hifigan"): a log-mel spectrogram
[frames, mel] or [batch, frames, mel], optionally normalised by the checkpoint's mean / scale buffers, through
conv_pre, per upsampling stage a leaky ReLU, a transposed convolution and the mean of the multi-receptive-field
residual blocks, then a leaky ReLU of slope 0.01 (PyTorch's default, whatever leaky_relu_slope says), conv_post and
tanh: the waveform [samples] or [batch, samples].

No Auto mapping of transformers 4.57.6 lists hifigan, so nothing here is in ARCHITECTURES: the vocoder is loaded by
its class (SpeechT5HifiGan / TFSpeechT5HifiGan / FlaxSpeechT5HifiGan.from_pretrained), as in transformers.
Checkpoints saved with weight normalisation (weight_g / weight_v or parametrizations.weight.original0 / 1 instead of
a conv's weight) are folded on load (autoload/weight_norm.py)."""

from __future__ import annotations

import math

from ..configuration import PretrainedConfig


class SpeechT5HifiGanConfig(PretrainedConfig):
    model_type = "hifigan"

    def __init__(self, model_in_dim=80, sampling_rate=16000, upsample_initial_channel=512, upsample_rates=(4, 4, 4, 4),
                 upsample_kernel_sizes=(8, 8, 8, 8), resblock_kernel_sizes=(3, 7, 11),
                 resblock_dilation_sizes=((1, 3, 5), (1, 3, 5), (1, 3, 5)), initializer_range=0.01,
                 leaky_relu_slope=0.1, normalize_before=True, **kwargs):  # fmt: skip
        self.model_in_dim = model_in_dim
        self.sampling_rate = sampling_rate
        self.upsample_initial_channel = upsample_initial_channel
        self.upsample_rates = list(upsample_rates)
        self.upsample_kernel_sizes = list(upsample_kernel_sizes)
        self.resblock_kernel_sizes = list(resblock_kernel_sizes)
        self.resblock_dilation_sizes = [list(d) for d in resblock_dilation_sizes]
        self.initializer_range = initializer_range
        self.leaky_relu_slope = leaky_relu_slope
        self.normalize_before = normalize_before
        super().__init__(**kwargs)

    def check_sizes(self) -> None:
        """What the modules need, checked when a model is built (transformers zips these lists silently, which
        drops stages or misplaces residual blocks when their lengths differ)."""
        name = "SpeechT5HifiGanConfig"
        if not self.upsample_rates or len(self.upsample_rates) != len(self.upsample_kernel_sizes):
            raise ValueError(
                f"{name}: upsample_rates ({self.upsample_rates}) and upsample_kernel_sizes "
                f"({self.upsample_kernel_sizes}) must be non-empty lists of the same length."
            )
        if not self.resblock_kernel_sizes or len(self.resblock_kernel_sizes) != len(self.resblock_dilation_sizes):
            raise ValueError(
                f"{name}: resblock_kernel_sizes ({self.resblock_kernel_sizes}) and resblock_dilation_sizes "
                f"({self.resblock_dilation_sizes}) must be non-empty lists of the same length."
            )
        for rate, kernel in zip(self.upsample_rates, self.upsample_kernel_sizes):
            if rate < 1 or kernel < rate:
                raise ValueError(
                    f"{name}: each upsample kernel size must be at least its rate (>= 1); got rate {rate}, "
                    f"kernel {kernel} (the transposed convolution's padding is (kernel - rate) // 2)."
                )
        if self.upsample_initial_channel // 2 ** len(self.upsample_rates) < 1:
            raise ValueError(
                f"{name}: upsample_initial_channel ({self.upsample_initial_channel}) is halved at each of the "
                f"{len(self.upsample_rates)} upsampling stages and must stay at least 1."
            )

    @property
    def hop_length(self) -> int:
        """Waveform samples per spectrogram frame when each kernel's excess over its rate is even."""
        return math.prod(self.upsample_rates)

    def stage_channels(self, stage: int) -> int:
        """Channels after upsampling stage `stage` (0-based); stage -1 is conv_pre's output."""
        return self.upsample_initial_channel // 2 ** (stage + 1)


CONFIG_CLASS = SpeechT5HifiGanConfig
ARCHITECTURES: dict[str, str] = {}  # no Auto family lists hifigan in transformers 4.57.6
CLASSES = ("SpeechT5HifiGan",)  # loaded by class name (autoload.SpeechT5HifiGan, TF…, Flax…)
BACKENDS = ("torch", "tf", "flax")
