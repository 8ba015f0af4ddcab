"""SuperPoint's keypoint selection and descriptor sampling in numpy, shared by the TF and Flax models (PyTorch
computes the same in torch): from a batch of per-pixel keypoint scores and descriptor maps to the padded keypoints,
scores, descriptors and mask transformers' SuperPointForKeypointDetection returns. The number of keypoints depends
on the values, so this runs eagerly, outside any traced graph."""

from __future__ import annotations

import numpy as np

from .models.superpoint import CELL


def max_pool_same(x: np.ndarray, radius: int) -> np.ndarray:
    """The maximum over each (2r+1) x (2r+1) neighbourhood of a [height, width] map (max_pool2d with stride 1 and
    padding r, whose padding never wins)."""
    padded = np.pad(x, radius, constant_values=-np.inf)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (2 * radius + 1, 2 * radius + 1))
    return windows.max(axis=(-2, -1)).astype(x.dtype)


def simple_nms(scores: np.ndarray, radius: int) -> np.ndarray:
    """Keep the scores that are the maximum of their neighbourhood, twice re-admitting maxima outside the
    neighbourhoods of those already kept; zero elsewhere."""
    zeros = np.zeros_like(scores)
    keep = scores == max_pool_same(scores, radius)
    for _ in range(2):
        suppressed = max_pool_same(keep.astype(scores.dtype), radius) > 0
        rest = np.where(suppressed, zeros, scores)
        keep = keep | ((rest == max_pool_same(rest, radius)) & ~suppressed)
    return np.where(keep, scores, zeros)


def extract_keypoints(scores: np.ndarray, config) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints (x, y) and their scores from one image's [height, width] map after NMS: above keypoint_threshold,
    away from the border (transformers measures the far borders from 8x the map's size), the max_keypoints best."""
    height, width = scores.shape
    rows, cols = np.nonzero(scores > config.keypoint_threshold)
    values = scores[rows, cols]
    border = config.border_removal_distance
    keep = (rows >= border) & (rows < height * CELL - border) & (cols >= border) & (cols < width * CELL - border)
    rows, cols, values = rows[keep], cols[keep], values[keep]
    if 0 <= config.max_keypoints < len(values):
        order = np.argsort(-values, kind="stable")[: config.max_keypoints]
        rows, cols, values = rows[order], cols[order], values[order]
    return np.stack([cols, rows], axis=-1).astype(values.dtype).reshape(-1, 2), values


def sample_descriptors(keypoints: np.ndarray, descriptors: np.ndarray, scale: int = CELL) -> np.ndarray:
    """Bilinear samples (grid_sample with align_corners=True, zeros outside) of a [height, width, channels] map at
    pixel keypoints (x, y), L2-normalised: [keypoints, channels]."""
    height, width, channels = descriptors.shape
    points = keypoints.astype(np.float32) - np.float32(scale / 2 - 0.5)
    divisor = np.asarray([width * scale - scale / 2 - 0.5, height * scale - scale / 2 - 0.5], np.float32)
    grid = points / divisor * np.float32(2) - np.float32(1)
    x = (grid[:, 0] + np.float32(1)) / np.float32(2) * np.float32(width - 1)
    y = (grid[:, 1] + np.float32(1)) / np.float32(2) * np.float32(height - 1)
    x0, y0 = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    sampled = np.zeros((len(keypoints), channels), np.float32)
    for dy in (0, 1):
        for dx in (0, 1):
            xi, yi = x0 + dx, y0 + dy
            weight = (1 - np.abs(x - xi)) * (1 - np.abs(y - yi))
            inside = (xi >= 0) & (xi < width) & (yi >= 0) & (yi < height)
            values = descriptors[np.clip(yi, 0, height - 1), np.clip(xi, 0, width - 1)]
            sampled += np.where(inside, weight, 0).astype(np.float32)[:, None] * values
    norm = np.maximum(np.linalg.norm(sampled, axis=-1, keepdims=True), np.float32(1e-12))
    return (sampled / norm).astype(np.float32)


def keypoint_outputs(pixel_scores: np.ndarray, descriptor_maps: np.ndarray, config, height: int, width: int):
    """From [batch, H, W] softmax keypoint scores (before NMS) and [batch, h, w, channels] normalised descriptor maps
    to (keypoints relative to width and height, scores, descriptors, int32 mask), padded to the batch's largest
    keypoint count."""
    per_image = []
    for image_scores, descriptor_map in zip(pixel_scores, descriptor_maps):
        points, values = extract_keypoints(simple_nms(image_scores, config.nms_radius), config)
        per_image.append((points, values, sample_descriptors(points, descriptor_map)))
    batch, count = len(per_image), max((len(v) for _, v, _ in per_image), default=0)
    keypoints = np.zeros((batch, count, 2), np.float32)
    scores = np.zeros((batch, count), np.float32)
    descriptors = np.zeros((batch, count, config.descriptor_decoder_dim), np.float32)
    mask = np.zeros((batch, count), np.int32)
    for i, (points, values, vectors) in enumerate(per_image):
        n = len(values)
        keypoints[i, :n], scores[i, :n], descriptors[i, :n], mask[i, :n] = points, values, vectors, 1
    return keypoints / np.asarray([width, height], np.float32), scores, descriptors, mask
