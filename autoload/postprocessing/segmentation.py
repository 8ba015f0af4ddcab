"""Semantic, instance and panoptic segmentation post-processing (SegFormer / BEiT logits, DETR and
MaskFormer mask queries), equal to transformers' PyTorch post-processing run on CPU."""

from __future__ import annotations

import numpy as np

from .arrays import resize_bilinear, resize_nearest, sigmoid, softmax, target_size_list, to_numpy
from .topk import topk_unsorted


def semantic_segmentation_from_logits(logits, target_sizes=None) -> list[np.ndarray]:
    """Per image an int64 (height, width) map of the best class per pixel, from (batch, classes, h, w)
    logits; with target_sizes the logits are resized bilinearly to each (height, width) first."""
    logits = to_numpy(logits)
    sizes = target_size_list(target_sizes, len(logits))
    if sizes is None:
        return list(logits.argmax(axis=1))
    return [resize_bilinear(item, size).argmax(axis=0) for item, size in zip(logits, sizes)]


def semantic_segmentation_from_queries(class_logits, mask_logits, target_sizes=None) -> list[np.ndarray]:
    """Per image an int64 class map from mask queries: each class's score sums the queries' class
    probabilities (no-object left out) times their mask probabilities."""
    class_probabilities = softmax(to_numpy(class_logits))[..., :-1]
    mask_probabilities = sigmoid(to_numpy(mask_logits))
    batch, queries, height, width = mask_probabilities.shape
    flat = np.matmul(class_probabilities.transpose(0, 2, 1), mask_probabilities.reshape(batch, queries, -1))
    return semantic_segmentation_from_logits(flat.reshape(batch, -1, height, width), target_sizes)


def _score_and_label(class_logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    probabilities = softmax(class_logits)
    return probabilities.max(-1), probabilities.argmax(-1)


def _empty_segmentation(size) -> np.ndarray:
    return np.full(tuple(size), -1, dtype=np.float32)


def _keeps_enough(area: int, own_area: int, overlap_mask_area_threshold: float) -> bool:
    """Whether a query keeps more than the threshold's share of its own mask (PyTorch divides the two
    counts in float32, which decides ties such as 4 / 5 against 0.8)."""
    return area > 0 and own_area > 0 and float(np.float32(area) / np.float32(own_area)) > overlap_mask_area_threshold


def compute_segments(mask_probs, scores, labels, mask_threshold: float, overlap_mask_area_threshold: float,
                     label_ids_to_fuse, target_size=None) -> tuple[np.ndarray, list[dict]]:  # fmt: skip
    """Paint each query's pixels (where its score-weighted mask probability is highest) with a segment id,
    keeping a query only where most of its own mask survives; queries of a class in label_ids_to_fuse
    share one segment."""
    if target_size is not None:
        mask_probs = resize_bilinear(mask_probs, target_size)
    mask_probs = mask_probs * scores[:, None, None]
    owner = mask_probs.argmax(0)
    segmentation = np.zeros(owner.shape, dtype=np.int32)
    segments: list[dict] = []
    segment_id = 0
    fused_ids: dict[int, int] = {}
    for k, label in enumerate(labels.tolist()):
        mask = owner == k
        area, own_area = int(mask.sum()), int((mask_probs[k] >= mask_threshold).sum())
        if not _keeps_enough(area, own_area, overlap_mask_area_threshold):
            continue
        fuse = label in label_ids_to_fuse
        if label in fused_ids:
            segment_id = fused_ids[label]
        else:
            segment_id += 1
        segmentation[mask] = segment_id
        segments.append({"id": segment_id, "label_id": label, "was_fused": fuse, "score": round(float(scores[k]), 6)})
        if fuse:
            fused_ids[label] = segment_id
    return segmentation, segments


def query_segmentation(class_logits, mask_logits, threshold: float = 0.5, mask_threshold: float = 0.5,
                       overlap_mask_area_threshold: float = 0.8, label_ids_to_fuse=(), target_sizes=None,
                       return_coco_annotation: bool = False) -> list[dict]:  # fmt: skip
    """DETR's instance and panoptic segmentation (MaskFormer's panoptic): per image {"segmentation": int32 map
    of segment ids (0 = none; a float32 map of -1 when no query is kept), "segments_info": [{"id",
    "label_id", "was_fused", "score"}]} from the queries whose best class is an object scoring above
    `threshold`. With return_coco_annotation the map of an image with kept queries comes as run-length
    encodings (one per segment id, 0 included)."""
    class_logits, mask_logits = to_numpy(class_logits), to_numpy(mask_logits)
    num_labels = class_logits.shape[-1] - 1
    mask_probs = sigmoid(mask_logits)
    scores, labels = _score_and_label(class_logits)
    sizes = target_size_list(target_sizes, len(class_logits))
    label_ids_to_fuse = set(label_ids_to_fuse or ())
    results = []
    for i in range(len(class_logits)):
        keep = (labels[i] != num_labels) & (scores[i] > threshold)
        size = sizes[i] if sizes is not None else None
        if not keep.any():
            results.append({"segmentation": _empty_segmentation(size or mask_probs.shape[2:]), "segments_info": []})
            continue
        segmentation, segments = compute_segments(
            mask_probs[i][keep], scores[i][keep], labels[i][keep], mask_threshold, overlap_mask_area_threshold,
            label_ids_to_fuse, size,
        )  # fmt: skip
        if return_coco_annotation:
            segmentation = convert_segmentation_to_rle(segmentation)
        results.append({"segmentation": segmentation, "segments_info": segments})
    return results


def maskformer_instance_segmentation(
    class_logits,
    mask_logits,
    threshold: float = 0.5,
    target_sizes=None,
    return_coco_annotation: bool = False,
    return_binary_maps: bool = False,
) -> list[dict]:
    """MaskFormer's instance segmentation: the num_queries best (query, class) pairs, each scored by its class
    probability times the mean mask probability inside its mask (logit > 0); those scoring at least
    `threshold` are painted in turn onto a float32 map of -1 (later ones over earlier ones)."""
    if return_coco_annotation and return_binary_maps:
        raise ValueError("return_coco_annotation and return_binary_maps can not be both set to True.")
    class_logits, mask_logits = to_numpy(class_logits), to_numpy(mask_logits)
    num_queries, num_classes = class_logits.shape[-2], class_logits.shape[-1] - 1
    sizes = target_size_list(target_sizes, len(class_logits))
    results = []
    for i in range(len(class_logits)):
        class_scores = softmax(class_logits[i])[:, :-1]
        top_scores, top_indices = topk_unsorted(class_scores.reshape(-1), num_queries)
        top_labels = top_indices % num_classes
        masks = mask_logits[i][top_indices // num_classes]
        binary = (masks > 0).astype(np.float32)
        flat = binary.reshape(len(binary), -1)
        mask_scores = (sigmoid(masks).reshape(len(masks), -1) * flat).sum(1) / (flat.sum(1) + np.float32(1e-6))
        scores = top_scores * mask_scores
        segmentation = _empty_segmentation(mask_logits.shape[2:])
        if sizes is not None:
            segmentation = _empty_segmentation(sizes[i])
            binary = resize_nearest(binary, sizes[i])
        instance_maps, segments = [], []
        for j in range(num_queries):
            score = float(scores[j])
            if binary[j].any() and score >= threshold:
                segment_id = len(segments)
                segmentation[binary[j] == 1] = segment_id
                segments.append(
                    {"id": segment_id, "label_id": int(top_labels[j]), "was_fused": False, "score": round(score, 6)}
                )
                instance_maps.append(binary[j])
        if return_coco_annotation:
            segmentation = convert_segmentation_to_rle(segmentation)
        if return_binary_maps and instance_maps:
            segmentation = np.stack(instance_maps)
        results.append({"segmentation": segmentation, "segments_info": segments})
    return results


def binary_mask_to_rle(mask) -> list[int]:
    """Run-length encoding of a binary mask (row-major): start, length, start, length, … (1-based starts,
    as COCO's uncompressed RLE in transformers)."""
    pixels = np.concatenate([[0], to_numpy(mask).reshape(-1), [0]])
    runs = np.flatnonzero(pixels[1:] != pixels[:-1]) + 1
    runs[1::2] -= runs[::2]
    return [int(r) for r in runs]


def convert_segmentation_to_rle(segmentation) -> list[list[int]]:
    """One run-length encoding per distinct segment id (in increasing id order)."""
    segmentation = to_numpy(segmentation)
    return [binary_mask_to_rle(segmentation == value) for value in np.unique(segmentation)]
