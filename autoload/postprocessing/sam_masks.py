"""SAM's predicted masks back to the original images: undo the padding and the resizing."""

from __future__ import annotations

import numpy as np

from .arrays import resize_bilinear, to_numpy


def _pairs(sizes, what: str) -> list[tuple[int, int]]:
    pairs = [tuple(int(v) for v in to_numpy(size).reshape(-1)) for size in sizes]
    if any(len(pair) != 2 for pair in pairs):
        raise ValueError(f"{what} must hold one (height, width) pair per image, got {pairs}.")
    return pairs


def upscale_masks(masks, original_sizes, reshaped_input_sizes, mask_threshold: float = 0.0, binarize: bool = True,
                  pad_size=None) -> list[np.ndarray]:  # fmt: skip
    """Per image i: masks[i] (..., h, w) resized bilinearly to pad_size (height, width), cropped to the resized
    image reshaped_input_sizes[i], resized to original_sizes[i]; with binarize, `> mask_threshold` (bool)."""
    originals = _pairs(original_sizes, "original_sizes")
    reshaped = _pairs(reshaped_input_sizes, "reshaped_input_sizes")
    if len(reshaped) != len(originals):
        raise ValueError(f"Got {len(originals)} original_sizes but {len(reshaped)} reshaped_input_sizes.")
    if len(masks) < len(originals):
        raise ValueError(f"Got masks for {len(masks)} images but sizes for {len(originals)}.")
    if isinstance(pad_size, dict):
        pad = (pad_size["height"], pad_size["width"])
    elif isinstance(pad_size, (int, np.integer)):
        pad = (int(pad_size), int(pad_size))
    else:
        raise ValueError(f"pad_size must be a dict with height and width, or an int; got {pad_size!r}.")
    results = []
    for mask, original, (height, width) in zip(masks, originals, reshaped):
        mask = to_numpy(mask)
        if mask.ndim < 2:
            raise ValueError(f"Each image's masks must be (..., height, width), got shape {mask.shape}.")
        upscaled = resize_bilinear(mask, pad)[..., :height, :width]
        upscaled = resize_bilinear(upscaled, original)
        results.append(upscaled > mask_threshold if binarize else upscaled)
    return results
