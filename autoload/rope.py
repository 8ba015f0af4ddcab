"""Rotary position embeddings: the inverse frequencies for each rope_scaling type, in numpy, shared by
every backend (which only multiply them by positions and rotate)."""

from __future__ import annotations

import math

import numpy as np


def rope_kind(config) -> str:
    scaling = getattr(config, "rope_scaling", None) or {}
    return scaling.get("rope_type", scaling.get("type", "default"))


def inverse_frequencies(config, seq_len: int | None = None) -> np.ndarray:
    """[head_dim / 2] float32 inverse frequencies, for sequences of `seq_len` (matters for "dynamic")."""
    dim = int(config.head_dim * getattr(config, "partial_rotary_factor", 1.0))
    base = config.rope_theta
    scaling = getattr(config, "rope_scaling", None) or {}
    kind = rope_kind(config)
    if kind == "dynamic" and seq_len is not None:
        original = scaling.get("original_max_position_embeddings", config.max_position_embeddings)
        if seq_len > original:  # stretch the base so longer sequences keep in-range angles
            factor = scaling["factor"]
            base = base * ((factor * seq_len / original) - (factor - 1)) ** (dim / (dim - 2))
    inv = 1.0 / (base ** (np.arange(0, dim, 2, dtype=np.int64).astype(np.float32) / dim))
    if kind == "linear":
        inv = inv / scaling["factor"]
    elif kind == "llama3":
        inv = _llama3(inv, scaling)
    return inv.astype(np.float32)


def _llama3(inv: np.ndarray, scaling: dict) -> np.ndarray:
    """Long wavelengths slowed by `factor`, short ones kept, a smooth blend in between."""
    factor, low, high = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
    context = scaling["original_max_position_embeddings"]
    wavelen = 2 * math.pi / inv
    scaled = np.where(wavelen > context / low, inv / factor, inv)
    smooth = (context / wavelen - low) / (high - low)
    blended = (1 - smooth) * scaled / factor + smooth * scaled
    medium = (wavelen >= context / high) & (wavelen <= context / low)
    return np.where(medium, blended, scaled)
