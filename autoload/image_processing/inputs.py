"""Turning what callers pass as images (PIL images, numpy arrays, framework tensors, lists of them) into
HWC RGB numpy arrays, with clear errors for what cannot be an image."""

from __future__ import annotations

import numpy as np

CHANNELS_FIRST, CHANNELS_LAST = "channels_first", "channels_last"
# Channel counts tried in order; within each, channels-first wins a tie as in transformers.
_CHANNEL_COUNTS = ((1, 3), (4,))


def is_pil_image(obj) -> bool:
    return hasattr(obj, "mode") and hasattr(obj, "convert") and hasattr(obj, "getbands")


def _is_array_like(obj) -> bool:
    return isinstance(obj, np.ndarray) or (hasattr(obj, "__array__") and not isinstance(obj, (str, bytes)))


def image_list(images) -> list:
    """One image, a 4-D batch array or a list of images -> a list of single images."""
    if is_pil_image(images):
        return [images]
    if _is_array_like(images):
        array = np.asarray(images)
        return list(array) if array.ndim == 4 else [array]
    if isinstance(images, (list, tuple)):
        if not images:
            raise ValueError("No images were given (an empty list).")
        return list(images)
    raise TypeError(
        f"Images must be PIL images, numpy arrays or framework tensors (or a list of them), got {type(images).__name__}."
    )


def flat_image_list(images):
    """A list of lists of images (one list per text, as processors pass them) as one flat list, as transformers'
    make_flat_list_of_images does for the image processors that use it; anything else unchanged."""
    if isinstance(images, (list, tuple)) and images and all(isinstance(group, (list, tuple)) for group in images):
        return [image for group in images for image in group]
    return images


def channel_format(shape: tuple, input_data_format: str | None) -> str:
    """Whether a 3-D array is CHW or HWC: as told, else by where a 1-, 3- or 4-channel axis is."""
    if input_data_format is not None:
        if input_data_format not in (CHANNELS_FIRST, CHANNELS_LAST):
            raise ValueError(
                f"input_data_format must be {CHANNELS_FIRST!r} or {CHANNELS_LAST!r}, got {input_data_format!r}."
            )
        return input_data_format
    for counts in _CHANNEL_COUNTS:
        if shape[0] in counts:
            return CHANNELS_FIRST
        if shape[-1] in counts:
            return CHANNELS_LAST
    raise ValueError(
        f"Images need 1 (gray), 3 (RGB) or 4 (RGBA) channels, on the first or last axis; got an array of shape "
        f"{tuple(shape)}. Convert it to RGB first."
    )


def to_rgb_array(image, input_data_format: str | None = None) -> np.ndarray:
    """One image -> HWC array with 3 channels. PIL images of any mode are converted to RGB (alpha dropped);
    arrays keep their dtype, gray ones are repeated over 3 channels and a 4th (alpha) channel is dropped."""
    if is_pil_image(image):
        if 0 in image.size:
            raise ValueError(f"Got an image of zero size (width x height {image.size[0]} x {image.size[1]}).")
        return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
    if not _is_array_like(image):
        raise TypeError(
            f"An image must be a PIL image, a numpy array or a framework tensor, got {type(image).__name__}."
        )
    array = np.asarray(image)
    if array.dtype.kind not in "uif":
        raise TypeError(
            f"Image arrays must hold integers (0-255) or floats, got dtype {array.dtype}. Convert with "
            "array.astype(np.uint8) or array.astype(np.float32)."
        )
    if array.ndim == 2:
        array = array[:, :, None]
    elif array.ndim != 3:
        raise ValueError(f"An image array must be 2-D (gray) or 3-D (HWC or CHW), got shape {array.shape}.")
    elif channel_format(array.shape, input_data_format) == CHANNELS_FIRST:
        array = np.moveaxis(array, 0, -1)
    if array.shape[-1] not in (1, 3, 4):
        raise ValueError(
            f"Images need 1 (gray), 3 (RGB) or 4 (RGBA) channels, got {array.shape[-1]} (HWC shape {array.shape})."
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"Got an image of zero size (height x width {array.shape[0]} x {array.shape[1]}).")
    if array.shape[-1] == 1:
        return np.repeat(array, 3, axis=-1)
    return array[..., :3]


def is_scaled(image: np.ndarray) -> bool:
    """True for float images already in [0, 1] (rescaling them again is usually a mistake)."""
    return image.dtype.kind == "f" and image.size > 0 and 0.0 <= image.min() and image.max() <= 1.0
