"""Segmentation maps (one class id per pixel) given with images for training: reading them, reducing
labels, resizing them alongside their images."""

from __future__ import annotations

import warnings

import numpy as np

from ..postprocessing import output_field, semantic_segmentation_from_logits
from ..processing_utils import BatchFeature
from . import transforms
from .base import BaseImageProcessor, in_data_format
from .inputs import CHANNELS_FIRST, image_list, is_pil_image

IGNORED_LABEL = 255  # where do_reduce_labels puts the background


def label_map_list(segmentation_maps) -> list[np.ndarray]:
    """One map, a 3-D array of maps or a list of maps -> a list of 2-D integer arrays."""
    if is_pil_image(segmentation_maps) or not isinstance(segmentation_maps, (list, tuple)):
        array = _as_array(segmentation_maps)
        return list(array) if array.ndim == 3 else [_two_dimensional(array)]
    if not segmentation_maps:
        raise ValueError("No segmentation maps were given (an empty list).")
    return [_two_dimensional(_as_array(item)) for item in segmentation_maps]


def _as_array(label_map) -> np.ndarray:
    array = np.asarray(label_map)
    if array.dtype.kind not in "uif":
        raise TypeError(
            f"Segmentation maps must be PIL images or arrays of class ids, got {type(label_map).__name__} "
            f"(dtype {array.dtype})."
        )
    return array


def _two_dimensional(array: np.ndarray) -> np.ndarray:
    if array.ndim == 3 and 1 in (array.shape[0], array.shape[-1]):
        return array[0] if array.shape[0] == 1 else array[..., 0]
    if array.ndim != 2:
        raise ValueError(
            f"A segmentation map must be 2-D (height x width, one class id per pixel), got shape {array.shape}."
        )
    return array


def check_count(images: list, label_maps: list, what: str = "segmentation maps") -> None:
    if len(images) != len(label_maps):
        raise ValueError(f"Got {len(images)} images but {len(label_maps)} {what}: give one per image.")


def reduce_labels(label_map: np.ndarray) -> np.ndarray:
    """Class 0 (background) and 255 become 255 (ignored), every other class id moves down by one."""
    return np.where((label_map == 0) | (label_map == IGNORED_LABEL), IGNORED_LABEL, label_map - 1).astype(
        label_map.dtype
    )


def resize_label_map(label_map: np.ndarray, height: int, width: int, resample) -> np.ndarray:
    """Resize as an 8-bit image (as transformers does: ids must lie in 0-255)."""
    return transforms.resize(label_map, height, width, resample)


def drop_ignored_fields(class_name: str, config: dict, names: tuple[str, ...]) -> None:
    """Remove older config fields that transformers 4.57 ignores (and does not save) for this class, such as
    `reduce_labels` (now do_reduce_labels, which keeps its own value)."""
    ignored = [name for name in names if config.pop(name, None) is not None]
    if ignored:
        warnings.warn(
            f"{class_name} ignores the older config fields {ignored}, as transformers 4.57 does.", stacklevel=4
        )


class LabelMapImageProcessor(BaseImageProcessor):
    """An image processor that also takes segmentation maps (returned as int64 `labels`, one map per image,
    through `process_label_map`) and turns semantic segmentation logits back into maps."""

    def __init__(self, **kwargs):
        drop_ignored_fields(type(self).__name__, kwargs, ("reduce_labels",))
        super().__init__(**kwargs)

    def __call__(self, images, segmentation_maps=None, **kwargs) -> BatchFeature:
        return self.preprocess(images, segmentation_maps=segmentation_maps, **kwargs)

    def preprocess(self, images, segmentation_maps=None, return_tensors=None, data_format: str = CHANNELS_FIRST,
                   input_data_format: str | None = None, **overrides) -> BatchFeature:  # fmt: skip
        settings = self.settings_for_call(overrides)
        pixels = self.process_images(images, settings, input_data_format)
        data = {"pixel_values": in_data_format(pixels, data_format)}
        if segmentation_maps is not None:
            maps = label_map_list(segmentation_maps)
            check_count(image_list(images), maps)
            data["labels"] = [self.process_label_map(m, settings).astype(np.int64) for m in maps]
        return BatchFeature(data, tensor_type=return_tensors)

    def process_label_map(self, label_map: np.ndarray, settings: dict) -> np.ndarray:
        raise NotImplementedError

    def post_process_semantic_segmentation(self, outputs, target_sizes=None) -> list[np.ndarray]:
        """One (height, width) int64 map of class ids per image, from `outputs.logits` (batch, classes, h, w);
        with target_sizes the logits are first resized bilinearly to each (height, width)."""
        return semantic_segmentation_from_logits(output_field(outputs, "logits"), target_sizes)
