"""Losses in JAX (transformers' Flax classes return none; the decoders' causal LM gives its training loss, with
Mixtral's auxiliary router loss, as the PyTorch and TF ones do)."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def token_loss(logits, labels):
    """Mean cross entropy (in float32) over positions whose label is not -100."""
    labels = jnp.asarray(labels).reshape(-1)
    logits = logits.reshape(-1, logits.shape[-1]).astype(jnp.float32)
    keep = labels != -100
    picked = jnp.take_along_axis(jax.nn.log_softmax(logits), jnp.where(keep, labels, 0)[:, None], axis=-1)[:, 0]
    return -jnp.where(keep, picked, 0.0).sum() / jnp.maximum(keep.sum(), 1)


def causal_lm_loss(logits, labels):
    """Next-token loss: position t predicts label t+1."""
    return token_loss(logits[:, :-1], jnp.asarray(labels)[:, 1:])
