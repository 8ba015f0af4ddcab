"""Rotary position embeddings: the inverse frequencies and the cos/sin scale for each rope_scaling type, in
numpy, shared by every backend (which only multiply them by positions and rotate).

Types (transformers' names): default, linear, dynamic (NTK, stretched past max_position_embeddings), yarn,
longrope (Phi-3's su/longrope: short or long factors per frequency), llama3. `local=True` gives the
frequencies of Gemma 3's sliding-window layers: base rope_local_base_freq, no scaling.
"""

from __future__ import annotations

import math

import numpy as np

ROPE_TYPES = ("default", "linear", "dynamic", "yarn", "longrope", "llama3")
LENGTH_DEPENDENT = ("dynamic", "longrope")  # their frequencies depend on the largest position + 1
# Keys each type needs in rope_scaling (besides its type).
REQUIRED_KEYS = {
    "linear": ("factor",),
    "dynamic": ("factor",),
    "yarn": ("factor",),
    "longrope": ("short_factor", "long_factor"),
    "llama3": ("factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"),
}


def _scaling(config, local: bool) -> dict:
    return {} if local else (getattr(config, "rope_scaling", None) or {})


def rope_kind(config, local: bool = False) -> str:
    scaling = _scaling(config, local)
    return scaling.get("rope_type", scaling.get("type", "default"))


def check_rope_scaling(config) -> None:
    """Refuse rope_scaling types the models do not implement and scalings missing a key their type needs."""
    scaling = getattr(config, "rope_scaling", None)
    if not scaling:
        return
    if not isinstance(scaling, dict):
        raise ValueError(f"rope_scaling must be a dict with a 'rope_type' (or 'type'), got {scaling!r}.")
    kind = rope_kind(config)
    if kind not in ROPE_TYPES:
        raise ValueError(f"Unknown rope_scaling type {kind!r}; supported: {', '.join(ROPE_TYPES)}.")
    missing = [key for key in REQUIRED_KEYS.get(kind, ()) if scaling.get(key) is None]
    if len(missing) == 1 and missing[0] == "factor":
        raise ValueError(f"rope_scaling of type {kind!r} needs a 'factor'.")
    if missing:
        raise ValueError(f"rope_scaling of type {kind!r} needs {sorted(missing)}.")
    if kind == "longrope":
        half = rotary_dim(config) // 2
        for key in ("short_factor", "long_factor"):
            if len(scaling[key]) != half:
                raise ValueError(f"rope_scaling['{key}'] has {len(scaling[key])} entries; the rotary dimension "
                                 f"{rotary_dim(config)} needs {half}.")  # fmt: skip


def head_dim_of(config) -> int:
    return getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads


def rotary_dim(config) -> int:
    """How many leading dimensions of each head rotate: the config's own integer rotary_dim where it has one
    (GPT-J), else partial_rotary_factor of the head."""
    explicit = getattr(config, "rotary_dim", None)
    if isinstance(explicit, int) and not isinstance(explicit, bool):
        return explicit
    return int(head_dim_of(config) * getattr(config, "partial_rotary_factor", 1.0))


def _longrope_limits(config, scaling: dict) -> tuple[float, int]:
    """(factor, original context) of longrope: from the config's original_max_position_embeddings when it has
    one (Phi-3), else rope_scaling's factor over max_position_embeddings."""
    original = getattr(config, "original_max_position_embeddings", None)
    if original:
        return config.max_position_embeddings / original, original
    return scaling.get("factor"), config.max_position_embeddings


def uses_long_factors(config, seq_len: int | None) -> bool:
    """Longrope switches to its long factors once a sequence is longer than the original context."""
    if rope_kind(config) != "longrope":
        return False
    original = getattr(config, "original_max_position_embeddings", None) or config.max_position_embeddings
    return bool(seq_len) and seq_len > original


def switches_to_long_factors(config, before: int, after: int) -> bool:
    """Whether a sequence growing from `before` to `after` positions crosses longrope's switch: keys cached
    with the short factors no longer fit, so generation recomputes them."""
    return uses_long_factors(config, after) and not uses_long_factors(config, before)


def longrope_choices(config) -> tuple[int, np.ndarray, np.ndarray]:
    """(original context, short-factor and long-factor inverse frequencies): code traced without a concrete
    length picks one when it runs (long past the original context)."""
    original = getattr(config, "original_max_position_embeddings", None) or config.max_position_embeddings
    return original, inverse_frequencies(config, original), inverse_frequencies(config, original + 1)


def dynamic_ntk_terms(config) -> tuple[int, float, float, np.ndarray]:
    """(limit, base, factor, exponents) of dynamic NTK, for code traced without a concrete length: past `limit`
    positions the base becomes base * (factor * seq_len / limit - (factor - 1)) ** (dim / (dim - 2)) and the
    inverse frequencies 1 / base ** exponents (transformers computes this in float32)."""
    dim = rotary_dim(config)
    exponents = np.arange(0, dim, 2, dtype=np.int64).astype(np.float32) / dim
    return config.max_position_embeddings, config.rope_theta, config.rope_scaling["factor"], exponents


def inverse_frequencies(config, seq_len: int | None = None, local: bool = False) -> np.ndarray:
    """[rotary_dim / 2] float32 inverse frequencies, for sequences of `seq_len` (dynamic and longrope
    depend on it)."""
    dim = rotary_dim(config)
    base = config.rope_local_base_freq if local else config.rope_theta
    scaling = _scaling(config, local)
    kind = rope_kind(config, local)
    exponents = np.arange(0, dim, 2, dtype=np.int64).astype(np.float32) / dim
    if kind == "dynamic" and seq_len is not None:
        limit = config.max_position_embeddings
        if seq_len > limit:  # stretch the base so longer sequences keep in-range angles
            factor = scaling["factor"]
            base = base * ((factor * seq_len / limit) - (factor - 1)) ** (dim / (dim - 2))
    if kind == "yarn":
        return _yarn(base, dim, scaling, config)
    if kind == "longrope":
        factors = scaling["long_factor"] if uses_long_factors(config, seq_len) else scaling["short_factor"]
        return (1.0 / (np.asarray(factors, dtype=np.float32) * base**exponents)).astype(np.float32)
    inv = 1.0 / (base**exponents)
    if kind == "linear":
        inv = inv / scaling["factor"]
    elif kind == "llama3":
        inv = _llama3(inv, scaling)
    return inv.astype(np.float32)


def attention_factor(config, local: bool = False) -> float:
    """The factor cos and sin are multiplied by (yarn and longrope temper attention at long range)."""
    scaling = _scaling(config, local)
    kind = rope_kind(config, local)
    if kind == "yarn":
        factor = scaling["factor"]
        if scaling.get("attention_factor") is not None:
            return float(scaling["attention_factor"])
        mscale, mscale_all_dim = scaling.get("mscale"), scaling.get("mscale_all_dim")
        if mscale and mscale_all_dim:
            return float(_yarn_mscale(factor, mscale) / _yarn_mscale(factor, mscale_all_dim))
        return _yarn_mscale(factor)
    if kind == "longrope":
        if scaling.get("attention_factor") is not None:
            return float(scaling["attention_factor"])
        factor, original = _longrope_limits(config, scaling)
        return 1.0 if factor <= 1.0 else math.sqrt(1 + math.log(factor) / math.log(original))
    return 1.0


def _yarn_mscale(scale: float, mscale: float = 1.0) -> float:
    return 1.0 if scale <= 1 else 0.1 * mscale * math.log(scale) + 1.0


def _yarn(base: float, dim: int, scaling: dict, config) -> np.ndarray:
    """Frequencies that rotate more than beta_fast times over the original context keep their value, those
    rotating fewer than beta_slow times are divided by `factor`, with a linear ramp in between."""
    factor = scaling["factor"]
    original = scaling.get("original_max_position_embeddings") or config.max_position_embeddings
    beta_fast, beta_slow = scaling.get("beta_fast") or 32, scaling.get("beta_slow") or 1

    def dimension_of(rotations):
        return dim * math.log(original / (rotations * 2 * math.pi)) / (2 * math.log(base))

    low, high = dimension_of(beta_fast), dimension_of(beta_slow)
    if scaling.get("truncate", True):
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, dim - 1)
    if low == high:
        high += 0.001
    ramp = np.clip((np.arange(dim // 2, dtype=np.float32) - low) / (high - low), 0, 1).astype(np.float32)
    powers = (base ** (np.arange(0, dim, 2).astype(np.float32) / dim)).astype(np.float32)
    keep = 1 - ramp
    return ((1.0 / (factor * powers)) * (1 - keep) + (1.0 / powers) * keep).astype(np.float32)


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
