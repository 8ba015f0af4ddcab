"""Dense-prediction blocks in Flax (linen), named as the PyTorch checkpoints name them (see
autoload/backends/torch/blocks/dense_prediction.py). Maps are NHWC inside."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from flax import linen as nn

from autoload.vision import bilinear_matrix

from ..activations import get_activation
from .vision import batch_norm, dense, nchw, nhwc, normal, resize_maps_nhwc


def conv(config, features: int, kernel_size: int, name: str, stride: int = 1, padding: int = 0, use_bias: bool = True,
         groups: int = 1, dtype=jnp.float32) -> nn.Conv:  # fmt: skip
    """PyTorch's Conv2d (symmetric zero padding) on NHWC maps."""
    return nn.Conv(features, (kernel_size, kernel_size), strides=(stride, stride), padding=[(padding, padding)] * 2,
                   use_bias=use_bias, feature_group_count=groups, kernel_init=normal(config), dtype=dtype,
                   name=name)  # fmt: skip


class DepthwiseConv(nn.Module):
    """A depthwise convolution (kernel [k, k, 1, channels], PyTorch's [channels, 1, k, k])."""

    config: Any
    channels: int
    kernel_size: int = 3
    padding: int = 1
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        return conv(self.config, self.channels, self.kernel_size, "dwconv", padding=self.padding, groups=self.channels,
                    dtype=self.dtype)(x)  # fmt: skip


def semantic_loss(logits_nchw, labels, config):
    """Cross-entropy of the logits resized to the labels, ignoring semantic_loss_ignore_index (the mean over the
    other pixels); with one label, binary cross-entropy averaged over every pixel, the ignored ones counted as 0."""
    labels = jnp.asarray(labels)
    logits = resize_maps_nhwc(nhwc(logits_nchw), labels.shape[-2:])
    if config.num_labels > 1:
        keep = labels != config.semantic_loss_ignore_index
        log_probs = jax.nn.log_softmax(logits, axis=-1)
        picked = jnp.take_along_axis(log_probs, jnp.where(keep, labels, 0)[..., None].astype(jnp.int32), axis=-1)
        return -(picked[..., 0] * keep).sum() / keep.sum()
    valid = ((labels >= 0) & (labels != config.semantic_loss_ignore_index)).astype(logits.dtype)
    logits, targets = logits[..., 0], labels.astype(logits.dtype)
    losses = jnp.maximum(logits, 0) - logits * targets + jnp.log1p(jnp.exp(-jnp.abs(logits)))
    return (losses * valid).mean()


# -- DPT's neck and heads ----------------------------------------------------------------------------------------
def upsample_twice(x, align_corners: bool = True):
    """PyTorch's bilinear interpolate(scale_factor=2) of NHWC maps."""
    height, width = x.shape[1:3]
    return jnp.einsum("rh,bhwc,sw->brsc", bilinear_matrix(height, 2 * height, align_corners), x,
                      bilinear_matrix(width, 2 * width, align_corners))  # fmt: skip


def tokens_to_square_map(tokens):
    """[batch, n, channels] -> NHWC [batch, side, side, channels] for a square grid of n tokens."""
    side = math.isqrt(tokens.shape[1])
    if side * side != tokens.shape[1]:
        raise ValueError(
            f"DPT reassembles {tokens.shape[1]} patch tokens into a square map, so the patch grid must be square "
            "(transformers 4.57.6 reshapes by the square root too); use a square image."
        )
    return tokens.reshape(tokens.shape[0], side, side, tokens.shape[-1])


class TransposedConvBlocks(nn.Module):
    """PyTorch's ConvTranspose2d with kernel_size == stride == k, its kernel as [k, k, out, in]."""

    config: Any
    channels: int
    factor: int

    @nn.compact
    def __call__(self, x):
        k = self.factor
        kernel = self.param("kernel", normal(self.config), (k, k, self.channels, self.channels))
        bias = self.param("bias", nn.initializers.zeros, (self.channels,))
        blocks = jnp.einsum("bhwi,rsoi->bhrwso", x, kernel)
        batch, height, width = x.shape[:3]
        return blocks.reshape(batch, height * k, width * k, self.channels) + bias


class ReassembleLayer(nn.Module):
    config: Any
    channels: int
    factor: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        c, f = self.config, self.factor
        x = conv(c, self.channels, 1, "projection", dtype=self.dtype)(x)
        if f > 1:
            return TransposedConvBlocks(c, self.channels, f, name="resize")(x)
        if f < 0:
            return conv(c, self.channels, 3, "resize", stride=-f, padding=1, dtype=self.dtype)(x)
        return x


class ReadoutProject(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        c = self.config
        return get_activation(c.hidden_act)(dense(c, c.hidden_size, "0", dtype=self.dtype)(x))


class ReassembleStage(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden_states):
        c = self.config
        factors = c.dpt_options().factors
        maps = []
        for i, hidden in enumerate(hidden_states):
            cls_token, tokens = hidden[:, :1], hidden[:, 1:]
            if c.readout_type == "project":
                readout = jnp.broadcast_to(cls_token, tokens.shape)
                tokens = ReadoutProject(c, self.dtype, name=f"readout_projects.{i}")(
                    jnp.concatenate([tokens, readout], axis=-1))
            elif c.readout_type == "add":
                tokens = tokens + cls_token
            layer = ReassembleLayer(c, c.neck_hidden_sizes[i], factors[i], self.dtype, name=f"layers.{i}")
            maps.append(layer(tokens_to_square_map(tokens)))
        return maps


class PreActResidualLayer(nn.Module):
    config: Any
    bias: bool
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        c = self.config
        width, norm = c.fusion_hidden_size, c.use_batch_norm_in_fusion_residual
        hidden = conv(c, width, 3, "convolution1", padding=1, use_bias=self.bias, dtype=self.dtype)(nn.relu(x))
        if norm:
            hidden = batch_norm("batch_norm1", dtype=self.dtype)(hidden)
        hidden = conv(c, width, 3, "convolution2", padding=1, use_bias=self.bias, dtype=self.dtype)(nn.relu(hidden))
        if norm:
            hidden = batch_norm("batch_norm2", dtype=self.dtype)(hidden)
        return hidden + x


class FeatureFusionLayer(nn.Module):
    config: Any
    bias: bool
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, residual=None):
        c = self.config
        unit = PreActResidualLayer(c, self.bias, self.dtype, name="residual_layer1")
        if residual is not None:
            if hidden.shape[1:3] != residual.shape[1:3]:
                residual = resize_maps_nhwc(residual, hidden.shape[1:3])
            hidden = hidden + unit(residual)
        elif self.is_initializing():
            unit(hidden)  # the deepest level has no skip map, but the checkpoint has this unit
        hidden = PreActResidualLayer(c, self.bias, self.dtype, name="residual_layer2")(hidden)
        return conv(c, c.fusion_hidden_size, 1, "projection", dtype=self.dtype)(upsample_twice(hidden))


class FusionStage(nn.Module):
    config: Any
    bias: bool
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, maps):
        fused, outputs = None, []
        for i, hidden in enumerate(maps[::-1]):
            layer = FeatureFusionLayer(self.config, self.bias, self.dtype, name=f"layers.{i}")
            fused = layer(hidden) if fused is None else layer(fused, hidden)
            outputs.append(fused)
        return outputs


class DPTNeck(nn.Module):
    """reassemble_stage -> `convs.<i>` (3x3 to fusion_hidden_size) -> fusion_stage; NHWC maps out, coarse to fine."""

    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden_states):
        c = self.config
        maps = ReassembleStage(c, self.dtype, name="reassemble_stage")(hidden_states)
        maps = [conv(c, c.fusion_hidden_size, 3, f"convs.{i}", padding=1, use_bias=False, dtype=self.dtype)(m)
                for i, m in enumerate(maps)]  # fmt: skip
        return FusionStage(c, c.dpt_options().fusion_bias, self.dtype, name="fusion_stage")(maps)


class DepthConvs(nn.Module):
    """`0` conv to half width, x2 upsample, `2` conv to 32, ReLU, `4` conv to 1, ReLU (an nn.Sequential in PyTorch)."""

    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        c = self.config
        hidden = upsample_twice(conv(c, c.fusion_hidden_size // 2, 3, "0", padding=1, dtype=self.dtype)(x))
        hidden = nn.relu(conv(c, 32, 3, "2", padding=1, dtype=self.dtype)(hidden))
        return nn.relu(conv(c, 1, 1, "4", dtype=self.dtype)(hidden))


class DepthEstimationHead(nn.Module):
    """(`projection` + ReLU,) then `head`; the depth map [batch, height, width]."""

    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, maps):
        c = self.config
        hidden = maps[c.head_in_index]
        if c.add_projection:
            hidden = nn.relu(conv(c, 256, 3, "projection", padding=1, dtype=self.dtype)(hidden))
        return DepthConvs(c, self.dtype, name="head")(hidden)[..., 0]


class ConvBatchNormClassifier(nn.Module):
    """`0` 3x3 conv (no bias), `1` BatchNorm, ReLU, dropout, `4` 1x1 classifier; channels-first logits out, upsampled
    x2 (align_corners) for the main head."""

    config: Any
    rate: float
    upsample: bool
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, deterministic=True):
        c = self.config
        hidden = conv(c, c.fusion_hidden_size, 3, "0", padding=1, use_bias=False, dtype=self.dtype)(x)
        hidden = nn.Dropout(self.rate)(nn.relu(batch_norm("1", dtype=self.dtype)(hidden)), deterministic=deterministic)
        logits = conv(c, c.num_labels, 1, "4", dtype=self.dtype)(hidden)
        return nchw(upsample_twice(logits) if self.upsample else logits)


class SemanticSegmentationHead(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, maps, deterministic=True):
        c = self.config
        head = ConvBatchNormClassifier(c, c.semantic_classifier_dropout, True, self.dtype, name="head")
        return head(maps[c.head_in_index], deterministic)


class AuxiliaryHead(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, deterministic=True):
        return ConvBatchNormClassifier(self.config, 0.1, False, self.dtype, name="head")(x, deterministic)
