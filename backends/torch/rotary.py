"""Rotary embeddings in PyTorch (GPT-NeoX "rotate half" layout, as Llama checkpoints expect)."""

from __future__ import annotations

import torch

from autoload.rope import inverse_frequencies


def rotary_cos_sin(config, positions: torch.Tensor, dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin [batch, seq, head_dim] for integer positions [batch, seq]."""
    seq_len = int(positions.max()) + 1 if positions.numel() else 0
    inv = torch.from_numpy(inverse_frequencies(config, seq_len)).to(positions.device)
    angles = positions[..., None].float() * inv
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos().to(dtype), angles.sin().to(dtype)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x [batch, heads, seq, head_dim]."""
    return x * cos[:, None] + rotate_half(x) * sin[:, None]
