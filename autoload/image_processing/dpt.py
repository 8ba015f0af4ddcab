"""DPT image processor (also Depth Anything): depth estimation and semantic segmentation inputs."""

from __future__ import annotations

import math

import numpy as np

from ..postprocessing.depth import depth_estimation
from . import label_maps, transforms
from .base import BICUBIC, IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD


def _to_multiple(value: float, multiple: int) -> int:
    """The multiple of `multiple` nearest to value (Python's round: halves to even)."""
    return round(value / multiple) * multiple


def output_size(height: int, width: int, size: dict, keep_aspect_ratio: bool, multiple: int) -> tuple[int, int]:
    """(height, width) DPT resizes to: size's height x width, or with keep_aspect_ratio one scale for both
    sides (the one closer to 1, so the image changes least), each side then rounded to a multiple."""
    if "height" not in size or "width" not in size:
        raise ValueError(f"DPTImageProcessor needs size with height and width, got {size}.")
    scale_height, scale_width = size["height"] / height, size["width"] / width
    if keep_aspect_ratio:
        if abs(1 - scale_width) < abs(1 - scale_height):
            scale_height = scale_width
        else:
            scale_width = scale_height
    multiple = multiple or 1
    return _to_multiple(scale_height * height, multiple), _to_multiple(scale_width * width, multiple)


def pad_centered_to_multiple(image: np.ndarray, size_divisor) -> np.ndarray:
    """Zero-pad height and width up to multiples of size_divisor, half before and half after (the odd
    extra row / column after)."""
    if not isinstance(size_divisor, (int, np.integer)) or size_divisor <= 0:
        raise ValueError(f"do_pad=True needs size_divisor, a positive int; got {size_divisor!r}.")
    padding = []
    for side in image.shape[:2]:
        extra = math.ceil(side / size_divisor) * size_divisor - side
        padding.append((extra // 2, extra - extra // 2))
    return np.pad(image, padding + [(0, 0)] * (image.ndim - 2))


class DPTImageProcessor(label_maps.LabelMapImageProcessor):
    """Resize to size (by default 384 x 384; with keep_aspect_ratio to the scale closest to 1 of the two, and
    each side to a multiple of ensure_multiple_of), rescale, normalise, and with do_pad zero-pad around to
    multiples of size_divisor. Segmentation maps (`labels`) are resized the same way, with the same filter,
    and not padded; `do_reduce_labels` makes class 0 the ignored 255 and moves the others down by one."""

    defaults = {
        "do_resize": True, "size": {"height": 384, "width": 384}, "resample": BICUBIC, "keep_aspect_ratio": False,
        "ensure_multiple_of": 1, "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
        "image_mean": IMAGENET_STANDARD_MEAN, "image_std": IMAGENET_STANDARD_STD, "do_pad": False,
        "size_divisor": None, "do_reduce_labels": False,
    }  # fmt: skip

    def resize_image(self, image, size, resample, settings):
        height, width = output_size(*image.shape[:2], size, settings.get("keep_aspect_ratio"),
                                    settings.get("ensure_multiple_of"))  # fmt: skip
        return transforms.resize(image, height, width, resample)

    def process_image(self, image, settings):
        image = super().process_image(image, settings)
        return pad_centered_to_multiple(image, settings.get("size_divisor")) if settings.get("do_pad") else image

    def process_label_map(self, label_map, settings):
        if settings.get("do_reduce_labels"):
            label_map = label_maps.reduce_labels(label_map)
        if settings.get("do_resize"):
            label_map = self.resize_image(label_map, settings["size"], settings.get("resample"), settings)
        return label_map

    def post_process_depth_estimation(self, outputs, target_sizes=None) -> list[dict[str, np.ndarray]]:
        """[{"predicted_depth": (height, width) float32}] per image, resized bicubically to its target (height,
        width) when target_sizes is given."""
        return depth_estimation(outputs, target_sizes)


DPTFeatureExtractor = DPTImageProcessor
