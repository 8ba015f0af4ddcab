"""OWL-ViT detection post-processing: text-queried (one sigmoid score per box and query) and image-guided
(boxes like the query image's object, with score-based suppression of overlaps)."""

from __future__ import annotations

import numpy as np

from .arrays import center_to_corners, output_field, sigmoid, to_numpy


def scale_boxes(boxes: np.ndarray, target_sizes) -> np.ndarray:
    """Relative (x0, y0, x1, y1) boxes (batch, n, 4) in pixels of each image's target (height, width)."""
    sizes = to_numpy(target_sizes)
    if sizes.ndim != 2 or sizes.shape[1] != 2:
        raise ValueError(f"target_sizes must hold one (height, width) pair per image, got shape {sizes.shape}.")
    heights, widths = sizes[:, 0], sizes[:, 1]
    factors = np.stack([widths, heights, widths, heights], axis=1).astype(boxes.dtype)
    return boxes * factors[:, None, :]


def _check_batch(target_sizes, batch_size: int) -> None:
    if target_sizes is not None and len(target_sizes) != batch_size:
        raise ValueError(
            f"Got {len(target_sizes)} target sizes for a batch of {batch_size}: give one (height, width) per image."
        )


def best_queries(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sigmoid of the best query's logit, index of that query) per box."""
    return sigmoid(logits.max(axis=-1)), logits.argmax(axis=-1)


def text_queried_detection(outputs, threshold: float = 0.1, target_sizes=None) -> list[dict[str, np.ndarray]]:
    """Per image {"scores", "labels" (the query index), "boxes" (x0, y0, x1, y1)} of the boxes whose best query
    scores above threshold; boxes in pixels of target_sizes (height, width) when given, else relative."""
    logits, boxes = output_field(outputs, "logits"), output_field(outputs, "pred_boxes")
    _check_batch(target_sizes, len(logits))
    scores, labels = best_queries(logits)
    boxes = center_to_corners(boxes)
    if target_sizes is not None:
        boxes = scale_boxes(boxes, target_sizes)
    results = []
    for image_scores, image_labels, image_boxes in zip(scores, labels, boxes):
        keep = image_scores > threshold
        results.append({"scores": image_scores[keep], "labels": image_labels[keep], "boxes": image_boxes[keep]})
    return results


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one (x0, y0, x1, y1) box with each of `boxes`, in the boxes' float type."""
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    width_height = np.clip(np.minimum(box[2:], boxes[:, 2:]) - np.maximum(box[:2], boxes[:, :2]), 0, None)
    inter = width_height[:, 0] * width_height[:, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return inter / (area + areas - inter)


def image_guided_detection(outputs, threshold: float = 0.0, nms_threshold: float = 0.3,
                           target_sizes=None) -> list[dict]:  # fmt: skip
    """Per image with any box left: {"scores", "labels": None, "boxes"}. Going down the boxes by score, each
    one still scoring zeroes every box overlapping it by more than nms_threshold (IoU); scores below
    threshold are dropped; the rest are rescaled against the best one into (score - 0.1 max) / (0.9 max),
    clipped to [0, 1], and boxes with a positive result are kept. Images whose scores are all zero are
    left out of the list, as in transformers."""
    logits, boxes = output_field(outputs, "logits"), output_field(outputs, "target_pred_boxes")
    _check_batch(target_sizes, len(logits))
    scores = best_queries(logits)[0].copy()
    boxes = center_to_corners(boxes)
    if nms_threshold < 1.0:
        for image_scores, image_boxes in zip(scores, boxes):
            for i in np.argsort(-image_scores, kind="stable"):
                if not image_scores[i]:
                    continue
                ious = box_iou(image_boxes[i], image_boxes)
                ious[i] = -1.0
                image_scores[ious > nms_threshold] = 0.0
    if target_sizes is not None:
        boxes = scale_boxes(boxes, target_sizes)
    results = []
    for image_scores, image_boxes in zip(scores, boxes):
        if not image_scores.any():
            continue
        image_scores[image_scores < threshold] = 0.0
        best = image_scores.max() + np.float32(1e-6)
        alphas = np.clip((image_scores - best * np.float32(0.1)) / (best * np.float32(0.9)), 0.0, 1.0)
        keep = alphas > 0
        results.append({"scores": alphas[keep], "labels": None, "boxes": image_boxes[keep]})
    return results
