"""RMSNorm as the decoders use it: statistics in float32; Llama's scales after casting back, Gemma's
(`offset`: scale 1 + weight, weights starting at 0) before."""

from __future__ import annotations

import jax.numpy as jnp
from flax import linen as nn


class FlaxRMSNorm(nn.Module):
    size: int
    eps: float = 1e-6
    offset: bool = False
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, hidden):
        weight = self.param("weight", nn.initializers.zeros if self.offset else nn.initializers.ones, (self.size,))
        x = hidden.astype(jnp.float32)
        x = x * (1.0 / jnp.sqrt(jnp.mean(jnp.square(x), axis=-1, keepdims=True) + self.eps))
        if self.offset:
            return (x * (1.0 + weight.astype(jnp.float32))).astype(self.dtype)
        return weight.astype(self.dtype) * x.astype(self.dtype)
