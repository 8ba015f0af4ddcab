"""Backend-neutral numerics for vision models."""

from __future__ import annotations

import numpy as np

_CUBIC_A = -0.75  # the cubic-convolution constant PyTorch's bicubic resize uses


def _cubic_weights(t: float) -> list[float]:
    a = _CUBIC_A

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def bicubic_matrix(in_size: int, out_size: int) -> np.ndarray:
    """[out, in] matrix M with M @ x equal to PyTorch's bicubic resize (align_corners=False) of x along one
    axis, so any framework can resize a grid exactly like `torch.nn.functional.interpolate`."""
    matrix = np.zeros((out_size, in_size), dtype=np.float64)
    scale = in_size / out_size
    for i in range(out_size):
        source = scale * (i + 0.5) - 0.5
        base = int(np.floor(source))
        for offset, weight in zip(range(-1, 3), _cubic_weights(source - base)):
            matrix[i, min(max(base + offset, 0), in_size - 1)] += weight
    return matrix.astype(np.float32)
