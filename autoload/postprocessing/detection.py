"""Object detection post-processing (DETR-style set predictions)."""

from __future__ import annotations

import numpy as np

from .arrays import center_to_corners, softmax, target_size_list, to_numpy


def object_detection(logits, pred_boxes, threshold: float = 0.5, target_sizes=None) -> list[dict]:
    """Per image {"scores", "labels", "boxes"} of the queries whose best class (the last class, "no object",
    left out) scores above `threshold`. Boxes are (x0, y0, x1, y1): relative to the image, or in pixels of
    each target size (height, width)."""
    logits, pred_boxes = to_numpy(logits), to_numpy(pred_boxes)
    if target_sizes is not None and len(target_sizes) != len(logits):
        raise ValueError(
            f"Got {len(target_sizes)} target sizes for a batch of {len(logits)}: give one (height, width) per image."
        )
    probabilities = softmax(logits)[..., :-1]
    scores, labels = probabilities.max(-1), probabilities.argmax(-1)
    boxes = center_to_corners(pred_boxes.astype(np.float32))
    if target_sizes is not None:
        sizes = np.asarray([[w, h, w, h] for h, w in target_size_list(target_sizes, len(logits))], np.float32)
        boxes = boxes * sizes[:, None, :]
    results = []
    for image_scores, image_labels, image_boxes in zip(scores, labels, boxes):
        keep = image_scores > threshold
        results.append({"scores": image_scores[keep], "labels": image_labels[keep], "boxes": image_boxes[keep]})
    return results
