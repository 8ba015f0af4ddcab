"""Swin2SR in Flax (transformers never had one; parameter names follow the PyTorch module names, so the shared
converter maps them; see autoload/backends/torch/models/swin2sr.py for what each class does). Channels-first
images in and out; the convolutions run NHWC inside, and a NHWC map read row by row is PyTorch's token order."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from autoload import outputs as out
from autoload.models.swin2sr import Swin2SRConfig, continuous_position_coords
from autoload.vision import bicubic_matrix, window_relative_position_index

from ..activations import get_activation
from ..blocks.dense_prediction import conv
from ..blocks.norms import LayerNorm
from ..blocks.vision import FlaxVisionPreTrainedModel, check_pixel_values, dense, nchw, nhwc
from .swin import shifted_window_mask, window_partition, window_reverse

_MAX_LOGIT_SCALE = math.log(1.0 / 0.01)


def conv3x3(config, features: int, name: str, dtype=jnp.float32):
    return conv(config, features, 3, name, padding=1, dtype=dtype)


def check_window_multiple(height: int, width: int, config: Swin2SRConfig) -> None:
    size = config.window_size
    if height % size or width % size:
        raise ValueError(
            f"Swin2SR needs an image whose height and width are multiples of window_size ({size}); got {height}x{width} "
            "(transformers 4.57.6 fails on others too). Swin2SRImageProcessor pads images (do_pad, size_divisor)."
        )


def stage_head_masks(head_mask, config: Swin2SRConfig):
    """One [1, heads, 1, 1] mask per stage, read by the stage's first layer (see the PyTorch function)."""
    stages = len(config.depths)
    if head_mask is None:
        return [None] * stages
    if any(depth > 1 for depth in config.depths):
        raise ValueError(
            "Swin2SR applies a head_mask only in stages of one layer (transformers 4.57.6 indexes each stage's mask "
            f"by layer and fails on the second); this config has depths {config.depths}."
        )
    head_mask = jnp.asarray(head_mask, jnp.float32)
    if head_mask.ndim == 1:
        head_mask = jnp.broadcast_to(head_mask[None], (stages, head_mask.shape[0]))
    return [head_mask[i][None, :, None, None] for i in range(stages)]


def l2_normalize(x):
    """PyTorch's F.normalize: x / max(||x||, 1e-12) over the last axis."""
    return x / jnp.maximum(jnp.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def as_tokens(x):
    return x.reshape(x.shape[0], x.shape[1] * x.shape[2], x.shape[3])


def pixel_shuffle_nhwc(x, factor: int):
    """PyTorch's PixelShuffle on NHWC maps (channels grouped as c * r * r like torch)."""
    batch, height, width, channels = x.shape
    channels //= factor * factor
    x = x.reshape(batch, height, width, channels, factor, factor).transpose(0, 1, 4, 2, 5, 3)
    return x.reshape(batch, height * factor, width * factor, channels)


def leaky_relu(x, slope: float = 0.01):
    return jax.nn.leaky_relu(x, slope)


def nearest_twice(x):
    return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


class FlaxSwin2SRPatchEmbeddings(nn.Module):
    config: Any
    normalize_patches: bool = True
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        c = self.config
        x = conv(c, c.embed_dim, c.patch_size, "projection", c.patch_size, dtype=self.dtype)(x)
        tokens = as_tokens(x)
        return LayerNorm(epsilon=1e-5, dtype=self.dtype, name="layernorm")(tokens) if self.normalize_patches else tokens


class FlaxSwin2SREmbeddings(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, deterministic=True):
        tokens = FlaxSwin2SRPatchEmbeddings(self.config, True, self.dtype, name="patch_embeddings")(x)
        return nn.Dropout(self.config.hidden_dropout_prob)(tokens, deterministic=deterministic)


class FlaxPositionBiasMLP(nn.Module):
    """`0` Linear(2, 512), ReLU, `2` Linear(512, heads, no bias)."""

    config: Any
    heads: int

    @nn.compact
    def __call__(self, x):
        return dense(self.config, self.heads, "2", False)(nn.relu(dense(self.config, 512, "0")(x)))


class FlaxSwin2SRSelfAttention(nn.Module):
    config: Any
    heads: int
    window: int
    dtype: Any = jnp.float32

    def _heads(self, x):
        return x.reshape(x.shape[0], x.shape[1], self.heads, -1).transpose(0, 2, 1, 3)

    @nn.compact
    def __call__(self, hidden, window_mask=None, head_mask=None, deterministic=True):
        c, heads = self.config, self.heads
        length, dim = hidden.shape[1], c.embed_dim
        logit_scale = self.param("logit_scale", nn.initializers.constant(math.log(10.0)), (heads, 1, 1))
        table = FlaxPositionBiasMLP(c, heads, name="continuous_position_bias_mlp")(
            jnp.asarray(continuous_position_coords(self.window)))
        q = self._heads(dense(c, dim, "query", c.qkv_bias, self.dtype)(hidden))
        k = self._heads(dense(c, dim, "key", False, self.dtype)(hidden))
        v = self._heads(dense(c, dim, "value", c.qkv_bias, self.dtype)(hidden))
        scores = l2_normalize(q) @ jnp.swapaxes(l2_normalize(k), -1, -2)
        scores = scores * jnp.exp(jnp.minimum(logit_scale, _MAX_LOGIT_SCALE))
        index = window_relative_position_index(self.window, self.window).reshape(-1)
        bias = table[index].reshape(length, length, -1).transpose(2, 0, 1)
        scores = scores + 16 * jax.nn.sigmoid(bias)[None]
        if window_mask is not None:  # transformers adds the shifted-window mask twice
            count = window_mask.shape[0]
            scores = scores.reshape(-1, count, heads, length, length) + 2 * window_mask[None, :, None]
            scores = scores.reshape(-1, heads, length, length)
        probs = nn.Dropout(c.attention_probs_dropout_prob)(jax.nn.softmax(scores, axis=-1), deterministic=deterministic)
        if head_mask is not None:
            probs = probs * head_mask
        context = (probs @ v).transpose(0, 2, 1, 3)
        return context.reshape(context.shape[0], length, -1), probs


class FlaxSwin2SRDenseDropout(nn.Module):
    config: Any
    width: int
    rate: float
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, deterministic=True):
        hidden = dense(self.config, self.width, "dense", dtype=self.dtype)(hidden)
        return nn.Dropout(self.rate)(hidden, deterministic=deterministic)


class FlaxSwin2SRAttention(nn.Module):
    config: Any
    heads: int
    window: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, window_mask=None, head_mask=None, deterministic=True):
        c = self.config
        context, probs = FlaxSwin2SRSelfAttention(c, self.heads, self.window, self.dtype, name="self")(
            hidden, window_mask, head_mask, deterministic)
        output = FlaxSwin2SRDenseDropout(c, c.embed_dim, c.attention_probs_dropout_prob, self.dtype, name="output")
        return output(context, deterministic), probs


class FlaxSwin2SRIntermediate(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden):
        c = self.config
        return get_activation(c.hidden_act)(dense(c, int(c.mlp_ratio * c.embed_dim), "dense", dtype=self.dtype)(hidden))


class FlaxSwin2SRLayer(nn.Module):
    config: Any
    heads: int
    shift: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, grid, head_mask=None, deterministic=True):
        c = self.config
        size, shift = c.swin2sr_options().window, self.shift
        height, width = grid
        batch, _, channels = hidden.shape
        x = hidden.reshape(batch, height, width, channels)
        x = jnp.pad(x, ((0, 0), (0, (-height) % size), (0, (-width) % size), (0, 0)))
        padded_h, padded_w = x.shape[1:3]
        if shift:
            x = jnp.roll(x, (-shift, -shift), axis=(1, 2))
        mask = jnp.asarray(shifted_window_mask(padded_h, padded_w, size, shift)) if shift else None
        windows = window_partition(x, size).reshape(-1, size * size, channels)
        attended, probs = FlaxSwin2SRAttention(c, self.heads, size, self.dtype, name="attention")(
            windows, mask, head_mask, deterministic)
        x = window_reverse(attended.reshape(-1, size, size, channels), size, padded_h, padded_w)
        if shift:
            x = jnp.roll(x, (shift, shift), axis=(1, 2))
        x = x[:, :height, :width].reshape(batch, height * width, channels)
        eps = c.layer_norm_eps
        hidden = hidden + LayerNorm(epsilon=eps, dtype=self.dtype, name="layernorm_before")(x)
        mlp = FlaxSwin2SRIntermediate(c, self.dtype, name="intermediate")(hidden)
        mlp = FlaxSwin2SRDenseDropout(c, c.embed_dim, c.hidden_dropout_prob, self.dtype, name="output")(mlp, deterministic)
        return hidden + LayerNorm(epsilon=eps, dtype=self.dtype, name="layernorm_after")(mlp), probs


class FlaxResidualConvs(nn.Module):
    """resi_connection "3conv": `0` 3x3 to dim/4, LeakyReLU(0.2), `2` 1x1, LeakyReLU(0.2), `4` 3x3 back to dim."""

    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        c = self.config
        dim = c.embed_dim
        x = leaky_relu(conv3x3(c, dim // 4, "0", self.dtype)(x), 0.2)
        x = leaky_relu(conv(c, dim // 4, 1, "2", dtype=self.dtype)(x), 0.2)
        return conv3x3(c, dim, "4", self.dtype)(x)


class FlaxSwin2SRStage(nn.Module):
    config: Any
    depth: int
    heads: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, grid, head_mask=None, deterministic=True):
        c = self.config
        shift = c.swin2sr_options().shift
        residual, probs = hidden, None
        for i in range(self.depth):
            layer = FlaxSwin2SRLayer(c, self.heads, 0 if i % 2 == 0 else shift, self.dtype, name=f"layers.{i}")
            hidden, probs = layer(hidden, grid, head_mask if i == 0 else None, deterministic)
        x = hidden.reshape(hidden.shape[0], *grid, hidden.shape[-1])
        if c.resi_connection == "1conv":
            x = conv3x3(c, c.embed_dim, "conv", self.dtype)(x)
        else:
            x = FlaxResidualConvs(c, self.dtype, name="conv")(x)
        return FlaxSwin2SRPatchEmbeddings(c, False, self.dtype, name="patch_embed")(x) + residual, probs


class FlaxSwin2SREncoder(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, grid, head_masks, deterministic=True):
        c = self.config
        states, attentions = (hidden,), ()
        for i, (depth, heads) in enumerate(zip(c.depths, c.num_heads)):
            stage = FlaxSwin2SRStage(c, depth, heads, self.dtype, name=f"stages.{i}")
            hidden, probs = stage(hidden, grid, head_masks[i], deterministic)
            states += (hidden,)
            attentions += (probs,)
        return hidden, states, attentions


class FlaxSwin2SRModule(nn.Module):
    config: Swin2SRConfig
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, pixel_values, head_mask=None, deterministic=True, output_attentions=False,
                 output_hidden_states=False, return_dict=True, **kwargs):  # fmt: skip
        c = self.config
        check_pixel_values(pixel_values, c.num_channels)
        height, width = pixel_values.shape[-2:]
        check_window_multiple(height, width, c)
        mean = jnp.asarray(c.swin2sr_options().mean, jnp.float32)
        x = (nhwc(pixel_values) - mean) * c.img_range
        shallow = conv3x3(c, c.embed_dim, "first_convolution", self.dtype)(x)
        hidden = FlaxSwin2SREmbeddings(c, self.dtype, name="embeddings")(shallow, deterministic)
        hidden, states, attentions = FlaxSwin2SREncoder(c, self.dtype, name="encoder")(
            hidden, (height, width), stage_head_masks(head_mask, c), deterministic)
        hidden = LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype, name="layernorm")(hidden)
        hidden = hidden.reshape(hidden.shape[0], height, width, hidden.shape[-1])
        deep = conv3x3(c, c.embed_dim, "conv_after_body", self.dtype)(hidden) + shallow
        result = out.BaseModelOutput(last_hidden_state=nchw(deep), hidden_states=states if output_hidden_states else None,
                                     attentions=attentions if output_attentions else None)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxUpsample(nn.Module):
    """Pixel-shuffle steps: `convolution_<i>` (x4) + shuffle by 2 per factor of 2, or `convolution` (x9) + shuffle
    by 3."""

    config: Any
    features: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        c, f = self.config, self.features
        steps = c.swin2sr_options().upsample_steps
        if steps == ("x3",):
            return pixel_shuffle_nhwc(conv3x3(c, 9 * f, "convolution", self.dtype)(x), 3)
        for i in range(len(steps)):
            x = pixel_shuffle_nhwc(conv3x3(c, 4 * f, f"convolution_{i}", self.dtype)(x), 2)
        return x


class FlaxUpsampleOneStep(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        c = self.config
        return pixel_shuffle_nhwc(conv3x3(c, c.upscale**2 * c.num_channels_out, "conv", self.dtype)(x), c.upscale)


class FlaxPixelShuffleUpsampler(nn.Module):
    config: Any
    dtype: Any = jnp.float32
    features: int = 64

    @nn.compact
    def __call__(self, x):
        c, f = self.config, self.features
        x = leaky_relu(conv3x3(c, f, "conv_before_upsample", self.dtype)(x))
        x = FlaxUpsample(c, f, self.dtype, name="upsample")(x)
        return conv3x3(c, c.num_channels_out, "final_convolution", self.dtype)(x)


class FlaxNearestConvUpsampler(nn.Module):
    config: Any
    dtype: Any = jnp.float32
    features: int = 64

    @nn.compact
    def __call__(self, x):
        c, f = self.config, self.features
        x = leaky_relu(conv3x3(c, f, "conv_before_upsample", self.dtype)(x))
        x = leaky_relu(conv3x3(c, f, "conv_up1", self.dtype)(nearest_twice(x)), 0.2)
        x = leaky_relu(conv3x3(c, f, "conv_up2", self.dtype)(nearest_twice(x)), 0.2)
        x = leaky_relu(conv3x3(c, f, "conv_hr", self.dtype)(x), 0.2)
        return conv3x3(c, c.num_channels_out, "final_convolution", self.dtype)(x)


class FlaxConvLeakyReLU(nn.Module):
    """`0` 3x3 conv, then LeakyReLU (slope 0.01): PyTorch's Sequential(Conv2d, LeakyReLU)."""

    config: Any
    features: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        return leaky_relu(conv3x3(self.config, self.features, "0", self.dtype)(x))


class FlaxPixelShuffleAuxUpsampler(nn.Module):
    config: Any
    dtype: Any = jnp.float32
    features: int = 64

    @nn.compact
    def __call__(self, x, bicubic, height: int, width: int):
        c, f = self.config, self.features
        bicubic = conv3x3(c, f, "conv_bicubic", self.dtype)(bicubic)
        x = leaky_relu(conv3x3(c, f, "conv_before_upsample", self.dtype)(x))
        x = FlaxConvLeakyReLU(c, f, self.dtype, name="conv_after_aux")(conv3x3(c, c.num_channels, "conv_aux", self.dtype)(x))
        rows, cols = height * c.upscale, width * c.upscale
        x = FlaxUpsample(c, f, self.dtype, name="upsample")(x)[:, :rows, :cols] + bicubic[:, :rows, :cols]
        return conv3x3(c, c.num_channels_out, "final_convolution", self.dtype)(x)


_UPSAMPLERS = {"pixelshuffle": FlaxPixelShuffleUpsampler, "pixelshuffle_aux": FlaxPixelShuffleAuxUpsampler,
               "pixelshuffledirect": FlaxUpsampleOneStep, "nearest+conv": FlaxNearestConvUpsampler}  # fmt: skip


class FlaxSwin2SRForImageSuperResolutionModule(nn.Module):
    config: Swin2SRConfig
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, pixel_values, head_mask=None, labels=None, deterministic=True, output_attentions=False,
                 output_hidden_states=False, return_dict=True, **kwargs):  # fmt: skip
        c = self.config
        if labels is not None:
            raise NotImplementedError("Training is not supported at the moment")
        encoded = FlaxSwin2SRModule(c, self.dtype, name="swin2sr")(
            pixel_values, head_mask, deterministic, output_attentions, output_hidden_states)
        height, width = pixel_values.shape[-2:]
        hidden = nhwc(encoded.last_hidden_state)
        upsampler = c.swin2sr_options().upsampler
        if upsampler == "pixelshuffle_aux":
            rows, cols = height * c.upscale, width * c.upscale
            bicubic = jnp.einsum("rh,bhwc,sw->brsc", bicubic_matrix(height, rows), nhwc(pixel_values),
                                 bicubic_matrix(width, cols))  # fmt: skip
            reconstruction = FlaxPixelShuffleAuxUpsampler(c, self.dtype, name="upsample")(hidden, bicubic, height, width)
        elif upsampler == "residual":
            reconstruction = nhwc(pixel_values) + conv3x3(c, c.num_channels_out, "final_convolution", self.dtype)(hidden)
        else:
            reconstruction = _UPSAMPLERS[upsampler](c, self.dtype, name="upsample")(hidden)
        mean = jnp.asarray(c.swin2sr_options().mean, jnp.float32)
        reconstruction = reconstruction / c.img_range + mean
        reconstruction = nchw(reconstruction[:, : height * c.upscale, : width * c.upscale])
        result = out.ImageSuperResolutionOutput(reconstruction=reconstruction, hidden_states=encoded.hidden_states,
                                                attentions=encoded.attentions)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxSwin2SRPreTrainedModel(FlaxVisionPreTrainedModel):
    config_class = Swin2SRConfig
    base_model_prefix = "swin2sr"

    def __init__(self, config, *args, **kwargs):
        config.swin2sr_options()
        super().__init__(config, *args, **kwargs)

    def dummy_inputs(self) -> dict:
        size = self.config.window_size
        return {"pixel_values": np.zeros((1, self.config.num_channels, size, size), np.float32)}


class FlaxSwin2SRModel(FlaxSwin2SRPreTrainedModel):
    module_class = FlaxSwin2SRModule


class FlaxSwin2SRForImageSuperResolution(FlaxSwin2SRPreTrainedModel):
    module_class = FlaxSwin2SRForImageSuperResolutionModule
