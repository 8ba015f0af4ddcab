"""Weight-normalised checkpoint tensors folded into the plain weight a model expects.

A checkpoint saved while weight normalisation was on (torch.nn.utils.weight_norm: `X.weight_g` / `X.weight_v`;
torch's parametrizations: `X.parametrizations.weight.original0` / `original1`) has no `X.weight`. Where a model
wants `X.weight` and the checkpoint has only g and v, the weight is g * v / |v|, the norm taken over every axis
along which g has size 1 (weight_norm keeps g's size on its `dim` only). Nothing is read until the folded weight is.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import numpy as np

from .weights.arrays import transposed

PAIRS = ((".weight_g", ".weight_v"), (".parametrizations.weight.original0", ".parametrizations.weight.original1"))


def as_float32(array: np.ndarray, stored: str) -> np.ndarray:
    if stored == "bfloat16" and array.dtype == np.uint16:  # raw bfloat16 bits
        return (array.astype(np.uint32) << 16).view(np.float32)
    return array.astype(np.float32, copy=False)


def fold(g: np.ndarray, v: np.ndarray) -> np.ndarray:
    g = g.reshape(g.shape + (1,) * (v.ndim - g.ndim)) if g.ndim < v.ndim else g
    axes = tuple(axis for axis in range(v.ndim) if g.shape[axis] == 1)
    norm = np.sqrt(np.sum(np.square(v.astype(np.float64)), axis=axes, keepdims=True))
    return (g * (v / norm)).astype(np.float32)


class FoldedWeights(Mapping):
    """`state` with each (g, v) pair in `folded` (weight name -> (g key, v key)) replaced by its weight."""

    def __init__(self, state: Mapping, folded: dict[str, tuple[str, str]]):
        self._state, self._folded = state, folded
        hidden = {key for pair in folded.values() for key in pair}
        self._keys = [key for key in state if key not in hidden] + list(folded)
        self._key_set = set(self._keys)

    def __getitem__(self, key):
        if key not in self._folded:
            return self._state[key]
        from .loading import dtype_of

        g_key, v_key = self._folded[key]
        g = as_float32(np.asarray(self._state[g_key]), dtype_of(self._state, g_key))
        v = as_float32(np.asarray(self._state[v_key]), dtype_of(self._state, v_key))
        return fold(g, v)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __contains__(self, key) -> bool:  # Mapping's default would read the tensor
        return key in self._key_set

    def __len__(self) -> int:
        return len(self._keys)

    def shape(self, key) -> tuple:
        from .loading import shape_of

        return shape_of(self._state, self._folded[key][1] if key in self._folded else key)

    def dtype(self, key) -> str:
        from .loading import dtype_of

        return "float32" if key in self._folded else dtype_of(self._state, key)

    def read_slice(self, key, index: tuple) -> np.ndarray:
        from .loading import read_slice

        return self[key][tuple(index)] if key in self._folded else read_slice(self._state, key, index)

    def read_transposed(self, key, axes: tuple) -> np.ndarray:
        from .loading import read_transposed

        return transposed(self[key], tuple(axes)) if key in self._folded else read_transposed(self._state, key, axes)


def fold_weight_norm(expected: Iterable[str], state: Mapping) -> Mapping:
    """`state` with g / v pairs folded into the weights `expected` names and the checkpoint lacks."""
    folded, keys = {}, set(state)  # names only: `in` on some mappings reads the tensor
    for name in expected:
        if not name.endswith(".weight") or name in keys:
            continue
        stem = name[: -len(".weight")]
        for g_suffix, v_suffix in PAIRS:
            if stem + g_suffix in keys and stem + v_suffix in keys:
                folded[name] = (stem + g_suffix, stem + v_suffix)
                break
    return FoldedWeights(state, folded) if folded else state
