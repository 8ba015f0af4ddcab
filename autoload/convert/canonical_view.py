"""A TF or Flax weight reader seen under canonical names and layouts, lazily: one class for both formats,
whose only differences (how a stored name becomes a canonical one, which stored names are kernels) are given
to it."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from ..loading import dtype_of, read_transposed, shape_of
from ..weights.arrays import transposed
from .layout import kernel_shape_as_weight, kernel_to_weight, weight_axes


class KernelLayoutView(Mapping):
    """canonical name -> tensor over `stored` (stored name -> tensor in TF / Flax layout). `names` maps each
    canonical name to the stored one it reads; `is_kernel(stored_name)` says which are transposed."""

    def __init__(self, stored: Mapping, names: dict[str, str], is_kernel: Callable[[str], bool]):
        self._stored = stored
        self._names = names
        self._is_kernel = is_kernel

    def __getitem__(self, name):
        key = self._names[name]
        if self._is_kernel(key):  # contiguous in the PyTorch layout, made where it is read (from the file if it can)
            return read_transposed(self._stored, key, weight_axes(len(shape_of(self._stored, key))))
        return np.asarray(self._stored[key])

    def read_transposed(self, name, axes: tuple) -> np.ndarray:
        """The canonical tensor with its axes permuted, C-contiguous: a kernel read for a TF / Flax model is
        the stored array itself, not copied."""
        key = self._names[name]
        array = np.asarray(self._stored[key])
        return transposed(kernel_to_weight(array) if self._is_kernel(key) else array, axes)

    def shape(self, name):
        key = self._names[name]
        shape = shape_of(self._stored, key)  # from the header: nothing read
        return kernel_shape_as_weight(shape) if self._is_kernel(key) else shape

    def dtype(self, name):
        return dtype_of(self._stored, self._names[name])

    def __iter__(self):
        return iter(self._names)

    def __contains__(self, name) -> bool:  # Mapping's default would read the tensor
        return name in self._names

    def __len__(self):
        return len(self._names)
