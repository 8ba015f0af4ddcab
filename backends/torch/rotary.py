"""Rotary embeddings in PyTorch, from the core's inverse frequencies: the "rotate half" layout (GPT-NeoX,
Llama checkpoints) or the interleaved one (GPT-J), over all of each head or its first rotary_dim dims."""

from __future__ import annotations

import torch

from autoload.rope import attention_factor, inverse_frequencies


def rotary_cos_sin(config, positions: torch.Tensor, dtype, local: bool = False,
                   interleaved: bool = False) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """cos and sin [batch, seq, rotary_dim] for integer positions [batch, seq], computed in float32 and
    scaled by the rope type's attention factor."""
    seq_len = int(positions.max()) + 1 if positions.numel() else 0
    inv = torch.from_numpy(inverse_frequencies(config, seq_len, local=local)).to(positions.device)
    angles = positions[..., None].float() * inv
    angles = angles.repeat_interleave(2, dim=-1) if interleaved else torch.cat([angles, angles], dim=-1)
    scale = attention_factor(config, local=local)
    return (angles.cos() * scale).to(dtype), (angles.sin() * scale).to(dtype)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def rotate_pairs(x: torch.Tensor) -> torch.Tensor:
    """(x0, x1, x2, x3, …) -> (-x1, x0, -x3, x2, …): the interleaved layout's quarter turn."""
    return torch.stack([-x[..., 1::2], x[..., ::2]], dim=-1).flatten(-2)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, interleaved: bool = False) -> torch.Tensor:
    """x [batch, heads, seq, head_dim]; dims past cos's width (partial rotary) pass through unchanged."""
    width = cos.shape[-1]
    rotated, kept = (x, None) if width == x.shape[-1] else (x[..., :width], x[..., width:])
    turn = rotate_pairs(rotated) if interleaved else rotate_half(rotated)
    rotated = rotated * cos[:, None] + turn * sin[:, None]
    return rotated if kept is None else torch.cat([rotated, kept], dim=-1)
