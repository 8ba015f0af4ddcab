"""ConvNeXt in Flax (transformers had none; parameter names follow the PyTorch module names, so the
shared converter maps them). Channels-first in and out like the PyTorch model."""

from __future__ import annotations

import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload.models.convnext import ConvNextConfig

from ..activations import get_activation
from ..blocks.norms import LayerNorm
from ..blocks.vision import FlaxVisionPreTrainedModel, check_pixel_values, nchw
from ..heads import FlaxImageClassificationModel, ImageClassificationModule


class FlaxChannelNorm(nn.Module):
    """LayerNorm over channels with PyTorch-style parameter names (weight, bias) and eps 1e-6."""

    eps: float = 1e-6

    @nn.compact
    def __call__(self, x):
        weight = self.param("weight", nn.initializers.ones, (x.shape[-1],))
        bias = self.param("bias", nn.initializers.zeros, (x.shape[-1],))
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / jnp.sqrt(var + self.eps) * weight + bias


class FlaxConvNextEmbeddings(nn.Module):
    config: ConvNextConfig

    @nn.compact
    def __call__(self, pixel_values):
        c = self.config
        check_pixel_values(pixel_values, c.num_channels)
        p = c.patch_size
        x = nn.Conv(c.hidden_sizes[0], (p, p), strides=(p, p), padding="VALID", name="patch_embeddings")(
            jnp.transpose(pixel_values, (0, 2, 3, 1))
        )
        return FlaxChannelNorm(name="layernorm")(x)


class FlaxConvNextLayer(nn.Module):
    config: ConvNextConfig
    dim: int

    @nn.compact
    def __call__(self, x):
        c, dim = self.config, self.dim
        y = nn.Conv(dim, (7, 7), padding=[(3, 3), (3, 3)], feature_group_count=dim, name="dwconv")(x)
        y = LayerNorm(epsilon=1e-6, name="layernorm")(y)
        y = nn.Dense(4 * dim, name="pwconv1")(y)
        y = nn.Dense(dim, name="pwconv2")(get_activation(c.hidden_act)(y))
        if c.layer_scale_init_value > 0:
            scale = self.param("layer_scale_parameter", nn.initializers.constant(c.layer_scale_init_value), (dim,))
            y = scale * y
        return x + y


class FlaxConvNextDownsampling(nn.Module):
    out_channels: int
    stride: int

    @nn.compact
    def __call__(self, x):
        x = FlaxChannelNorm(name="0")(x)
        return nn.Conv(self.out_channels, (self.stride, self.stride), strides=(self.stride, self.stride),
                       padding="VALID", name="1")(x)  # fmt: skip


class FlaxConvNextLayers(nn.Module):
    config: ConvNextConfig
    dim: int
    depth: int

    @nn.compact
    def __call__(self, x):
        for j in range(self.depth):
            x = FlaxConvNextLayer(self.config, self.dim, name=str(j))(x)
        return x


class FlaxConvNextStage(nn.Module):
    config: ConvNextConfig
    index: int

    @nn.compact
    def __call__(self, x):
        c, i = self.config, self.index
        previous = c.hidden_sizes[i - 1] if i > 0 else c.hidden_sizes[0]
        stride = 2 if i > 0 else 1
        if previous != c.hidden_sizes[i] or stride > 1:
            x = FlaxConvNextDownsampling(c.hidden_sizes[i], stride, name="downsampling_layer")(x)
        return FlaxConvNextLayers(c, c.hidden_sizes[i], c.depths[i], name="layers")(x)


class FlaxConvNextStages(nn.Module):
    config: ConvNextConfig

    @nn.compact
    def __call__(self, x):
        states = (x,)
        for i in range(len(self.config.depths)):
            x = FlaxConvNextStage(self.config, i, name=str(i))(x)
            states += (x,)
        return states


class FlaxConvNextEncoder(nn.Module):
    config: ConvNextConfig

    @nn.compact
    def __call__(self, x):
        return FlaxConvNextStages(self.config, name="stages")(x)


class FlaxConvNextModule(nn.Module):
    config: ConvNextConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, pixel_values, deterministic=True, output_hidden_states=False, return_dict=True, **kwargs):
        c = self.config
        states = FlaxConvNextEncoder(c, name="encoder")(FlaxConvNextEmbeddings(c, name="embeddings")(pixel_values))
        pooled = LayerNorm(epsilon=c.layer_norm_eps, name="layernorm")(states[-1].mean(axis=(1, 2)))
        result = out.BaseModelOutputWithPoolingAndNoAttention(
            last_hidden_state=nchw(states[-1]), pooler_output=pooled,
            hidden_states=tuple(nchw(s) for s in states) if output_hidden_states else None,
        )  # fmt: skip
        return out.finish(result, return_dict)


class FlaxConvNextBackboneModule(nn.Module):
    config: ConvNextConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, pixel_values, deterministic=True, output_hidden_states=False, return_dict=True, **kwargs):
        c = self.config
        states = FlaxConvNextEncoder(c, name="encoder")(FlaxConvNextEmbeddings(c, name="embeddings")(pixel_values))
        norms = FlaxStageNorms(tuple(c.out_features), name="hidden_states_norms")
        maps = tuple(nchw(m) for m in norms([states[i] for i in c.out_indices]))
        result = out.BackboneOutput(feature_maps=maps,
                                    hidden_states=tuple(nchw(s) for s in states) if output_hidden_states else None)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxStageNorms(nn.Module):
    stages: tuple

    @nn.compact
    def __call__(self, maps):
        return [FlaxChannelNorm(name=stage)(m) for stage, m in zip(self.stages, maps)]


class FlaxConvNextPreTrainedModel(FlaxVisionPreTrainedModel):
    config_class = ConvNextConfig
    base_model_prefix = "convnext"
    base_module = FlaxConvNextModule

    def dummy_inputs(self) -> dict:
        return {"pixel_values": jnp.zeros((1, self.config.num_channels, 32, 32), jnp.float32)}


class FlaxConvNextModel(FlaxConvNextPreTrainedModel):
    module_class = FlaxConvNextModule


class FlaxConvNextForImageClassificationModule(ImageClassificationModule):
    output_class = out.ImageClassifierOutputWithNoAttention


class FlaxConvNextForImageClassification(FlaxImageClassificationModel, FlaxConvNextPreTrainedModel):
    module_class = FlaxConvNextForImageClassificationModule


class FlaxConvNextBackbone(FlaxConvNextPreTrainedModel):
    module_class = FlaxConvNextBackboneModule
