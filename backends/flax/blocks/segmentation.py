"""Semantic-segmentation blocks in Flax (linen), named as the PyTorch checkpoints name them (see
autoload/backends/torch/blocks/segmentation.py). Maps are NHWC inside."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import linen as nn

from autoload.vision import adaptive_pool_matrix

from .vision import ConvBatchNormReLU, batch_norm, nchw, nhwc, normal, resize_maps_nhwc


class PyramidPoolingBlock(nn.Module):
    """Adaptive average pooling (`0` in PyTorch, no weights), then `1`: conv/BN/ReLU."""

    scale: int
    channels: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        height, width = x.shape[1:3]
        pooled = jnp.einsum("rh,bhwc,sw->brsc", adaptive_pool_matrix(height, self.scale), x,
                            adaptive_pool_matrix(width, self.scale))  # fmt: skip
        return ConvBatchNormReLU(self.channels, 1, dtype=self.dtype, name="1")(pooled)


class PyramidPoolingModule(nn.Module):
    scales: tuple
    channels: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        return [resize_maps_nhwc(PyramidPoolingBlock(scale, self.channels, self.dtype, name=str(i))(x), x.shape[1:3])
                for i, scale in enumerate(self.scales)]  # fmt: skip


class ConvList(nn.Module):
    """conv/BN/ReLU blocks `0`, `1`, … (a PyTorch ModuleList or Sequential), applied one per input or in turn."""

    channels: int
    count: int
    kernel_size: int
    padding: int = 0
    dilation: int = 1
    dtype: Any = jnp.float32

    def block(self, i: int):
        return ConvBatchNormReLU(self.channels, self.kernel_size, self.padding, self.dilation, self.dtype, name=str(i))

    @nn.compact
    def __call__(self, inputs, chain: bool = False):
        if chain:
            for i in range(self.count):
                inputs = self.block(i)(inputs)
            return inputs
        return [self.block(i)(x) for i, x in enumerate(inputs)]


class UperHead(nn.Module):
    config: Any
    channels: int
    levels: int = 4
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, features):
        c, ch = self.config, self.channels
        top = features[-1]
        pooled = PyramidPoolingModule(tuple(c.pool_scales), ch, self.dtype, name="psp_modules")(top)
        laterals = ConvList(ch, self.levels - 1, 1, dtype=self.dtype, name="lateral_convs")(features[:-1])
        laterals.append(ConvBatchNormReLU(ch, 3, 1, dtype=self.dtype, name="bottleneck")(
            jnp.concatenate([top, *pooled], axis=-1)))
        for i in range(len(laterals) - 1, 0, -1):
            laterals[i - 1] = laterals[i - 1] + resize_maps_nhwc(laterals[i], laterals[i - 1].shape[1:3])
        outs = ConvList(ch, self.levels - 1, 3, 1, dtype=self.dtype, name="fpn_convs")(laterals[:-1]) + [laterals[-1]]
        outs = [outs[0]] + [resize_maps_nhwc(o, outs[0].shape[1:3]) for o in outs[1:]]
        fused = ConvBatchNormReLU(ch, 3, 1, dtype=self.dtype, name="fpn_bottleneck")(jnp.concatenate(outs, axis=-1))
        return nn.Conv(c.num_labels, (1, 1), dtype=self.dtype, kernel_init=normal(c), name="classifier")(fused)


class FCNHead(nn.Module):
    config: Any
    in_index: int = 2
    kernel_size: int = 3
    dilation: int = 1
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, features):
        c, k = self.config, self.kernel_size
        x = features[self.in_index]
        hidden = x
        if c.auxiliary_num_convs:
            hidden = ConvList(c.auxiliary_channels, c.auxiliary_num_convs, k, (k // 2) * self.dilation, self.dilation,
                              self.dtype, name="convs")(x, chain=True)  # fmt: skip
        if c.auxiliary_concat_input:
            hidden = ConvBatchNormReLU(c.auxiliary_channels, k, k // 2, dtype=self.dtype, name="conv_cat")(
                jnp.concatenate([x, hidden], axis=-1))
        return nn.Conv(c.num_labels, (1, 1), dtype=self.dtype, kernel_init=normal(c), name="classifier")(hidden)


class TransposedConv2x(nn.Module):
    """PyTorch's ConvTranspose2d(kernel_size=2, stride=2) with its kernel as [2, 2, out, in] (what the shared
    converter makes of PyTorch's [in, out, 2, 2])."""

    config: Any
    channels: int

    @nn.compact
    def __call__(self, x):
        kernel = self.param("kernel", normal(self.config), (2, 2, self.channels, self.channels))
        bias = self.param("bias", nn.initializers.zeros, (self.channels,))
        blocks = jnp.einsum("bhwi,rsoi->bhrwso", x, kernel)
        batch, height, width = x.shape[:3]
        return blocks.reshape(batch, height * 2, width * 2, self.channels) + bias


class FeaturePyramidLevel(nn.Module):
    """One of BEiT's fpn1..fpn4 on a channels-first map (see the PyTorch block)."""

    config: Any
    level: int
    batch_norm_eps: float = 1e-5
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        x, size = nhwc(x), self.config.hidden_size
        if self.level == 1:
            x = TransposedConv2x(self.config, size, name="0")(x)
            x = nn.gelu(batch_norm("1", self.batch_norm_eps, self.dtype)(x), approximate=False)
            x = TransposedConv2x(self.config, size, name="3")(x)
        elif self.level == 2:
            x = TransposedConv2x(self.config, size, name="0")(x)
        elif self.level == 4:
            x = nn.max_pool(x, (2, 2), strides=(2, 2))
        return nchw(x)


def segmentation_loss(logits_nchw, auxiliary_nchw, labels, config):
    """Cross-entropy of the logits resized to the labels, ignoring semantic_loss_ignore_index; plus the
    auxiliary head's, weighted."""

    def loss_of(logits):
        logits = resize_maps_nhwc(nhwc(logits), labels.shape[-2:])
        labels_ = jnp.asarray(labels).astype(jnp.int32)
        keep = labels_ != config.semantic_loss_ignore_index
        log_probs = jax.nn.log_softmax(logits, axis=-1)
        picked = jnp.take_along_axis(log_probs, jnp.where(keep, labels_, 0)[..., None], axis=-1)[..., 0]
        return -(picked * keep).sum() / keep.sum()

    loss = loss_of(logits_nchw)
    if auxiliary_nchw is not None:
        loss = loss + config.auxiliary_loss_weight * loss_of(auxiliary_nchw)
    return loss
