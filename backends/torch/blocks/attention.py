"""Self-attention of the pre-norm decoders: separate or fused q/k/v projections, optional q/k RMSNorm,
rotary positions, grouped-query heads, an additive mask (causal, padding, sliding window), logit
soft-capping, and a (key, value) cache of [batch, kv_heads, seq, head_dim] tensors."""

from __future__ import annotations

import torch
from torch import nn

from autoload.decoder_options import DecoderOptions

from ..rotary import apply_rotary
from .norms import RMSNorm


def decoder_mask(length: int, past_length: int, attention_mask, dtype, device, window: int | None = None,
                 causal: bool = True) -> torch.Tensor:  # fmt: skip
    """Additive [batch or 1, 1, length, past+length] mask: no later positions (when causal), no padding, and
    with a window nothing `window` or more positions away (before, or either side when not causal)."""
    neg = torch.finfo(dtype).min
    query = torch.arange(past_length, past_length + length, device=device)[:, None]
    key = torch.arange(past_length + length, device=device)[None, :]
    blocked = key > query if causal else torch.zeros(length, past_length + length, dtype=torch.bool, device=device)
    if window is not None:
        blocked = blocked | ((query - key).abs() >= window)
    mask = torch.zeros(blocked.shape, dtype=dtype, device=device).masked_fill(blocked, neg)[None, None]
    if attention_mask is not None:
        padding = (1.0 - attention_mask[:, None, None, :].to(dtype)) * neg
        mask = (mask + padding).clamp(min=neg)
    return mask


def eager_attention(q, k, v, mask, scale: float, softcap: float | None = None, dropout: float = 0.0,
                    training: bool = False) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """q [b, h, q, d], k/v [b, h, k, d] (heads already repeated) -> (context [b, h, q, d], probabilities)."""
    scores = torch.matmul(q, k.transpose(2, 3)) * scale
    if softcap is not None:
        scores = torch.tanh(scores / softcap) * softcap
    if mask is not None:
        scores = scores + mask
    probs = nn.functional.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
    probs = nn.functional.dropout(probs, p=dropout, training=training)
    return torch.matmul(probs, v), probs


class DecoderAttention(nn.Module):
    def __init__(self, options: DecoderOptions):
        super().__init__()
        o = self.options = options
        kv_width = o.num_kv_heads * o.head_dim
        if o.fused_qkv:
            self.qkv_proj = nn.Linear(o.hidden_size, o.num_heads * o.head_dim + 2 * kv_width, bias=o.qkv_bias)
        else:
            self.q_proj = nn.Linear(o.hidden_size, o.num_heads * o.head_dim, bias=o.qkv_bias)
            self.k_proj = nn.Linear(o.hidden_size, kv_width, bias=o.qkv_bias)
            self.v_proj = nn.Linear(o.hidden_size, kv_width, bias=o.qkv_bias)
        self.o_proj = nn.Linear(o.num_heads * o.head_dim, o.hidden_size, bias=o.o_bias)
        if o.qk_norm:
            self.q_norm = RMSNorm(o.head_dim, o.norm_eps, o.norm_offset)
            self.k_norm = RMSNorm(o.head_dim, o.norm_eps, o.norm_offset)

    def project(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        o = self.options
        if o.fused_qkv:
            kv_width = o.num_kv_heads * o.head_dim
            return self.qkv_proj(hidden).split([o.num_heads * o.head_dim, kv_width, kv_width], dim=-1)
        return self.q_proj(hidden), self.k_proj(hidden), self.v_proj(hidden)

    def forward(self, hidden, cos, sin, mask, past=None, output_attentions: bool = False):
        """Returns (output, attention probabilities or None, (keys, values) including the past)."""
        o = self.options
        batch, length = hidden.shape[:2]
        q, k, v = (x.view(batch, length, -1, o.head_dim) for x in self.project(hidden))
        if o.qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        dropout = o.attention_dropout if self.training else 0.0
        if output_attentions or o.attn_softcap is not None:
            keys, values = k.repeat_interleave(o.groups, 1), v.repeat_interleave(o.groups, 1)
            context, probs = eager_attention(q, keys, values, mask, o.attention_scale, o.attn_softcap, dropout,
                                             self.training)  # fmt: skip
        else:
            context = nn.functional.scaled_dot_product_attention(
                q, k, v, attn_mask=mask, dropout_p=dropout, scale=o.attention_scale, enable_gqa=o.groups > 1
            )
            probs = None
        context = context.transpose(1, 2).reshape(batch, length, -1)
        return self.o_proj(context), probs if output_attentions else None, (k, v)
