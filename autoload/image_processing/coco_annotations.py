"""COCO detection and panoptic annotations -> the `labels` DETR-style models train on, and how they follow
their image through resizing, box normalisation and padding."""

from __future__ import annotations

import os

import numpy as np

from ..postprocessing.arrays import corners_to_center
from . import transforms

COCO_DETECTION, COCO_PANOPTIC = "coco_detection", "coco_panoptic"
NEAREST = 0


def check_annotations(annotations, annotation_format: str, image_count: int) -> list[dict]:
    """One annotation dict per image, in the keys the format needs."""
    if annotation_format not in (COCO_DETECTION, COCO_PANOPTIC):
        raise ValueError(
            f"Unsupported annotation format {annotation_format!r}: use {COCO_DETECTION!r} or {COCO_PANOPTIC!r}."
        )
    if isinstance(annotations, dict):
        annotations = [annotations]
    annotations = list(annotations)
    if len(annotations) != image_count:
        raise ValueError(f"The number of images ({image_count}) and annotations ({len(annotations)}) do not match.")
    needed, listed = (("image_id", "annotations"), "annotations")
    if annotation_format == COCO_PANOPTIC:
        needed, listed = (("image_id", "segments_info", "file_name"), "segments_info")
    for annotation in annotations:
        valid = isinstance(annotation, dict) and all(key in annotation for key in needed)
        if not valid or not isinstance(annotation[listed], (list, tuple)):
            raise ValueError(
                f"Invalid {annotation_format} annotations: each image needs a dict with the keys "
                f"{', '.join(needed)}, where {listed} is a list of COCO-format dicts; got {annotation!r:.200}."
            )
    return annotations


def detection_labels(target: dict, height: int, width: int, return_segmentation_masks: bool) -> dict:
    """A COCO detection annotation (boxes as x, y, width, height) -> corner boxes clipped to the image, with
    crowd regions and empty boxes left out."""
    if return_segmentation_masks:
        raise NotImplementedError(
            "return_segmentation_masks=True with COCO detection annotations rasterises COCO polygons, which "
            "autoload does not do. Use the coco_panoptic format (masks from PNG files) or leave it False."
        )
    objects = [obj for obj in target["annotations"] if obj.get("iscrowd", 0) == 0]
    boxes = np.asarray([obj["bbox"] for obj in objects], dtype=np.float32).reshape(-1, 4)
    boxes[:, 2:] += boxes[:, :2]
    boxes[:, 0::2] = boxes[:, 0::2].clip(min=0, max=width)
    boxes[:, 1::2] = boxes[:, 1::2].clip(min=0, max=height)
    keep = (boxes[:, 3] > boxes[:, 1]) & (boxes[:, 2] > boxes[:, 0])
    labels = {
        "image_id": np.asarray([target["image_id"]], dtype=np.int64),
        "class_labels": np.asarray([obj["category_id"] for obj in objects], dtype=np.int64)[keep],
        "boxes": boxes[keep],
        "area": np.asarray([obj["area"] for obj in objects], dtype=np.float32)[keep],
        "iscrowd": np.asarray([obj.get("iscrowd", 0) for obj in objects], dtype=np.int64)[keep],
        "orig_size": np.asarray([height, width], dtype=np.int64),
    }
    if objects and "keypoints" in objects[0]:
        keypoints = np.asarray([obj["keypoints"] for obj in objects], dtype=np.float32)[keep]
        labels["keypoints"] = keypoints.reshape(-1, 3) if len(keypoints) else keypoints
    return labels


def rgb_to_id(rgb: np.ndarray) -> np.ndarray:
    """COCO panoptic PNG colours -> segment ids (R + 256 G + 65536 B)."""
    if rgb.dtype == np.uint8:
        rgb = rgb.astype(np.int32)
    return rgb[..., 0] + 256 * rgb[..., 1] + 256 * 256 * rgb[..., 2]


def masks_to_boxes(masks: np.ndarray) -> np.ndarray:
    """(x0, y0, x1, y1) around each mask, x1 / y1 being the last covered column / row."""
    if masks.size == 0:
        return np.zeros((0, 4))
    height, width = masks.shape[-2:]
    y, x = np.meshgrid(np.arange(height, dtype=np.float32), np.arange(width, dtype=np.float32), indexing="ij")
    covered = masks.astype(bool)
    x_mask, y_mask = masks * x, masks * y
    flat = masks.shape[0], -1
    far = np.float32(1e8)  # where a mask is empty, its minimum
    x_min = np.where(covered, x_mask, far).reshape(flat).min(-1)
    y_min = np.where(covered, y_mask, far).reshape(flat).min(-1)
    return np.stack([x_min, y_min, x_mask.reshape(flat).max(-1), y_mask.reshape(flat).max(-1)], 1)


def panoptic_labels(target: dict, height: int, width: int, masks_path, return_masks: bool) -> dict:
    """A COCO panoptic annotation (segments painted in a PNG under masks_path) -> one binary mask, box and
    class per segment."""
    from PIL import Image

    labels = {
        "image_id": np.asarray([target["image_id"] if "image_id" in target else target["id"]], dtype=np.int64),
        "size": np.asarray([height, width], dtype=np.int64),
        "orig_size": np.asarray([height, width], dtype=np.int64),
    }
    if "segments_info" not in target:
        return labels
    if masks_path is None:
        raise ValueError("COCO panoptic annotations need masks_path: the folder that holds their PNG files.")
    path = os.path.join(os.fspath(masks_path), target["file_name"])
    if not os.path.isfile(path):
        raise FileNotFoundError(f"The panoptic mask {target['file_name']!r} is not in masks_path ({masks_path}).")
    with Image.open(path) as png:
        ids = rgb_to_id(np.asarray(png, dtype=np.uint32))
    segments = target["segments_info"]
    masks = (ids == np.asarray([s["id"] for s in segments])[:, None, None]).astype(np.uint8)
    if return_masks:
        labels["masks"] = masks
    labels["boxes"] = masks_to_boxes(masks)
    labels["class_labels"] = np.asarray([s["category_id"] for s in segments], dtype=np.int64)
    labels["iscrowd"] = np.asarray([s["iscrowd"] for s in segments], dtype=np.int64)
    labels["area"] = np.asarray([s["area"] for s in segments], dtype=np.float32)
    return labels


def resize_labels(labels: dict, original_size: tuple[int, int], size: tuple[int, int]) -> dict:
    """Labels for the image resized from original_size to size (both height, width)."""
    ratio_height, ratio_width = (float(new) / float(old) for new, old in zip(size, original_size))
    resized = {"size": size}
    for key, value in labels.items():
        if key == "boxes":
            resized[key] = value * np.asarray([ratio_width, ratio_height] * 2, dtype=np.float32)
        elif key == "area":
            resized[key] = value * np.float32(ratio_width * ratio_height)
        elif key == "masks":
            masks = [transforms.resize(mask, size[0], size[1], NEAREST) for mask in value]
            resized[key] = np.asarray(masks, dtype=np.float32).reshape(len(value), *size) > 0.5
        elif key != "size":
            resized[key] = value
    return resized


def normalize_boxes(labels: dict, height: int, width: int) -> dict:
    """Boxes as (center_x, center_y, width, height) relative to the image."""
    if "boxes" not in labels:
        return labels
    boxes = corners_to_center(labels["boxes"])
    return {**labels, "boxes": boxes / np.asarray([width, height, width, height], dtype=np.float32)}


def pad_labels(labels: dict, size: tuple[int, int], padded_size: tuple[int, int], update_boxes: bool) -> dict:
    """Labels for the image padded (below and right) from size to padded_size; relative boxes shrink to stay
    on the same pixels."""
    padded = {"size": padded_size}
    for key, value in labels.items():
        if key == "masks":
            extra = ((0, 0), (0, padded_size[0] - size[0]), (0, padded_size[1] - size[1]))
            padded[key] = np.pad(value, extra, mode="constant", constant_values=0)
        elif key == "boxes" and update_boxes:
            ratios = np.asarray([size[1] / padded_size[1], size[0] / padded_size[0]] * 2)
            padded[key] = (value.astype(np.float64) * ratios).astype(value.dtype)
        elif key != "size":
            padded[key] = value
    return padded
