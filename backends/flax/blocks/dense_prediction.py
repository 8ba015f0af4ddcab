"""Dense-prediction blocks in Flax (linen), named as the PyTorch checkpoints name them (see
autoload/backends/torch/blocks/dense_prediction.py). Maps are NHWC inside."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import linen as nn

from .vision import nhwc, normal, resize_maps_nhwc


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
