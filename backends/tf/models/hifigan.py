"""SpeechT5's HiFi-GAN vocoder in TensorFlow (Keras 3). transformers has no TF class for it, so variable names
mirror the PyTorch module (mean, scale, conv_pre, upsampler.N, resblocks.N.convs1/convs2.M, conv_post); the layers
run channels-last, which is the spectrogram's own [batch, frames, mel] layout. The residual block is VITS'."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from autoload.models.hifigan import SpeechT5HifiGanConfig

from .. import keras_layers
from ..modeling import TFPreTrainedModel
from .vits import TFHifiGanResidualBlock, conv1d, over_time, pad_time


class TFSpeechT5HifiGan(TFPreTrainedModel):
    config_class = SpeechT5HifiGanConfig
    main_input_name = "spectrogram"

    def __init__(self, config: SpeechT5HifiGanConfig, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        config.check_sizes()
        self.num_kernels = len(config.resblock_kernel_sizes)
        self.conv_pre = conv1d(config.upsample_initial_channel, 7, "conv_pre")
        self.upsampler, self.resblocks, self.crops = [], [], []
        for i, (rate, kernel) in enumerate(zip(config.upsample_rates, config.upsample_kernel_sizes)):
            channels = config.stage_channels(i)
            self.upsampler.append(keras_layers.Conv1DTranspose(channels, kernel, strides=rate, padding="valid",
                                                               name=f"upsampler.{i}"))  # fmt: skip
            self.crops.append((kernel - rate) // 2)
            for j, (size, dilations) in enumerate(zip(config.resblock_kernel_sizes, config.resblock_dilation_sizes)):
                self.resblocks.append(TFHifiGanResidualBlock(channels, size, dilations, config.leaky_relu_slope,
                                                             name=f"resblocks.{i * self.num_kernels + j}"))  # fmt: skip
        self.conv_post = conv1d(1, 7, "conv_post")
        widths = [config.upsample_initial_channel] + [config.stage_channels(i) for i in range(len(self.upsampler))]
        self.conv_sizes = {self.conv_pre: config.model_in_dim, **dict(zip(self.upsampler, widths)),
                           self.conv_post: widths[-1]}  # each stage's input channels

    def input_sizes(self):
        return {**over_time(self.conv_sizes), **dict.fromkeys(self.resblocks)}

    def build(self, input_shape=None):
        if not self.built:
            size = (self.config.model_in_dim,)
            self.mean = self.add_weight(name="mean", shape=size, initializer="zeros", trainable=False)
            self.scale = self.add_weight(name="scale", shape=size, initializer="ones", trainable=False)
        super().build(input_shape)

    @classmethod
    def _from_config(cls, config, **kwargs):
        """transformers' initialisation: every convolution's kernel ~ N(0, initializer_range), biases 0 (the layers
        shared with VITS would otherwise keep their He / Glorot initialisers)."""
        model = super()._from_config(config, **kwargs)
        for variable in model.weights:
            leaf = variable.path.rsplit("/", 1)[-1]
            if leaf == "kernel":
                variable.assign(tf.random.normal(variable.shape, stddev=model.config.initializer_range))
            elif leaf == "bias":
                variable.assign(tf.zeros(variable.shape))
        return model

    def dummy_inputs(self) -> dict:
        return {"spectrogram": np.zeros((1, 2, self.config.model_in_dim), dtype=np.float32)}

    @property
    def input_signature(self) -> dict[str, tf.TensorSpec]:
        """Served: any batch and frame count."""
        return {"spectrogram": tf.TensorSpec([None, None, self.config.model_in_dim], tf.float32, name="spectrogram")}

    def serving_output(self, output) -> dict:
        return {"waveform": output}

    def call(self, spectrogram=None, training=False, **kwargs):
        """[batch, frames, model_in_dim] -> [batch, samples]; [frames, model_in_dim] -> [samples]."""
        c = self.config
        spectrogram = tf.convert_to_tensor(spectrogram, dtype=self.mean.dtype)
        if c.normalize_before:
            spectrogram = (spectrogram - self.mean) / self.scale
        batched = spectrogram.shape.rank == 3
        hidden = self.conv_pre(pad_time(spectrogram if batched else spectrogram[None], 3))
        for i, upsample in enumerate(self.upsampler):
            length = tf.shape(hidden)[1]
            hidden = upsample(tf.nn.leaky_relu(hidden, c.leaky_relu_slope))
            rate, crop = upsample.strides[0], self.crops[i]
            # PyTorch's ConvTranspose1d padding p drops p samples at each end of the full output
            hidden = hidden[:, crop : crop + (length - 1) * rate + upsample.kernel_size[0] - 2 * crop]
            blocks = self.resblocks[i * self.num_kernels : (i + 1) * self.num_kernels]
            hidden = tf.add_n([block(hidden) for block in blocks]) / self.num_kernels
        waveform = tf.tanh(self.conv_post(pad_time(tf.nn.leaky_relu(hidden, 0.01), 3)))[..., 0]
        return waveform if batched else tf.reshape(waveform, (-1,))
