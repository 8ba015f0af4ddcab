"""The one layout difference between PyTorch weights and TF/Flax kernels: the axis order."""

from __future__ import annotations

import numpy as np


def kernel_to_weight(array: np.ndarray) -> np.ndarray:
    """TF/Flax kernel -> PyTorch weight: dense [in, out] -> [out, in]; conv [spatial…, in, out] -> [out, in, spatial…]."""
    if array.ndim == 2:
        return array.T
    if array.ndim >= 3:
        return np.transpose(array, (array.ndim - 1, array.ndim - 2, *range(array.ndim - 2)))
    return array


def weight_to_kernel(array: np.ndarray) -> np.ndarray:
    """The inverse of kernel_to_weight."""
    if array.ndim == 2:
        return array.T
    if array.ndim >= 3:
        return np.transpose(array, (*range(2, array.ndim), 1, 0))
    return array


def kernel_axes(ndim: int) -> tuple:
    """The permutation weight_to_kernel applies to a weight of `ndim` axes."""
    if ndim == 2:
        return (1, 0)
    return (*range(2, ndim), 1, 0) if ndim >= 3 else tuple(range(ndim))


def weight_axes(ndim: int) -> tuple:
    """The permutation kernel_to_weight applies to a kernel of `ndim` axes."""
    if ndim == 2:
        return (1, 0)
    return (ndim - 1, ndim - 2, *range(ndim - 2)) if ndim >= 3 else tuple(range(ndim))


def kernel_shape_as_weight(shape: tuple) -> tuple:
    """kernel_to_weight on a shape alone (to report shapes without reading data)."""
    return shape[-1:] + shape[-2:-1] + shape[:-2] if len(shape) >= 2 else shape
