"""Keypoint detection post-processing (SuperPoint): the valid keypoints of each image in its pixels."""

from __future__ import annotations

import numpy as np

from .arrays import output_field, to_numpy


def keypoint_detection(outputs, target_sizes) -> list[dict[str, np.ndarray]]:
    """Per image {"keypoints", "scores", "descriptors"} for the keypoints `outputs.mask` marks. Keypoints come
    relative (x, y in [0, 1]); they are scaled by the target (height, width) and truncated to int32."""
    mask = output_field(outputs, "mask")
    keypoints = output_field(outputs, "keypoints")
    scores, descriptors = output_field(outputs, "scores"), output_field(outputs, "descriptors")
    sizes = to_numpy(target_sizes)
    if len(sizes) != len(mask):
        raise ValueError(
            f"Got {len(sizes)} target sizes for a batch of {len(mask)}: give one (height, width) per image."
        )
    if sizes.ndim != 2 or sizes.shape[1] != 2:
        raise ValueError(f"target_sizes must hold one (height, width) pair per image, got shape {sizes.shape}.")
    scale = sizes[:, ::-1].astype(keypoints.dtype if keypoints.dtype.kind == "f" else np.float32)
    pixels = (keypoints * scale[:, None, :]).astype(np.int32)
    results = []
    for valid, points, point_scores, point_descriptors in zip(mask, pixels, scores, descriptors):
        keep = np.flatnonzero(valid)
        results.append({"keypoints": points[keep], "scores": point_scores[keep], "descriptors": point_descriptors[keep]})
    return results
