"""Depth estimation post-processing (DPT, Depth Anything): predicted depth resized to each image's size."""

from __future__ import annotations

import numpy as np

from ..vision import bicubic_matrix
from .arrays import output_field, target_size_list


def resize_bicubic(x: np.ndarray, size) -> np.ndarray:
    """Resize the last two axes of a float array to `size` (height, width): bicubic (a = -0.75), half-pixel
    centres, edges repeated (torch.nn.functional.interpolate mode="bicubic", align_corners=False)."""
    height, width = (int(s) for s in size)
    rows = bicubic_matrix(x.shape[-2], height).astype(np.float64)
    cols = bicubic_matrix(x.shape[-1], width).astype(np.float64)
    return (rows @ x.astype(np.float64) @ cols.T).astype(np.float32)


def depth_estimation(outputs, target_sizes=None) -> list[dict[str, np.ndarray]]:
    """[{"predicted_depth": array}] per image from `outputs.predicted_depth` (batch, height, width)."""
    depths = output_field(outputs, "predicted_depth")
    sizes = target_size_list(target_sizes, len(depths)) or [None] * len(depths)
    results = []
    for depth, size in zip(depths, sizes):
        if size is not None:
            depth = np.squeeze(resize_bicubic(depth, size))
        results.append({"predicted_depth": depth})
    return results
