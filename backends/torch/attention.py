"""Multi-head attention with q_proj / k_proj / v_proj / out_proj (the BART, Whisper and CLIP layout),
for self- and cross-attention, with an optional (key, value) cache for incremental decoding."""

from __future__ import annotations

import torch
from torch import nn


class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, key_bias: bool = True):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim {embed_dim} is not divisible by num_heads {num_heads}.")
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.k_proj = nn.Linear(embed_dim, embed_dim, bias=key_bias)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)
        self.dropout = dropout

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(x.shape[0], -1, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, hidden, mask=None, key_value_states=None, past=None):
        """Returns (output, (key, value)); `mask` is additive and broadcastable to [batch, heads, q, k].

        For cross-attention (`key_value_states` given) a cached (key, value) is reused as is; for
        self-attention the new keys and values are appended to it.
        """
        q = self._heads(self.q_proj(hidden))
        if key_value_states is not None and past is not None:
            k, v = past
        else:
            source = hidden if key_value_states is None else key_value_states
            k, v = self._heads(self.k_proj(source)), self._heads(self.v_proj(source))
            if past is not None:
                k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        dropout = self.dropout if self.training else 0.0
        context = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout)
        context = context.transpose(1, 2).reshape(hidden.shape[0], -1, self.num_heads * self.head_dim)
        return self.out_proj(context), (k, v)


def padding_mask(attention_mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """[batch, key] 1/0 -> additive [batch, 1, 1, key]."""
    if attention_mask is None:
        return None
    return (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


def causal_mask(length: int, past_length: int, attention_mask, dtype, device) -> torch.Tensor:
    """Additive [batch or 1, 1, length, past+length] mask: no attention to later positions or padding."""
    neg = torch.finfo(dtype).min
    mask = torch.full((length, past_length + length), neg, dtype=dtype, device=device).triu(past_length + 1)[None, None]
    if attention_mask is not None:
        mask = (mask + padding_mask(attention_mask, dtype)).clamp(min=neg)
    return mask
