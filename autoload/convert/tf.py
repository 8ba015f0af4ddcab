"""Canonical (PyTorch) weights <-> TensorFlow variable names and layouts, by generic rules.

A TF weight name such as `tf_bert_model/bert/encoder/layer_._0/attention/self/query/kernel:0` maps to
the canonical `bert.encoder.layer.0.attention.self.query.weight`: drop the `:0` suffix and the model's own
scope, `layer_._0` -> `layer.0`, a scope written `a___b` -> `b` (transformers' way of giving a TF layer
a different name from its PyTorch module), and the leaf: kernel -> weight (2-D transposed; conv kernels
HWIO/WIO -> OIHW/OIW), gamma -> weight, beta -> bias, embeddings -> weight, moving_mean/variance ->
running_mean/var.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

from .canonical_view import KernelLayoutView
from .layout import weight_to_kernel

_LEAVES = {"kernel": "weight", "gamma": "weight", "beta": "bias", "embeddings": "weight",
           "moving_mean": "running_mean", "moving_variance": "running_var"}  # fmt: skip


def canonical_name(tf_name: str, drop_model_scope: bool = True) -> str:
    name = tf_name[:-2] if tf_name.endswith(":0") else tf_name
    name = re.sub(r"[^/]*___([^/]*)", r"\1", name)
    parts = [p for p in name.replace("_._", "/").split("/") if p]
    if drop_model_scope and len(parts) > 1:
        parts = parts[1:]
    parts[-1] = _LEAVES.get(parts[-1], parts[-1])
    return ".".join(parts)


def is_kernel(tf_name: str) -> bool:
    return tf_name.removesuffix(":0").rsplit("/", 1)[-1] == "kernel"


def tf_weights_to_canonical(raw: Mapping[str, np.ndarray], config=None) -> Mapping[str, np.ndarray]:
    """Full TF weight names (as in tf_model.h5) -> canonical names and layouts, lazily.

    A weight stored twice under one canonical name (shared embeddings) is read once."""
    names: dict[str, str] = {}
    for tf_name in raw:
        names.setdefault(canonical_name(tf_name), tf_name)
    return KernelLayoutView(raw, names, is_kernel)


def to_tf_layout(array, tf_name: str) -> np.ndarray:
    """A canonical tensor in the layout of the TF variable `tf_name` (kernels transposed)."""
    array = np.asarray(array)
    return weight_to_kernel(array) if is_kernel(tf_name) else array
