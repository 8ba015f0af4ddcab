"""Canonical (PyTorch) weights <-> Flax parameter trees, by generic rules on the leaf names.

Flax leaf -> canonical:   kernel -> weight (2-D transposed; conv kernels HWIO/WIO -> OIHW/OIW),
scale -> weight, embedding -> weight, batch_stats mean/var -> running_mean/running_var (not for a leaf at the
root, which keeps its name: a model-level tensor such as SpeechT5HifiGan's mean and scale); path parts are
joined with dots, so list indices ("layer/0") become state-dict indices ("layer.0").
Canonical -> Flax walks the target tree (shapes from jax.eval_shape) and applies the same rule per leaf,
so the direction never has to guess whether a 2-D "weight" was a Dense kernel or an embedding.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..loading import dtype_of, read_transposed, shape_of
from ..weights.arrays import transposed
from .layout import kernel_shape_as_weight, kernel_to_weight, weight_axes, weight_to_kernel

_RENAMED = {"scale": "weight", "embedding": "weight", "mean": "running_mean", "var": "running_var"}
_COLLECTIONS = ("params", "batch_stats")


def canonical_name(path: str | tuple) -> str:
    """The canonical key of a Flax leaf path ("encoder/layer/0/…/kernel" or a tuple of parts)."""
    parts = path.split("/") if isinstance(path, str) else [str(p) for p in path]
    if parts and parts[0] in _COLLECTIONS:
        parts = parts[1:]
    leaf = parts[-1]
    if leaf == "kernel":
        parts[-1] = "weight"
    elif len(parts) > 1:  # a leaf at the root is the model's own tensor (SpeechT5HifiGan's mean / scale), not a norm's
        parts[-1] = _RENAMED.get(leaf, leaf)
    return ".".join(parts)


class _FlaxAsCanonical(Mapping):
    def __init__(self, flat: Mapping[str, np.ndarray]):
        self._flat = flat
        self._names = {canonical_name(path): path for path in flat}

    def __getitem__(self, name):
        path = self._names[name]
        if path.rsplit("/", 1)[-1] == "kernel":  # contiguous in the PyTorch layout, made where it is read (from the file, where it can be)
            return read_transposed(self._flat, path, weight_axes(len(shape_of(self._flat, path))))
        return np.asarray(self._flat[path])

    def read_transposed(self, name, axes: tuple) -> np.ndarray:
        """The canonical tensor with its axes permuted, C-contiguous: a kernel read for a TF / Flax model is
        the stored array itself, not copied."""
        path = self._names[name]
        array = np.asarray(self._flat[path])
        return transposed(kernel_to_weight(array) if path.rsplit("/", 1)[-1] == "kernel" else array, axes)

    def shape(self, name):
        path = self._names[name]
        shape = shape_of(self._flat, path)
        return kernel_shape_as_weight(shape) if path.rsplit("/", 1)[-1] == "kernel" else shape

    def dtype(self, name):
        return dtype_of(self._flat, self._names[name])

    def __iter__(self):
        return iter(self._names)

    def __contains__(self, name) -> bool:  # Mapping's default would read the tensor
        return name in self._names

    def __len__(self):
        return len(self._names)


def flax_weights_to_canonical(raw: Mapping[str, np.ndarray], config=None) -> Mapping[str, np.ndarray]:
    """'/'-joined Flax paths -> canonical names and layouts (lazily, one tensor at a time)."""
    return _FlaxAsCanonical(raw)


def canonical_to_flax(state: Mapping, target: dict, path: tuple = ()):
    """Fill a tree shaped like `target` (leaves carry .shape) from canonical arrays.

    Returns (tree, missing) where missing lists (flax path, canonical name) leaves the state lacks; those
    leaves are left as None for the caller to initialise.
    """
    tree, missing = {}, []
    for key, value in target.items():
        here = path + (key,)
        if isinstance(value, dict):
            tree[key], sub_missing = canonical_to_flax(state, value, here)
            missing += sub_missing
            continue
        name = canonical_name(here)
        if name not in state:
            tree[key] = None
            missing.append(("/".join(map(str, here)), name))
            continue
        array = np.asarray(state[name])
        tree[key] = weight_to_kernel(array) if key == "kernel" else array
    return tree, missing


def flax_to_canonical_state(params: dict) -> dict[str, np.ndarray]:
    """A whole (nested) Flax tree -> canonical numpy state dict, e.g. to save safetensors."""
    flat = {}

    def walk(node, path):
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, path + (key,))
            else:
                flat["/".join(map(str, path + (key,)))] = np.asarray(value)

    walk(params, ())
    view = _FlaxAsCanonical(flat)
    return {name: view[name] for name in view}
