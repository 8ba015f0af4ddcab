"""Image operations on numpy arrays: the building blocks the image processors chain together."""

from __future__ import annotations

import numpy as np

_RESAMPLE_NAMES = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic", 4: "box", 5: "hamming"}


def as_rgb_array(image) -> np.ndarray:
    """PIL image or numpy array (HWC or CHW; gray, RGB or RGBA) -> HWC RGB array; bad inputs raise."""
    if hasattr(image, "mode") and hasattr(image, "convert"):  # PIL
        if image.size[0] == 0 or image.size[1] == 0:
            raise ValueError(f"Image has zero size {image.size}.")
        return np.asarray(image.convert("RGB") if image.mode != "RGB" else image)
    if not isinstance(image, np.ndarray):
        raise TypeError(f"Images must be PIL images or numpy arrays, got {type(image).__name__}.")
    if image.dtype.kind not in "uif":
        raise TypeError(f"Image arrays must have an integer or float dtype, got {image.dtype}.")
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3:
        raise ValueError(f"Image arrays must be 2-D (gray) or 3-D (HWC or CHW), got shape {image.shape}.")
    if image.shape[-1] not in (1, 3, 4) and image.shape[0] in (1, 3, 4):
        image = np.transpose(image, (1, 2, 0))  # CHW -> HWC
    channels = image.shape[-1]
    if channels not in (1, 3, 4):
        raise ValueError(
            f"Images need 1 (gray), 3 (RGB) or 4 (RGBA) channels; got an array of shape {image.shape} "
            f"({channels} channels)."
        )
    if 0 in image.shape:
        raise ValueError(f"Image has zero size {image.shape}.")
    if channels == 1:
        image = np.repeat(image, 3, axis=-1)
    elif channels == 4:
        image = image[..., :3]
    return image


def resize(image: np.ndarray, height: int, width: int, resample: int) -> np.ndarray:
    """Resize an HWC array with Pillow's filter `resample` (values above 1.0 are taken as 0-255 floats)."""
    from PIL import Image

    if image.dtype != np.uint8:
        if image.max() <= 1.0 and image.min() >= 0.0:
            image = np.round(image * 255)
        image = image.clip(0, 255).astype(np.uint8)
    pil = Image.fromarray(image).resize((width, height), resample=resample)
    return np.asarray(pil)


def shortest_edge_size(height: int, width: int, shortest: int) -> tuple[int, int]:
    """Output size keeping the aspect ratio with the shorter side equal to `shortest`."""
    short, long = (height, width) if height <= width else (width, height)
    new_long = int(shortest * long / short)
    return (shortest, new_long) if height <= width else (new_long, shortest)


def center_crop(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Crop the middle of an HWC array; zero-pad first when the crop is larger than the image."""
    h, w = image.shape[:2]
    if height > h or width > w:
        pad_h, pad_w = max(height - h, 0), max(width - w, 0)
        padded = np.zeros((h + pad_h, w + pad_w) + image.shape[2:], dtype=image.dtype)
        top, left = pad_h // 2, pad_w // 2
        padded[top : top + h, left : left + w] = image
        image, h, w = padded, h + pad_h, w + pad_w
    top, left = (h - height) // 2, (w - width) // 2
    return image[top : top + height, left : left + width]


def rescale(image: np.ndarray, factor: float) -> np.ndarray:
    return (image.astype(np.float64) * factor).astype(np.float32)


def normalize(image: np.ndarray, mean, std) -> np.ndarray:
    image = image.astype(np.float32)
    return (image - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)


def size_dict(size, default_to_square: bool = True) -> dict:
    """Accept an int, a (h, w) pair or a dict, as transformers' processors do."""
    if isinstance(size, dict):
        return dict(size)
    if isinstance(size, int):
        return {"height": size, "width": size} if default_to_square else {"shortest_edge": size}
    if isinstance(size, (tuple, list)) and len(size) == 2:
        return {"height": size[0], "width": size[1]}
    raise ValueError(f"size must be an int, a (height, width) pair or a dict, got {size!r}.")
