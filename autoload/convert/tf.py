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

from ..loading import dtype_of, read_transposed, shape_of
from ..weights.arrays import transposed
from .layout import kernel_shape_as_weight, kernel_to_weight, weight_axes, weight_to_kernel

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


class _TFAsCanonical(Mapping):
    def __init__(self, raw: Mapping[str, np.ndarray]):
        self._raw = raw
        self._names = {}
        for tf_name in raw:
            self._names.setdefault(canonical_name(tf_name), tf_name)

    def __getitem__(self, name):
        tf_name = self._names[name]
        if is_kernel(tf_name):  # contiguous in the PyTorch layout, made where it is read (from the file, where it can be)
            return read_transposed(self._raw, tf_name, weight_axes(len(shape_of(self._raw, tf_name))))
        return np.asarray(self._raw[tf_name])

    def read_transposed(self, name, axes: tuple) -> np.ndarray:
        """The canonical tensor with its axes permuted, C-contiguous: a kernel read for a TF / Flax model is
        the stored array itself, not copied."""
        tf_name = self._names[name]
        array = np.asarray(self._raw[tf_name])
        return transposed(kernel_to_weight(array) if is_kernel(tf_name) else array, axes)

    def shape(self, name):
        tf_name = self._names[name]
        shape = shape_of(self._raw, tf_name)  # from the header: nothing read
        return kernel_shape_as_weight(shape) if is_kernel(tf_name) else shape

    def dtype(self, name):
        return dtype_of(self._raw, self._names[name])

    def __iter__(self):
        return iter(self._names)

    def __contains__(self, name) -> bool:  # Mapping's default would read the tensor
        return name in self._names

    def __len__(self):
        return len(self._names)


def tf_weights_to_canonical(raw: Mapping[str, np.ndarray], config=None) -> Mapping[str, np.ndarray]:
    """Full TF weight names (as in tf_model.h5) -> canonical names and layouts, lazily.

    A weight stored twice under one canonical name (shared embeddings) is read once."""
    return _TFAsCanonical(raw)


def to_tf_layout(array, tf_name: str) -> np.ndarray:
    """A canonical tensor in the layout of the TF variable `tf_name` (kernels transposed)."""
    array = np.asarray(array)
    return weight_to_kernel(array) if is_kernel(tf_name) else array
