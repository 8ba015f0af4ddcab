"""Array helpers for post-processing, numerically as PyTorch computes them in float32 on CPU (the
reference): softmax, sigmoid, bilinear and nearest resizing, box formats."""

from __future__ import annotations

import numpy as np


def to_numpy(value) -> np.ndarray:
    """A numpy array from an array, a list or any framework's tensor (detached and moved to the CPU first
    where the tensor offers that; half-precision floats become float32)."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu()
        if value.is_floating_point() and value.element_size() < 4:
            value = value.float()
    array = np.asarray(value)
    if array.dtype.kind in "fV" and array.dtype.itemsize < 4:  # float16, bfloat16 (kind V in ml_dtypes)
        array = array.astype(np.float32)
    return array


def output_field(outputs, name: str) -> np.ndarray:
    """`outputs.<name>` (a model output object or a dict) as a numpy array."""
    value = outputs.get(name) if isinstance(outputs, dict) else getattr(outputs, name, None)
    if value is None:
        raise ValueError(
            f"The model outputs have no {name!r}; pass the output of the model this processor belongs to "
            f"(got {type(outputs).__name__})."
        )
    return to_numpy(value)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e * (np.float32(1) / e.sum(axis=axis, keepdims=True))


def sigmoid(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    with np.errstate(over="ignore"):  # exp(-x) overflows to inf for very negative logits: 1 / inf = 0 is right
        return np.float32(1) / (np.float32(1) + np.exp(-x))


def _linear_weights(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Source indices and weights of linear resampling with align_corners=False, in float32 as PyTorch."""
    if in_size == out_size:
        index = np.arange(out_size)
        return index, index, np.ones(out_size, np.float32), np.zeros(out_size, np.float32)
    scale = np.float32(in_size) / np.float32(out_size)
    centres = np.arange(out_size, dtype=np.float32) + np.float32(0.5)
    # scale * centre - 0.5 rounded once (PyTorch's kernel is built with multiply-add contraction); the float32
    # product is exact in float64.
    source = (centres.astype(np.float64) * np.float64(scale) - 0.5).astype(np.float32)
    source = np.maximum(source, np.float32(0))
    index0 = source.astype(np.int64)
    index1 = np.where(index0 < in_size - 1, index0 + 1, index0)
    lambda1 = np.clip(source - index0.astype(np.float32), np.float32(0), np.float32(1))
    return index0, index1, np.float32(1) - lambda1, lambda1


def resize_bilinear(x: np.ndarray, size) -> np.ndarray:
    """Resize the last two axes of a float array to `size` (height, width): bilinear, half-pixel centres
    (torch.nn.functional.interpolate mode="bilinear", align_corners=False)."""
    x = np.asarray(x, dtype=np.float32)
    height, width = (int(s) for s in size)
    h0, h1, hw0, hw1 = _linear_weights(x.shape[-2], height)
    w0, w1, ww0, ww1 = _linear_weights(x.shape[-1], width)
    rows = _weighted_pair(x[..., w0], ww0, x[..., w1], ww1)
    return _weighted_pair(rows[..., h0, :], hw0[:, None], rows[..., h1, :], hw1[:, None])


def _weighted_pair(a: np.ndarray, wa: np.ndarray, b: np.ndarray, wb: np.ndarray) -> np.ndarray:
    """a * wa + b * wb in float32 rounded as PyTorch's CPU kernel computes it: b * wb rounded, a * wa fused
    into the sum (a multiply-add with one rounding, emulated in float64), which decides the sign of values
    next to zero and so the binarised masks."""
    return (a.astype(np.float64) * wa + (b * wb).astype(np.float32)).astype(np.float32)


def _nearest_index(in_size: int, out_size: int) -> np.ndarray:
    if in_size == out_size:
        return np.arange(out_size)
    if out_size == 2 * in_size:
        return np.arange(out_size) >> 1
    scale = np.float32(in_size) / np.float32(out_size)
    source = np.floor(np.arange(out_size, dtype=np.float32) * scale).astype(np.int64)
    return np.minimum(source, in_size - 1)


def resize_nearest(x: np.ndarray, size) -> np.ndarray:
    """Resize the last two axes to `size` (height, width) by nearest neighbour (torch's legacy "nearest")."""
    height, width = (int(s) for s in size)
    x = np.asarray(x)
    return x[..., _nearest_index(x.shape[-2], height)[:, None], _nearest_index(x.shape[-1], width)]


def center_to_corners(boxes: np.ndarray) -> np.ndarray:
    """(center_x, center_y, width, height) -> (x0, y0, x1, y1)."""
    boxes = np.asarray(boxes)
    cx, cy, w, h = np.moveaxis(boxes, -1, 0)
    half = boxes.dtype.type(0.5) if boxes.dtype.kind == "f" else 0.5
    return np.stack([cx - half * w, cy - half * h, cx + half * w, cy + half * h], axis=-1)


def corners_to_center(boxes: np.ndarray) -> np.ndarray:
    """(x0, y0, x1, y1) -> (center_x, center_y, width, height)."""
    x0, y0, x1, y1 = np.moveaxis(np.asarray(boxes), -1, 0)
    return np.stack([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0], axis=-1)


def target_size_list(target_sizes, batch_size: int) -> list[tuple[int, int]] | None:
    """target_sizes (None, a list of (height, width) or an (N, 2) array / tensor) as a list of int pairs."""
    if target_sizes is None:
        return None
    sizes = [tuple(int(v) for v in to_numpy(size).reshape(-1)) for size in target_sizes]
    if len(sizes) != batch_size:
        raise ValueError(
            f"Got {len(sizes)} target sizes for a batch of {batch_size}: give one (height, width) per image."
        )
    if any(len(size) != 2 for size in sizes):
        raise ValueError(f"Each target size must be a (height, width) pair, got {sizes}.")
    return sizes
