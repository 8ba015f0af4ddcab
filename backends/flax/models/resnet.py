"""ResNet in Flax (channels-first in and out, like the PyTorch model; BatchNorm statistics in batch_stats)."""

from __future__ import annotations

import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload.models.resnet import ResNetConfig

from ..activations import get_activation
from ..blocks.vision import FlaxVisionPreTrainedModel, check_pixel_values, dense, nchw
from ..heads import FlaxImageClassificationModel, ImageClassificationModule


class FlaxResNetConvLayer(nn.Module):
    out_channels: int
    kernel_size: int = 3
    stride: int = 1
    activation: str | None = "relu"
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        k = self.kernel_size
        self.convolution = nn.Conv(self.out_channels, (k, k), strides=self.stride, padding=[(k // 2, k // 2)] * 2,
                                   use_bias=False, dtype=self.dtype)  # fmt: skip
        self.normalization = nn.BatchNorm(use_running_average=True, momentum=0.9, epsilon=1e-5, dtype=self.dtype)

    def __call__(self, x):
        x = self.normalization(self.convolution(x))
        return get_activation(self.activation)(x) if self.activation else x


class FlaxResNetShortCut(nn.Module):
    out_channels: int
    stride: int = 2
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.convolution = nn.Conv(self.out_channels, (1, 1), strides=self.stride, use_bias=False, dtype=self.dtype)
        self.normalization = nn.BatchNorm(use_running_average=True, momentum=0.9, epsilon=1e-5, dtype=self.dtype)

    def __call__(self, x):
        return self.normalization(self.convolution(x))


class FlaxResNetLayerStack(nn.Module):
    """A block's convolutions under `layer/0`, `layer/1` … as PyTorch's nn.Sequential names them."""

    config: ResNetConfig
    out_channels: int
    stride: int
    bottleneck: bool
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x):
        out_ch, act, stride = self.out_channels, self.config.block_conv_activation, self.stride
        if self.bottleneck:
            reduced, down = out_ch // 4, self.config.downsample_in_bottleneck
            specs = [(reduced, 1, stride if down else 1, act), (reduced, 3, 1 if down else stride, act), (out_ch, 1, 1, None)]
        else:
            specs = [(out_ch, 3, stride, act), (out_ch, 3, 1, None)]
        for i, (channels, kernel, step, activation) in enumerate(specs):
            x = FlaxResNetConvLayer(channels, kernel, step, activation, self.dtype, name=str(i))(x)
        return x


class FlaxResNetBlock(nn.Module):
    config: ResNetConfig
    in_channels: int
    out_channels: int
    stride: int = 1
    bottleneck: bool = True
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x):
        residual = x
        if self.in_channels != self.out_channels or self.stride != 1:
            residual = FlaxResNetShortCut(self.out_channels, self.stride, self.dtype, name="shortcut")(x)
        hidden = FlaxResNetLayerStack(self.config, self.out_channels, self.stride, self.bottleneck, self.dtype,
                                      name="layer")(x)  # fmt: skip
        return get_activation(self.config.hidden_act)(hidden + residual)


class FlaxResNetStageLayers(nn.Module):
    config: ResNetConfig
    index: int
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, hidden):
        c, i = self.config, self.index
        widths = [c.embedding_size] + c.hidden_sizes
        stride = (2 if c.downsample_in_first_stage else 1) if i == 0 else 2
        for j in range(c.depths[i]):
            hidden = FlaxResNetBlock(c, widths[i] if j == 0 else widths[i + 1], widths[i + 1], stride if j == 0 else 1,
                                     c.layer_type == "bottleneck", self.dtype, name=str(j))(hidden)  # fmt: skip
        return hidden


class FlaxResNetStage(nn.Module):
    config: ResNetConfig
    index: int
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, hidden):
        return FlaxResNetStageLayers(self.config, self.index, self.dtype, name="layers")(hidden)


class FlaxResNetStages(nn.Module):
    config: ResNetConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, hidden):
        states = (hidden,)
        for i in range(len(self.config.depths)):
            hidden = FlaxResNetStage(self.config, i, self.dtype, name=str(i))(hidden)
            states += (hidden,)
        return states


class FlaxResNetEncoder(nn.Module):
    config: ResNetConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, hidden):
        """The stem output and every stage's output (channels-last here)."""
        return FlaxResNetStages(self.config, self.dtype, name="stages")(hidden)


class FlaxResNetEmbeddings(nn.Module):
    config: ResNetConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        c = self.config
        self.embedder = FlaxResNetConvLayer(c.embedding_size, 7, 2, c.hidden_act, self.dtype)

    def __call__(self, pixel_values):
        check_pixel_values(pixel_values, self.config.num_channels)
        x = self.embedder(jnp.transpose(pixel_values, (0, 2, 3, 1)).astype(self.dtype))
        return nn.max_pool(x, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))


class FlaxResNetModule(nn.Module):
    config: ResNetConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.embedder = FlaxResNetEmbeddings(self.config, dtype=self.dtype)
        self.encoder = FlaxResNetEncoder(self.config, dtype=self.dtype)

    def __call__(self, pixel_values, deterministic=True, output_hidden_states=False, return_dict=True, **kwargs):
        states = self.encoder(self.embedder(pixel_values))
        last = states[-1]
        result = out.BaseModelOutputWithPoolingAndNoAttention(
            last_hidden_state=nchw(last), pooler_output=jnp.mean(last, axis=(1, 2))[:, :, None, None],
            hidden_states=tuple(nchw(s) for s in states) if output_hidden_states else None,
        )  # fmt: skip
        return out.finish(result, return_dict)


class FlaxResNetBackboneModule(nn.Module):
    config: ResNetConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.embedder = FlaxResNetEmbeddings(self.config, dtype=self.dtype)
        self.encoder = FlaxResNetEncoder(self.config, dtype=self.dtype)

    def __call__(self, pixel_values, deterministic=True, output_hidden_states=False, return_dict=True, **kwargs):
        states = tuple(nchw(s) for s in self.encoder(self.embedder(pixel_values)))
        result = out.BackboneOutput(feature_maps=tuple(states[i] for i in self.config.out_indices),
                                    hidden_states=states if output_hidden_states else None)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxResNetPreTrainedModel(FlaxVisionPreTrainedModel):
    config_class = ResNetConfig
    base_model_prefix = "resnet"
    base_module = FlaxResNetModule


class FlaxResNetModel(FlaxResNetPreTrainedModel):
    module_class = FlaxResNetModule


class FlaxResNetClassifier(nn.Module):
    """Kept as `classifier/1` to match the PyTorch Sequential(Flatten, Linear) names."""

    config: ResNetConfig
    num_labels: int
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, pooled):
        return dense(self.config, self.num_labels, "1", dtype=self.dtype)(pooled)


class FlaxResNetForImageClassificationModule(ImageClassificationModule):
    output_class = out.ImageClassifierOutputWithNoAttention

    def output_layer(self, features, out_features: int, deterministic=True):
        flat = features.reshape(features.shape[0], -1)
        if out_features == 0:
            return flat
        return FlaxResNetClassifier(self.config, out_features, self.dtype, name=self.spec.attr)(flat)


class FlaxResNetForImageClassification(FlaxImageClassificationModel, FlaxResNetPreTrainedModel):
    module_class = FlaxResNetForImageClassificationModule


class FlaxResNetBackbone(FlaxResNetPreTrainedModel):
    module_class = FlaxResNetBackboneModule
