"""RMSNorm as the decoders use it: statistics in float32; Llama's scales after casting back, Gemma's
(`offset`: scale 1 + weight, weights starting at 0) before. LayerNorm: flax's, traced cheaply for shapes.

While loading traces parameter shapes (abstract_params.tracing_shapes), both declare their parameters and
return their input in the output's dtype without computing the statistics: flax's LayerNorm is the costliest
module to trace (half of a bert-base's shape trace went to its 25 LayerNorms)."""

from __future__ import annotations

import jax.numpy as jnp
from flax import linen as nn
from flax.linen.dtypes import canonicalize_dtype

from ..abstract_params import tracing_shapes


class LayerNorm(nn.LayerNorm):
    @nn.compact
    def __call__(self, x, *, mask=None):
        if not (tracing_shapes() and mask is None and self.reduction_axes == -1 and self.feature_axes == -1):
            return super().__call__(x, mask=mask)
        features = [x.shape[-1]]  # the arguments flax's own LayerNorm declares them with
        params = [self.param(name, init, features, self.param_dtype)
                  for name, init, used in (("scale", self.scale_init, self.use_scale),
                                           ("bias", self.bias_init, self.use_bias)) if used]  # fmt: skip
        return jnp.asarray(x, canonicalize_dtype(x, *params, dtype=self.dtype))


class FlaxRMSNorm(nn.Module):
    size: int
    eps: float = 1e-6
    offset: bool = False
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, hidden):
        weight = self.param("weight", nn.initializers.zeros if self.offset else nn.initializers.ones, (self.size,))
        if tracing_shapes():
            return hidden.astype(self.dtype)
        x = hidden.astype(jnp.float32)
        x = x * (1.0 / jnp.sqrt(jnp.mean(jnp.square(x), axis=-1, keepdims=True) + self.eps))
        if self.offset:
            return (x * (1.0 + weight.astype(jnp.float32))).astype(self.dtype)
        return weight.astype(self.dtype) * x.astype(self.dtype)
