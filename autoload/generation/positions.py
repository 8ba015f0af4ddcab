"""Position ids and attention masks for decoding a padded batch, as transformers' generate() derives them."""

from __future__ import annotations

import inspect

import numpy as np


def mask_positions(attention_mask) -> np.ndarray:
    """[batch, length] positions counting only real tokens (0, 1, … from each row's first real token);
    padding gets 1, whatever it is, since nothing attends to it."""
    mask = np.asarray(attention_mask)
    positions = np.cumsum(mask.astype(np.int64), axis=-1) - 1
    return np.where(mask == 0, 1, positions)


def widened_mask(mask, width: int):
    """An attention mask widened with ones (generated tokens are real) to `width` keys; None stays None."""
    if mask is None or mask.shape[1] >= width:
        return mask
    return np.concatenate([mask, np.ones((mask.shape[0], width - mask.shape[1]), mask.dtype)], axis=1)


def decoder_mask_taken(model, inputs: dict):
    """The decoder_attention_mask in generate()'s inputs of an encoder-decoder (None without one), checked
    against what the model's decode() takes."""
    mask = inputs.get("decoder_attention_mask")
    if mask is not None and "decoder_attention_mask" not in inspect.signature(model.decode).parameters:
        raise NotImplementedError(f"{type(model).__name__}.generate() does not take a decoder_attention_mask in "
                                  "this framework; generate without one (no padding in decoder_input_ids).")  # fmt: skip
    return None if mask is None else np.asarray(mask)


def decoder_mask_inputs(mask) -> dict:
    """A model call's decoder_attention_mask and the decoder_position_ids transformers' generate derives from
    it (left padding does not move the real tokens' positions); {} without a mask."""
    if mask is None:
        return {}
    mask = np.asarray(mask)
    return {"decoder_attention_mask": mask, "decoder_position_ids": mask_positions(mask)}
