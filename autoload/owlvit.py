"""What OWL-ViT's detection heads compute outside the network, once for every backend (numpy): the box prior of
each patch and the choice of the query box in image-guided detection."""

from __future__ import annotations

import numpy as np


def box_bias(rows: int, cols: int) -> np.ndarray:
    """The prior of each patch's box (cx, cy, w, h before the sigmoid), float32 [rows * cols, 4]: the centre at the
    patch's lower-right grid corner and the size of one patch, both in inverse-sigmoid space."""
    xs = np.arange(1, cols + 1, dtype=np.float32) / np.float32(cols)
    ys = np.arange(1, rows + 1, dtype=np.float32) / np.float32(rows)
    corners = np.stack(np.meshgrid(xs, ys, indexing="xy"), axis=-1).reshape(-1, 2).clip(0.0, 1.0)
    sizes = np.broadcast_to(np.array([1.0 / cols, 1.0 / rows], np.float32), corners.shape)

    def inverse_sigmoid(x):
        return np.log(x + np.float32(1e-4)) - np.log1p(-x + np.float32(1e-4))

    return np.concatenate([inverse_sigmoid(corners), inverse_sigmoid(sizes)], axis=-1).astype(np.float32)


def _corners(boxes: np.ndarray) -> np.ndarray:
    cx, cy, w, h = np.moveaxis(boxes, -1, 0)
    return np.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], axis=-1)


def _overlap_with_whole_image(corners: np.ndarray) -> np.ndarray:
    """IoU of the whole image (0, 0, 1, 1) with each box; where none overlaps at all, the generalised IoU."""
    areas = (corners[:, 2] - corners[:, 0]) * (corners[:, 3] - corners[:, 1])
    inter_wh = np.clip(np.minimum(corners[:, 2:], 1.0) - np.maximum(corners[:, :2], 0.0), 0, None)
    inter = inter_wh[:, 0] * inter_wh[:, 1]
    union = 1.0 + areas - inter
    ious = inter / union
    if np.all(ious == 0.0):
        if not (corners[:, 2:] >= corners[:, :2]).all():
            raise ValueError("image-guided detection: the query image's predicted boxes are degenerate (x1 < x0 or "
                             "y1 < y0); the query image cannot be embedded.")  # fmt: skip
        hull_wh = np.clip(np.maximum(corners[:, 2:], 1.0) - np.minimum(corners[:, :2], 0.0), 0, None)
        hull = hull_wh[:, 0] * hull_wh[:, 1]
        ious = ious - (hull - union) / hull
    return ious


def query_box_indices(pred_boxes: np.ndarray, class_embeds: np.ndarray) -> list[int]:
    """For each query image: the box that stands for the query object. Of the boxes whose overlap with the whole
    image is within 80% of the best, the one whose class embedding is least like the image's mean embedding.
    pred_boxes: (cx, cy, w, h) [batch, boxes, 4]; class_embeds [batch, boxes, dim]. A query image without any
    such box (NaN outputs) is left out, as transformers does."""
    chosen = []
    for boxes, embeds in zip(np.asarray(pred_boxes, np.float32), np.asarray(class_embeds, np.float32)):
        ious = _overlap_with_whole_image(_corners(boxes))
        selected = np.nonzero(ious >= ious.max() * np.float32(0.8))[0]
        if selected.size:
            similarity = embeds[selected] @ embeds.mean(axis=0)
            chosen.append(int(selected[np.argmin(similarity)]))
    return chosen
