"""Position ids for decoding a padded batch, as transformers' generate() derives them from the mask."""

from __future__ import annotations

import numpy as np


def mask_positions(attention_mask) -> np.ndarray:
    """[batch, length] positions counting only real tokens (0, 1, … from each row's first real token);
    padding gets 1, whatever it is, since nothing attends to it."""
    mask = np.asarray(attention_mask)
    positions = np.cumsum(mask.astype(np.int64), axis=-1) - 1
    return np.where(mask == 0, 1, positions)
