"""SamProcessor: SAM's image processor plus the point and box prompts, mapped into the resized image."""

from __future__ import annotations

import numpy as np

from ..image_processing.sam import longest_edge_size
from ..processing_utils import check_tensor_type, to_tensor
from .base import ProcessorMixin

# Dimensions the prompts have when SamProcessor returns framework tensors (a point-batch axis is added).
_PROMPT_NDIM = {"input_boxes": 3, "input_points": 4, "input_labels": 3}


def _as_nested_list(value, name: str, depth: int, what: str) -> list:
    if hasattr(value, "tolist") and not isinstance(value, list):  # numpy arrays and framework tensors
        value = np.asarray(value.detach().cpu() if hasattr(value, "detach") else value).tolist()
    probe = value
    for _ in range(depth):
        if not isinstance(probe, list) or not probe:
            raise ValueError(f"{name} must be {what}, got {value!r}.")
        probe = probe[0]
    return value


class SamProcessor(ProcessorMixin):
    """`processor(images, input_points=…, input_labels=…, input_boxes=…)`: the image processor's outputs plus
    the prompts, their (x, y) coordinates given in the original image scaled into the resized one, as
    `input_points` (float64), `input_labels` (int64) and `input_boxes` (float64). Images with fewer points
    are padded with point_pad_value (points and labels). With return_tensors "pt" or "tf" a point-batch axis
    is added where missing, as in transformers; otherwise the arrays keep the nesting they were given."""

    parts = {"image_processor": "AutoImageProcessor"}

    def __init__(self, image_processor=None):
        super().__init__(image_processor=image_processor)
        self.target_size = self.image_processor.size["longest_edge"]

    @property
    def model_input_names(self) -> list[str]:
        return [*self.image_processor.model_input_names, "original_sizes", "reshaped_input_sizes"]

    def __call__(self, images=None, text=None, audio=None, video=None, segmentation_maps=None, input_points=None,
                 input_labels=None, input_boxes=None, point_pad_value: int = -10, return_tensors=None, **kwargs):  # fmt: skip
        if images is None:
            raise ValueError("SamProcessor needs images (the prompts are placed relative to them).")
        encoding = self.image_processor(images, segmentation_maps=segmentation_maps, return_tensors=return_tensors,
                                        **kwargs)  # fmt: skip
        original_sizes = [tuple(int(v) for v in np.asarray(size)) for size in encoding["original_sizes"]]
        prompts = {}
        if input_boxes is not None:
            boxes = _as_nested_list(input_boxes, "input_boxes", 3, "a list (per image) of lists of [x0, y0, x1, y1] boxes")
            prompts["input_boxes"] = np.array(self._scaled(
                [np.array(b).astype(np.float32) for b in boxes], original_sizes, boxes=True
            ))  # fmt: skip
        labels = None
        if input_labels is not None:
            labels = [np.array(x) for x in _as_nested_list(input_labels, "input_labels", 2, "a list of lists of ints")]
        if input_points is not None:
            points = _as_nested_list(input_points, "input_points", 2, "a list (per image) of lists of [x, y] points")
            points = self._scaled([np.array(p) for p in points], original_sizes)
            if labels is not None and any(p.shape != points[0].shape for p in points):
                points, labels = self._padded(points, labels, point_pad_value)
            prompts["input_points"] = np.array(points)
        if labels is not None:
            prompts["input_labels"] = np.array(labels)
        tensor_type = check_tensor_type(return_tensors)
        for name, value in prompts.items():
            if tensor_type in ("pt", "tf"):
                if value.ndim != _PROMPT_NDIM[name]:
                    value = np.expand_dims(value, 1)
                value = to_tensor(value, tensor_type, name)
            encoding[name] = value
        return encoding

    def _scaled(self, coordinates: list[np.ndarray], original_sizes: list, boxes: bool = False) -> list[np.ndarray]:
        """Each image's coordinates scaled by its resized / original size (with fewer prompt lists than images,
        all by the first image's)."""
        if len(coordinates) != len(original_sizes):
            return [self._scale(c, original_sizes[0], boxes) for c in coordinates]
        return [self._scale(c, size, boxes) for c, size in zip(coordinates, original_sizes)]

    def _scale(self, coordinates: np.ndarray, original_size, boxes: bool) -> np.ndarray:
        old_height, old_width = original_size
        new_height, new_width = longest_edge_size(old_height, old_width, self.target_size)
        coordinates = coordinates.astype(float)
        if boxes:
            coordinates = coordinates.reshape(-1, 2, 2)
        coordinates[..., 0] = coordinates[..., 0] * (new_width / old_width)
        coordinates[..., 1] = coordinates[..., 1] * (new_height / old_height)
        return coordinates.reshape(-1, 4) if boxes else coordinates

    @staticmethod
    def _padded(points: list[np.ndarray], labels: list[np.ndarray], pad_value) -> tuple[list, list]:
        """Points and labels of every image padded with pad_value to the largest number of points. (transformers
        pads the labels by one value only, and so fails where an image is two or more points short.)"""
        count = max(p.shape[0] for p in points)
        padded_points, padded_labels = [], []
        for point, label in zip(points, labels):
            missing = count - point.shape[0]
            if missing:
                point = np.concatenate([point, np.zeros((missing, 2)) + pad_value], axis=0)
                label = np.append(label, [pad_value] * missing)
            padded_points.append(point)
            padded_labels.append(label)
        return padded_points, padded_labels

    def post_process_masks(self, *args, **kwargs):
        return self.image_processor.post_process_masks(*args, **kwargs)
