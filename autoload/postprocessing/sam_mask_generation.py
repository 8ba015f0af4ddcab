"""SAM automatic mask generation helpers (what transformers' mask-generation pipeline calls on
SamImageProcessor): crops with point grids, mask filtering by predicted IoU and stability, run-length
encoding, and non-maximum suppression across crops. Numpy only; results equal transformers' PyTorch ones."""

from __future__ import annotations

import itertools
import math

import numpy as np

from ..image_processing.inputs import CHANNELS_FIRST, channel_format
from ..processing_utils import check_tensor_type, to_tensor
from .arrays import to_numpy


def as_tensors(values: list, return_tensors):
    """Each array as the framework tensor return_tensors names (None or "np": left as numpy)."""
    tensor_type = check_tensor_type(return_tensors)
    if tensor_type in (None, "np"):
        return values
    return [to_tensor(value, tensor_type) for value in values]


def point_grid(points_per_side: int) -> np.ndarray:
    """(n*n, 2) x, y points in (0, 1), the centres of an n x n grid of cells, row by row."""
    offset = 1 / (2 * points_per_side)
    side = np.linspace(offset, 1 - offset, points_per_side)
    xs, ys = np.meshgrid(side, side)
    return np.stack([xs, ys], axis=-1).reshape(-1, 2)


def layer_crops(crop_n_layers: int, overlap_ratio: float, height: int, width: int) -> tuple[list, list]:
    """The whole image, then for layer i (from 1) a 2**i x 2**i grid of overlapping crops: ([left, top,
    right, bottom] boxes, layer of each)."""
    boxes, layers = [[0, 0, width, height]], [0]
    for layer in range(1, crop_n_layers + 1):
        per_side = 2**layer
        overlap = int(overlap_ratio * min(height, width) * (2 / per_side))
        crop_width = int(math.ceil((overlap * (per_side - 1) + width) / per_side))
        crop_height = int(math.ceil((overlap * (per_side - 1) + height) / per_side))
        lefts = [int((crop_width - overlap) * i) for i in range(per_side)]
        tops = [int((crop_height - overlap) * i) for i in range(per_side)]
        for left, top in itertools.product(lefts, tops):
            boxes.append([left, top, min(left + crop_width, width), min(top + crop_height, height)])
            layers.append(layer)
    return boxes, layers


def _scale_points(points: np.ndarray, target_size: int, height: int, width: int) -> np.ndarray:
    """Pixel points of an image of height x width into the frame SAM resizes it to (longest side target_size)."""
    scale = target_size * 1.0 / max(height, width)
    new_height, new_width = int(height * scale + 0.5), int(width * scale + 0.5)
    points = points.astype(float)
    points[..., 0] = points[..., 0] * (new_width / width)
    points[..., 1] = points[..., 1] * (new_height / height)
    return points


def generate_crop_boxes(image, target_size: int, crop_n_layers: int = 0, overlap_ratio: float = 512 / 1500,
                        points_per_crop: int = 32, crop_n_points_downscale_factor: int = 1,
                        input_data_format=None) -> tuple[np.ndarray, np.ndarray, list, np.ndarray]:  # fmt: skip
    """(crop_boxes float32 (crops, 4), points (1, points, crops, 2) in the resized full image's frame,
    cropped images, int64 labels (1, points, crops) all 1). Points are scaled by the full image's size, as
    transformers does, also for the smaller crops."""
    if isinstance(image, (list, tuple)):
        raise TypeError("Only one image is allowed for crop generation.")
    image = to_numpy(image)
    channels_first = image.ndim == 3 and channel_format(image.shape, input_data_format) == CHANNELS_FIRST
    height, width = image.shape[1:3] if channels_first else image.shape[:2]
    grids = [point_grid(int(points_per_crop / (crop_n_points_downscale_factor**i))) for i in range(crop_n_layers + 1)]
    boxes, layers = layer_crops(crop_n_layers, overlap_ratio, height, width)
    crops, points = [], []
    for (left, top, right, bottom), layer in zip(boxes, layers):
        crop = image[:, top:bottom, left:right] if channels_first else image[top:bottom, left:right]
        crops.append(crop)
        scale = np.array([right - left, bottom - top])[None, :]
        points.append(_scale_points(grids[layer] * scale, target_size, height, width))
    try:
        stacked = np.array([points]).transpose(0, 2, 1, 3)
    except ValueError as exc:
        raise ValueError(
            "The crop layers have different numbers of points (crop_n_points_downscale_factor > 1), which cannot "
            "be stacked into one array; use crop_n_points_downscale_factor=1."
        ) from exc
    return np.array(boxes).astype(np.float32), stacked, crops, np.ones(stacked.shape[:3], dtype=np.int64)


def stability_scores(masks: np.ndarray, mask_threshold: float, offset: float) -> np.ndarray:
    """IoU of the mask thresholded at mask_threshold + offset with the one at mask_threshold - offset."""
    inside = np.count_nonzero(masks > (mask_threshold + offset), axis=(-1, -2))
    around = np.count_nonzero(masks > (mask_threshold - offset), axis=(-1, -2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return inside.astype(np.float32) / around.astype(np.float32)


def masks_to_boxes(masks: np.ndarray) -> np.ndarray:
    """int64 (left, top, right, bottom) pixel boxes around boolean masks (..., height, width); [0, 0, 0, 0]
    for an empty mask."""
    if masks.size == 0:
        return np.zeros((*masks.shape[:-2], 4), dtype=np.float32)
    height, width = masks.shape[-2:]
    rows, cols = masks.any(axis=-1), masks.any(axis=-2)
    row_index, col_index = np.arange(height), np.arange(width)
    bottom = (rows * row_index).max(-1)
    top = np.where(rows, row_index, height).min(-1)
    right = (cols * col_index).max(-1)
    left = np.where(cols, col_index, width).min(-1)
    boxes = np.stack([left, top, right, bottom], axis=-1).astype(np.int64)
    empty = (right < left) | (bottom < top)
    return boxes * ~empty[..., None]


def _near_crop_edge(boxes: np.ndarray, crop_box, image_box, atol: float = 20.0) -> np.ndarray:
    """Whether a box (in crop coordinates) lies within atol of an edge of the crop that is not an edge of the
    image."""
    left, top = crop_box[0], crop_box[1]
    boxes = (boxes + np.array([left, top, left, top])).astype(np.float32)
    near_crop = np.abs(boxes - np.asarray(crop_box, dtype=np.float32)) <= atol
    near_image = np.abs(boxes - np.asarray(image_box, dtype=np.float32)) <= atol
    return (near_crop & ~near_image).any(axis=1)


def _pad_to_image(masks: np.ndarray, crop_box, height: int, width: int) -> np.ndarray:
    left, top, right, bottom = crop_box
    if (left, top, right, bottom) == (0, 0, width, height):
        return masks
    pad_x, pad_y = width - (right - left), height - (bottom - top)
    return np.pad(masks, ((0, 0), (top, pad_y - top), (left, pad_x - left)))


def mask_to_rle(masks: np.ndarray) -> list[dict]:
    """Uncompressed COCO run-length encodings ({"size": [h, w], "counts": [...]}, column-major, starting with
    a run of zeros) of boolean masks (n, height, width)."""
    count, height, width = masks.shape
    flat = masks.transpose(0, 2, 1).reshape(count, -1)
    encodings = []
    for mask in flat:
        changes = np.flatnonzero(mask[1:] != mask[:-1]) + 1
        runs = np.diff(np.concatenate([[0], changes, [height * width]])).tolist()
        encodings.append({"size": [height, width], "counts": ([0] if mask[0] else []) + runs})
    return encodings


def rle_to_mask(rle: dict) -> np.ndarray:
    """A boolean (height, width) mask from an uncompressed run-length encoding."""
    height, width = rle["size"]
    values = np.arange(len(rle["counts"])) % 2 == 1
    return np.repeat(values, rle["counts"]).reshape(width, height).transpose()


def filter_masks(masks, iou_scores, original_size, cropped_box_image, pred_iou_thresh: float = 0.88,
                 stability_score_thresh: float = 0.95, mask_threshold: float = 0, stability_score_offset: float = 1,
                 ) -> tuple[list[dict], np.ndarray, np.ndarray]:  # fmt: skip
    """(RLE masks, scores, boxes) of the masks (batch, n, h, w) that pass both thresholds and do not touch
    an inner edge of the crop, the masks padded from the crop to the original (height, width)."""
    height, width = (int(v) for v in original_size)
    masks = to_numpy(masks)
    masks = masks.reshape(-1, *masks.shape[2:])
    scores = to_numpy(iou_scores).reshape(-1)
    if masks.shape[0] != scores.shape[0]:
        raise ValueError("masks and iou_scores must have the same batch size.")
    keep = np.ones(len(scores), dtype=bool)
    if pred_iou_thresh > 0.0:
        keep &= scores > pred_iou_thresh
    if stability_score_thresh > 0.0:
        keep &= stability_scores(masks, mask_threshold, stability_score_offset) > stability_score_thresh
    scores, masks = scores[keep], masks[keep] > mask_threshold
    boxes = masks_to_boxes(masks)
    keep = ~_near_crop_edge(boxes, list(cropped_box_image), [0, 0, width, height])
    scores, masks, boxes = scores[keep], masks[keep], boxes[keep]
    return mask_to_rle(_pad_to_image(masks, list(cropped_box_image), height, width)), scores, boxes


def non_max_suppression(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices of the boxes (x0, y0, x1, y1) kept, best score first: each box drops every later one whose
    IoU with it exceeds iou_threshold (torchvision.ops.nms, in float32)."""
    boxes = boxes.astype(np.float32)
    x0, y0, x1, y1 = boxes.T
    areas = (x1 - x0) * (y1 - y0)
    order = np.argsort(-scores, kind="stable")
    suppressed = np.zeros(len(boxes), dtype=bool)
    kept = []
    for position, i in enumerate(order):
        if suppressed[i]:
            continue
        kept.append(i)
        rest = order[position + 1 :]
        inter_w = np.maximum(np.float32(0), np.minimum(x1[i], x1[rest]) - np.maximum(x0[i], x0[rest]))
        inter_h = np.maximum(np.float32(0), np.minimum(y1[i], y1[rest]) - np.maximum(y0[i], y0[rest]))
        inter = inter_w * inter_h
        with np.errstate(invalid="ignore", divide="ignore"):
            suppressed[rest[inter / (areas[i] + areas[rest] - inter) > iou_threshold]] = True
    return np.array(kept, dtype=np.int64)


def suppress_overlapping_masks(rle_masks: list, iou_scores, mask_boxes, nms_threshold: float = 0.7):
    """(masks, scores, RLE masks, boxes) left after non-maximum suppression on the boxes, best first."""
    scores, boxes = to_numpy(iou_scores), to_numpy(mask_boxes)
    keep = non_max_suppression(boxes, scores, nms_threshold)
    kept_rles = [rle_masks[i] for i in keep]
    return [rle_to_mask(rle) for rle in kept_rles], scores[keep], kept_rles, boxes[keep]
