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

from .canonical_view import KernelLayoutView
from .layout import weight_to_kernel

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


def _is_kernel_path(path: str) -> bool:
    return path.rsplit("/", 1)[-1] == "kernel"


def flax_weights_to_canonical(raw: Mapping[str, np.ndarray], config=None) -> Mapping[str, np.ndarray]:
    """'/'-joined Flax paths -> canonical names and layouts (lazily, one tensor at a time)."""
    return KernelLayoutView(raw, {canonical_name(path): path for path in raw}, _is_kernel_path)


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
    view = flax_weights_to_canonical(flat)
    return {name: view[name] for name in view}
