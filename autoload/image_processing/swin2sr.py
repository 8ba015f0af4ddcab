"""Swin2SR image processor (super-resolution inputs): rescale and pad to a multiple of the window size."""

from __future__ import annotations

import numpy as np

from .base import BaseImageProcessor


def pad_past_multiple(image: np.ndarray, multiple: int) -> np.ndarray:
    """Mirror-pad (numpy's "symmetric") below and to the right up to the next multiple of `multiple` strictly
    above each side: a side that already is a multiple still gains `multiple` rows / columns, as transformers
    pads."""
    if not isinstance(multiple, (int, np.integer)) or multiple <= 0:
        raise ValueError(f"size_divisor must be a positive int, got {multiple!r}.")
    height, width = image.shape[:2]
    extra_rows = (height // multiple + 1) * multiple - height
    extra_cols = (width // multiple + 1) * multiple - width
    padding = ((0, extra_rows), (0, extra_cols)) + ((0, 0),) * (image.ndim - 2)
    return np.pad(image, padding, mode="symmetric")


class Swin2SRImageProcessor(BaseImageProcessor):
    """Rescale to [0, 1], then pad by mirroring to the next multiple of size_divisor (no resizing, no
    normalisation). Older configs name size_divisor `pad_size`; as in transformers it only counts when
    size_divisor is set to None, and is not written back."""

    defaults = {"do_rescale": True, "rescale_factor": 1 / 255, "do_pad": True, "size_divisor": 8}

    def __init__(self, **kwargs):
        pad_size = kwargs.pop("pad_size", None)
        super().__init__(**kwargs)
        if self.size_divisor is None:
            self.size_divisor = pad_size

    def process_image(self, image, settings):
        image = super().process_image(image, settings)
        if settings.get("do_pad"):
            image = pad_past_multiple(image, settings.get("size_divisor"))
        return image

