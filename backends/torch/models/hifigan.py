"""SpeechT5's HiFi-GAN vocoder in PyTorch (transformers' SpeechT5HifiGan): module and buffer names are the
checkpoint's (mean, scale, conv_pre, upsampler.N, resblocks.N.convs1/convs2.M, conv_post). The residual block is
VITS' decoder block, which has the same names and math."""

from __future__ import annotations

import torch
from torch import nn

from autoload.models.hifigan import SpeechT5HifiGanConfig

from ..modeling import PreTrainedModel
from .vits import HifiGanResidualBlock


class SpeechT5HifiGan(PreTrainedModel):
    config_class = SpeechT5HifiGanConfig
    main_input_name = "spectrogram"

    def __init__(self, config: SpeechT5HifiGanConfig):
        super().__init__(config)
        config.check_sizes()
        self.num_kernels = len(config.resblock_kernel_sizes)
        self.conv_pre = nn.Conv1d(config.model_in_dim, config.upsample_initial_channel, kernel_size=7, padding=3)
        self.upsampler = nn.ModuleList()
        self.resblocks = nn.ModuleList()
        for i, (rate, kernel) in enumerate(zip(config.upsample_rates, config.upsample_kernel_sizes)):
            channels = config.stage_channels(i)
            self.upsampler.append(nn.ConvTranspose1d(config.stage_channels(i - 1), channels, kernel, stride=rate,
                                                     padding=(kernel - rate) // 2))  # fmt: skip
            for size, dilations in zip(config.resblock_kernel_sizes, config.resblock_dilation_sizes):
                self.resblocks.append(HifiGanResidualBlock(channels, size, dilations, config.leaky_relu_slope))
        self.conv_post = nn.Conv1d(channels, 1, kernel_size=7, padding=3)
        self.register_buffer("mean", torch.zeros(config.model_in_dim))
        self.register_buffer("scale", torch.ones(config.model_in_dim))

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, (nn.Conv1d, nn.ConvTranspose1d)):
            nn.init.normal_(module.weight, std=self.config.initializer_range)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        else:
            super()._init_weights(module)

    def _initialise_missing(self, dtype, *args, **kwargs) -> None:
        scale_missing = self.scale.is_meta
        super()._initialise_missing(dtype, *args, **kwargs)
        if scale_missing and not self.scale.is_meta:  # without the normalisation buffers: divide by 1, not 0
            self.scale = torch.ones_like(self.scale)

    def _convolutions(self):
        residual = [conv for block in self.resblocks for conv in (*block.convs1, *block.convs2)]
        return [self.conv_pre, *self.upsampler, *residual, self.conv_post]

    def apply_weight_norm(self) -> None:
        """Weight-normalise every convolution (torch's parametrizations, as transformers does for training)."""
        for conv in self._convolutions():
            nn.utils.parametrizations.weight_norm(conv)

    def remove_weight_norm(self) -> None:
        for conv in self._convolutions():
            nn.utils.parametrize.remove_parametrizations(conv, "weight")

    def forward(self, spectrogram: torch.Tensor) -> torch.Tensor:
        """[batch, frames, model_in_dim] -> [batch, samples]; [frames, model_in_dim] -> [samples]."""
        if self.config.normalize_before:
            spectrogram = (spectrogram - self.mean) / self.scale
        batched = spectrogram.dim() == 3
        hidden = (spectrogram if batched else spectrogram.unsqueeze(0)).transpose(1, 2)
        hidden = self.conv_pre(hidden)
        slope = self.config.leaky_relu_slope
        for i, upsample in enumerate(self.upsampler):
            hidden = upsample(nn.functional.leaky_relu(hidden, slope))
            blocks = self.resblocks[i * self.num_kernels : (i + 1) * self.num_kernels]
            hidden = sum(block(hidden) for block in blocks) / self.num_kernels
        waveform = torch.tanh(self.conv_post(nn.functional.leaky_relu(hidden))).squeeze(1)
        return waveform if batched else waveform.reshape(-1)
