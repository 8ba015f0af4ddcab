"""The decoders' feed-forward blocks in Flax: a gated MLP (gate_proj/up_proj/down_proj, or Phi-3's fused
gate_up_proj) and a sparse mixture of such experts (Mixtral's block_sparse_moe: gate + experts/N/w1,w2,w3)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from ..activations import get_activation
from .attention import dense


class FlaxGatedMLP(nn.Module):
    """down(act(gate(x)) * up(x)); returns (output, None) like the mixture of experts."""

    options: Any
    config: Any
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        o, c, bias = self.options, self.config, self.options.mlp_bias
        if o.fused_gate_up:
            self.gate_up_proj = dense(c, 2 * o.intermediate_size, bias, self.dtype)
        else:
            self.gate_proj = dense(c, o.intermediate_size, bias, self.dtype)
            self.up_proj = dense(c, o.intermediate_size, bias, self.dtype)
        self.down_proj = dense(c, o.hidden_size, bias, self.dtype)

    def __call__(self, x, deterministic=True):
        if self.options.fused_gate_up:
            gate, up = jnp.split(self.gate_up_proj(x), 2, axis=-1)
        else:
            gate, up = self.gate_proj(x), self.up_proj(x)
        return self.down_proj(get_activation(self.options.activation)(gate) * up), None


class FlaxExpert(nn.Module):
    options: Any
    config: Any
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x):
        o, c = self.options, self.config
        gated = get_activation(o.activation)(dense(c, o.intermediate_size, False, self.dtype, "w1")(x))
        return dense(c, o.hidden_size, False, self.dtype, "w2")(gated * dense(c, o.intermediate_size, False,
                                                                             self.dtype, "w3")(x))  # fmt: skip


class FlaxExperts(nn.Module):
    """The experts under `experts/0`, `experts/1`, … as the checkpoints name them."""

    options: Any
    config: Any
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.experts = [FlaxExpert(self.options, self.config, self.dtype, name=str(i))
                        for i in range(self.options.moe.num_experts)]  # fmt: skip

    def __call__(self, index: int, x):
        return self.experts[index](x)


class FlaxSparseMoe(nn.Module):
    """Each token goes to its top_k experts by router score, outputs weighted by the softmax scores
    renormalised over the chosen ones. Run eagerly, only experts some token chose are computed; traced
    (jit, initialisation) every expert runs and unchosen ones get weight 0. Either way each expert sees all
    tokens, so shapes never depend on the routing (nothing recompiles from one decoding step to the next)."""

    options: Any
    config: Any
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.gate = dense(self.config, self.options.moe.num_experts, False, self.dtype)
        self.experts = FlaxExperts(self.options, self.config, self.dtype)

    def __call__(self, hidden, deterministic=True):
        moe = self.options.moe
        if not deterministic and moe.jitter_noise > 0:
            noise = jax.random.uniform(self.make_rng("dropout"), hidden.shape, hidden.dtype, 1 - moe.jitter_noise,
                                       1 + moe.jitter_noise)  # fmt: skip
            hidden = hidden * noise
        flat = hidden.reshape(-1, hidden.shape[-1])
        router_logits = self.gate(flat)
        weights, chosen = jax.lax.top_k(jax.nn.softmax(router_logits.astype(jnp.float32), axis=-1), moe.top_k)
        weights = (weights / weights.sum(-1, keepdims=True)).astype(flat.dtype)
        per_expert = (jax.nn.one_hot(chosen, moe.num_experts, dtype=flat.dtype) * weights[..., None]).sum(1)
        if isinstance(chosen, jax.core.Tracer) or self.is_initializing():
            used = range(moe.num_experts)
        else:
            used = sorted(set(np.asarray(chosen).ravel().tolist()))
        out = jnp.zeros_like(flat)
        for expert in used:
            out = out + self.experts(expert, flat) * per_expert[:, expert : expert + 1]
        return out.reshape(hidden.shape), router_logits


def load_balancing_loss(router_logits, num_experts: int, top_k: int, attention_mask=None):
    """Switch-Transformer auxiliary loss (see the PyTorch block): num_experts × Σ_e routed share × mean prob."""
    probs = jax.nn.softmax(jnp.concatenate([r.astype(jnp.float32) for r in router_logits], axis=0), axis=-1)
    chosen = jax.nn.one_hot(jax.lax.top_k(probs, top_k)[1], num_experts)
    if attention_mask is None:
        routed, mean_prob = chosen.mean(0), probs.mean(0)
    else:
        keep = jnp.tile(jnp.asarray(attention_mask, jnp.float32).reshape(-1), len(router_logits))
        routed = (chosen * keep[:, None, None]).sum(0) / keep.sum()
        mean_prob = (probs * keep[:, None]).sum(0) / keep.sum()
    return (routed * mean_prob[None]).sum() * num_experts
