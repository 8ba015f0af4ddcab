"""SpeechT5's HiFi-GAN vocoder in Flax (linen). transformers has no Flax class for it, so parameter names mirror
the PyTorch module: mean and scale at the root, conv_pre, upsampler.N (PyTorch's transposed-convolution `weight`
and layout), resblocks.N.convs1/convs2.M, conv_post. Channels-last throughout (the spectrogram's own layout); every
shape follows from the input's, so the module is jit-able. The residual block and transposed convolution are VITS'."""

from __future__ import annotations

from typing import Any

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp

from autoload.models.hifigan import SpeechT5HifiGanConfig

from ..modeling import FlaxPreTrainedModel
from .vits import FlaxHifiGanResidualBlock, TransposedConv1D, pad_time


class FlaxSpeechT5HifiGanModule(nn.Module):
    config: SpeechT5HifiGanConfig
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, spectrogram, **kwargs):
        """[batch, frames, model_in_dim] -> [batch, samples]; [frames, model_in_dim] -> [samples]. Other keywords
        (the output flags every model is called with, deterministic) change nothing here."""
        c = self.config
        init = nn.initializers.normal(c.initializer_range)
        mean = self.param("mean", nn.initializers.zeros, (c.model_in_dim,))
        scale = self.param("scale", nn.initializers.ones, (c.model_in_dim,))
        spectrogram = jnp.asarray(spectrogram, self.dtype)
        if c.normalize_before:
            spectrogram = (spectrogram - mean) / scale
        batched = spectrogram.ndim == 3
        hidden = spectrogram if batched else spectrogram[None]
        hidden = nn.Conv(c.upsample_initial_channel, (7,), padding="VALID", kernel_init=init,
                         name="conv_pre")(pad_time(hidden, 3))  # fmt: skip
        kernels = len(c.resblock_kernel_sizes)
        for i, (rate, kernel) in enumerate(zip(c.upsample_rates, c.upsample_kernel_sizes)):
            channels = c.stage_channels(i)
            hidden = TransposedConv1D(c.stage_channels(i - 1), channels, kernel, rate, (kernel - rate) // 2,
                                      name=f"upsampler.{i}")(nn.leaky_relu(hidden, c.leaky_relu_slope))  # fmt: skip
            total = 0
            for j, (size, dilations) in enumerate(zip(c.resblock_kernel_sizes, c.resblock_dilation_sizes)):
                total = total + FlaxHifiGanResidualBlock(channels, size, tuple(dilations), c.leaky_relu_slope,
                                                         name=f"resblocks.{i * kernels + j}")(hidden)  # fmt: skip
            hidden = total / kernels
        hidden = nn.Conv(1, (7,), padding="VALID", kernel_init=init,
                         name="conv_post")(pad_time(nn.leaky_relu(hidden, 0.01), 3))  # fmt: skip
        waveform = jnp.tanh(hidden)[..., 0]
        return waveform if batched else waveform.reshape(-1)


class FlaxSpeechT5HifiGan(FlaxPreTrainedModel):
    config_class = SpeechT5HifiGanConfig
    module_class = FlaxSpeechT5HifiGanModule
    main_input_name = "spectrogram"

    def __init__(self, config: SpeechT5HifiGanConfig, *args, **kwargs):
        config.check_sizes()
        super().__init__(config, *args, **kwargs)

    def dummy_inputs(self) -> dict:
        return {"spectrogram": jnp.zeros((1, 2, self.config.model_in_dim), dtype=jnp.float32)}

    def init_weights(self, rng) -> dict:
        """transformers' initialisation: every convolution's weights ~ N(0, initializer_range), biases 0 (the
        residual blocks shared with VITS would otherwise keep VITS' He initialisation)."""
        params = flax.core.unfreeze(super().init_weights(rng))
        std = self.config.initializer_range
        leaves, tree = jax.tree_util.tree_flatten_with_path(params)
        keys = jax.random.split(rng, len(leaves))

        def fresh(path, leaf, key):
            name = path[-1].key
            if name in ("kernel", "weight"):
                return jax.random.normal(key, leaf.shape, leaf.dtype) * std
            return jnp.zeros_like(leaf) if name == "bias" else leaf

        return jax.tree_util.tree_unflatten(tree, [fresh(p, leaf, k) for (p, leaf), k in zip(leaves, keys)])
