"""Pixel operations on HWC numpy arrays, with transformers' (slow, Pillow-based) numerics: the building
blocks the image processors chain together."""

from __future__ import annotations

import numpy as np

# Pillow's filter numbers, as preprocessor_config.json stores `resample`.
RESAMPLE_FILTERS = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic", 4: "box", 5: "hamming"}
BILINEAR = 2
_SIZE_KEY_SETS = ({"height", "width"}, {"shortest_edge"}, {"shortest_edge", "longest_edge"}, {"longest_edge"},
                  {"max_height", "max_width"})  # fmt: skip


def size_dict(size, default_to_square: bool = True, param_name: str = "size") -> dict | None:
    """`size` / `crop_size` as a dict. Older configs hold an int (a square, or the shortest edge where the
    processor keeps the aspect ratio) or a (height, width) pair."""
    if isinstance(size, dict):  # flags beside the sides (true / false) are not sides; config checks skip them too
        size = {key: value for key, value in size.items() if not isinstance(value, bool)}
    if size is None or isinstance(size, dict):
        if size is not None and set(size) not in _SIZE_KEY_SETS:
            raise ValueError(
                f"{param_name} must have the keys height and width, or shortest_edge (and longest_edge); got {size}."
            )
        return None if size is None else dict(size)
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        return {"height": int(size), "width": int(size)} if default_to_square else {"shortest_edge": int(size)}
    if isinstance(size, (tuple, list)) and len(size) == 2:
        return {"height": int(size[0]), "width": int(size[1])}
    raise ValueError(f"{param_name} must be an int, a (height, width) pair or a dict, got {size!r}.")


def shortest_edge_size(height: int, width: int, shortest: int, longest: int | None = None) -> tuple[int, int]:
    """(height, width) keeping the aspect ratio, the shorter side set to `shortest` (the longer truncated).
    With `longest`, a longer side beyond it is set to `longest` and the shorter scaled down to match."""
    short, long = (height, width) if height <= width else (width, height)
    new_short, new_long = shortest, int(shortest * long / short)
    if longest is not None:
        if longest <= shortest:
            raise ValueError(f"longest_edge ({longest}) must be greater than shortest_edge ({shortest}).")
        if new_long > longest:
            new_short, new_long = int(longest * new_short / new_long), longest
    return (new_short, new_long) if height <= width else (new_long, new_short)


def _uint8_for_pillow(image: np.ndarray) -> tuple[np.ndarray, bool]:
    """(uint8 pixels, whether they were scaled up from [0, 1]). Integral values in 0-255 are kept; other
    floats must lie in [0, 1], are multiplied by 255 and truncated (not rounded), as transformers does."""
    if image.dtype == np.uint8:
        return image, False
    if np.allclose(image, image.astype(np.int64)):
        if image.min() >= 0 and image.max() <= 255:
            return image.astype(np.uint8), False
    elif image.min() >= 0 and image.max() <= 1:
        return rescale(image, 255).astype(np.uint8), True
    raise ValueError(
        f"Cannot resize an image with values in [{image.min()}, {image.max()}]: Pillow needs integers in 0-255 "
        "or floats in [0, 1]."
    )


def resize(image: np.ndarray, height: int, width: int, resample: int | None = None) -> np.ndarray:
    """Resize an HWC (or 2-D) array with Pillow's filter `resample` (bilinear when None); uint8 stays uint8,
    [0, 1] floats come back as float32 in [0, 1]."""
    from PIL import Image

    resample = BILINEAR if resample is None else resample
    if not isinstance(resample, (int, np.integer)) or int(resample) not in RESAMPLE_FILTERS:
        raise ValueError(f"resample must be one of Pillow's filters {RESAMPLE_FILTERS}, got {resample!r}.")
    if height <= 0 or width <= 0:
        raise ValueError(f"Cannot resize to {height} x {width} (height x width): both must be positive.")
    pixels, scaled_up = _uint8_for_pillow(image)
    one_channel = pixels.ndim == 3 and pixels.shape[-1] == 1  # Pillow takes a single channel as a 2-D array
    source = Image.fromarray(pixels[..., 0] if one_channel else pixels)
    resized = np.asarray(source.resize((width, height), resample=int(resample)))
    resized = resized[..., None] if one_channel else resized
    return rescale(resized, 1 / 255) if scaled_up else resized


def center_crop(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """The middle height x width of an HWC array. A side shorter than the crop is zero-padded first, with
    the odd extra row / column of padding on the top / left (transformers' placement)."""
    h, w = image.shape[:2]
    top, left = (h - height) // 2, (w - width) // 2
    if top >= 0 and left >= 0:
        return image[top : top + height, left : left + width]
    pad_top, pad_left = max(-top, 0), max(-left, 0)  # = ceil(shortfall / 2)
    padded = np.zeros((max(h, height), max(w, width)) + image.shape[2:], dtype=image.dtype)
    padded[pad_top : pad_top + h, pad_left : pad_left + w] = image
    top, left = max(top, 0), max(left, 0)
    return padded[top : top + height, left : left + width]


def rescale(image: np.ndarray, factor: float) -> np.ndarray:
    """Multiply in float64, return float32."""
    return (image.astype(np.float64) * factor).astype(np.float32)


def normalize(image: np.ndarray, mean, std) -> np.ndarray:
    """(image - mean) / std per channel (last axis), in the image's float type (float32 for integers)."""
    if image.dtype.kind != "f":
        image = image.astype(np.float32)
    channels = image.shape[-1]

    def per_channel(values, name: str) -> np.ndarray:
        values = np.asarray(values, dtype=image.dtype)
        if values.ndim == 0:
            return np.full(channels, values, dtype=image.dtype)
        if values.shape != (channels,):
            raise ValueError(f"{name} needs {channels} values (one per channel) or one number, got {values.tolist()}.")
        return values

    mean, std = per_channel(mean, "image_mean"), per_channel(std, "image_std")
    return (image - mean) / std


def flip_channel_order(image: np.ndarray) -> np.ndarray:
    """RGB <-> BGR of an HWC array."""
    return np.ascontiguousarray(image[..., ::-1])


def pad_bottom_right(image: np.ndarray, height: int, width: int, value=0) -> np.ndarray:
    """Pad an HWC (or 2-D) array with `value` below and to the right up to height x width."""
    h, w = image.shape[:2]
    if h > height or w > width:
        raise ValueError(f"Cannot pad an image of {h} x {w} (height x width) to the smaller {height} x {width}.")
    padding = ((0, height - h), (0, width - w)) + ((0, 0),) * (image.ndim - 2)
    return np.pad(image, padding, mode="constant", constant_values=value)


def valid_region_mask(height: int, width: int, padded_height: int, padded_width: int) -> np.ndarray:
    """int64 padded_height x padded_width: 1 on the top-left height x width (the image), 0 on the padding."""
    mask = np.zeros((padded_height, padded_width), dtype=np.int64)
    mask[:height, :width] = 1
    return mask
