"""Reference results of transformers 4.57.6's post-processing for SAM, OWL-ViT, DPT and SuperPoint, fed with
deterministic random model outputs of realistic shapes. Writes post_processing.json and post_processing.npz
next to the image processor references in tests/fixtures/image_processors/<name>/ (run
vision_image_processors.py first; it writes the preprocessor_config.json loaded here).

Run in the side environment that has transformers: `python scripts/reference/vision_post_processing.py`.

post_processing.json: `cases`, each `{"key", "method", "args": keyword arguments, "expected": the result}`.
Arrays and model outputs are written as reference_io.Writer describes; the result keeps its lists, dicts and
None.

transformers' post_process_for_mask_generation runs torchvision's batched_nms, whose CPU operators this side
environment lacks; a plain greedy NMS in torch with torchvision's documented rule (best score first, drop
boxes whose IoU with a kept one exceeds the threshold) stands in for it, so that reference checks the rest
of the method (reordering, RLE decoding) against transformers and the NMS rule only against that rule.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import torch
from reference_io import FIXTURES, Writer, load
from transformers import AutoImageProcessor
from transformers.models.sam import image_processing_sam

OUT = FIXTURES / "image_processors"
RNG = np.random.default_rng(16)


def greedy_nms(boxes, scores, idxs, iou_threshold):
    order = torch.argsort(scores, descending=True, stable=True)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    suppressed = torch.zeros(len(boxes), dtype=torch.bool)
    keep = []
    for i in order.tolist():
        if suppressed[i]:
            continue
        keep.append(i)
        lt = torch.maximum(boxes[i, :2], boxes[:, :2])
        rb = torch.minimum(boxes[i, 2:], boxes[:, 2:])
        wh = (rb - lt).clamp(min=0)
        inter = wh[:, 0] * wh[:, 1]
        suppressed |= inter / (area[i] + area - inter) > iou_threshold
    return torch.tensor(keep, dtype=torch.int64)


image_processing_sam.batched_nms = greedy_nms


def run(name: str, cases: list[tuple[str, str, dict]]) -> None:
    folder = OUT / name
    processor = AutoImageProcessor.from_pretrained(folder, use_fast=False)
    writer, spec = Writer(), {"class": type(processor).__name__, "cases": []}
    for key, method, args in cases:
        stored_args = writer.encode(args, f"{key}.args")  # before the call: some methods change their inputs
        torch_args = {k: as_torch(v) for k, v in args.items()}
        result = getattr(processor, method)(**torch_args)
        spec["cases"].append({"key": key, "method": method, "args": stored_args,
                              "expected": writer.encode(result, f"{key}.result")})  # fmt: skip
    (folder / "post_processing.json").write_text(json.dumps(spec, indent=1) + "\n")
    writer.save(folder / "post_processing.npz")
    print(name, (folder / "post_processing.npz").stat().st_size)


def as_torch(value):
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    if isinstance(value, SimpleNamespace):
        return SimpleNamespace(**{k: as_torch(v) for k, v in vars(value).items()})
    if isinstance(value, list) and value and isinstance(value[0], np.ndarray):
        return [as_torch(v) for v in value]
    return value


def blobs(count: int, height: int, width: int, steepness: float = 6.0) -> np.ndarray:
    """Mask logits of `count` random discs, positive inside (steep edges, so thresholds are far off)."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    out = np.empty((count, height, width), np.float32)
    for i in range(count):
        cy, cx = RNG.uniform(0, height), RNG.uniform(0, width)
        radius = RNG.uniform(0.15, 0.45) * min(height, width)
        out[i] = (radius - np.hypot(ys - cy, xs - cx)) * steepness / radius * 4
    return out


def low_res_masks(batch: int, points: int) -> np.ndarray:
    """(batch, points, 3, 256, 256) mask logits: 32 x 32 noise blown up 8 times plus discs."""
    noise = RNG.normal(0, 2, (batch, points, 3, 32, 32)).astype(np.float32)
    noise = np.repeat(np.repeat(noise, 8, axis=-2), 8, axis=-1)
    logits = noise + blobs(batch * points * 3, 256, 256).reshape(batch, points, 3, 256, 256)
    return quantised(logits)


def quantised(x: np.ndarray) -> np.ndarray:
    """Multiples of 1/8 in [-15.875, 15.875] (stored compactly as int8 eighths)."""
    return (np.clip(np.round(x * 8), -127, 127) / 8).astype(np.float32)


def sam_cases():
    masks = low_res_masks(2, 1)
    one = low_res_masks(1, 2)
    # Sizes as SamImageProcessor reports them for the fixture crops (70 x 45 and 40 x 90) and rgb.png.
    originals, reshaped = [[45, 70], [90, 40]], [[658, 1024], [1024, 455]]
    image = load("rgb.png crop 200,100,270,145 as numpy")
    crop_masks = quantised(blobs(6, 30, 40))[None]
    full_masks = quantised(np.concatenate([blobs(5, 45, 70), np.full((1, 45, 70), 5, np.float32)]))[None]
    scores = RNG.uniform(0.8, 1.0, (1, 6)).astype(np.float32)
    boxes = np.array([[0, 0, 30, 20], [2, 1, 31, 22], [40, 10, 69, 44], [5, 5, 15, 15], [38, 12, 66, 40]])
    rles = image_processing_sam._mask_to_rle_pytorch(torch.from_numpy(blobs(5, 12, 16) > 0))
    return [
        ("masks", "post_process_masks", {"masks": list(masks), "original_sizes": originals, "reshaped_input_sizes": reshaped}),
        ("masks_array_sizes", "post_process_masks", {"masks": masks, "original_sizes": np.array(originals), "reshaped_input_sizes": np.array(reshaped), "mask_threshold": 0.5}),
        ("masks_float", "post_process_masks", {"masks": list(masks), "original_sizes": originals, "reshaped_input_sizes": reshaped, "binarize": False}),
        ("masks_full_size", "post_process_masks", {"masks": list(one), "original_sizes": [[480, 640]], "reshaped_input_sizes": [[768, 1024]]}),
        ("masks_pad_size", "post_process_masks", {"masks": list(masks), "original_sizes": originals, "reshaped_input_sizes": [[329, 512], [512, 228]], "pad_size": {"height": 512, "width": 512}}),
        ("crop_boxes", "generate_crop_boxes", {"image": image, "target_size": 1024, "crop_n_layers": 1, "points_per_crop": 4}),
        ("crop_boxes_two_layers", "generate_crop_boxes", {"image": image, "target_size": 64, "crop_n_layers": 2, "overlap_ratio": 0.25, "points_per_crop": 3}),
        ("filter_whole_image", "filter_masks", {"masks": full_masks, "iou_scores": scores, "original_size": [45, 70], "cropped_box_image": [0, 0, 70, 45], "pred_iou_thresh": 0.85, "stability_score_thresh": 0.9}),
        ("filter_crop", "filter_masks", {"masks": crop_masks, "iou_scores": scores, "original_size": [45, 70], "cropped_box_image": [20, 10, 60, 40], "pred_iou_thresh": 0.0, "stability_score_thresh": 0.0, "mask_threshold": 0.5}),
        ("mask_generation_nms", "post_process_for_mask_generation", {"all_masks": rles, "all_scores": RNG.uniform(0.5, 1, 5).astype(np.float32), "all_boxes": boxes, "crops_nms_thresh": 0.5}),
    ]  # fmt: skip


def relative_boxes(batch: int, count: int) -> np.ndarray:
    centres = RNG.uniform(0.1, 0.9, (batch, count, 2))
    sizes = RNG.uniform(0.05, 0.4, (batch, count, 2))
    return np.concatenate([centres, sizes], axis=-1).astype(np.float32)


def owlvit_cases():
    patches = 576  # (768 / 32) ** 2 boxes per image
    text = SimpleNamespace(logits=RNG.normal(-4, 2.5, (2, patches, 3)).astype(np.float32), pred_boxes=relative_boxes(2, patches))
    guided_logits = RNG.normal(-3, 3, (3, patches, 1)).astype(np.float32)
    guided_logits[2] = -200  # sigmoid 0 everywhere: this image is left out of the results
    guided = SimpleNamespace(logits=guided_logits, target_pred_boxes=relative_boxes(3, patches))
    sizes = np.array([[480, 640], [90, 40]])
    return [
        ("detection", "post_process_object_detection", {"outputs": text, "threshold": 0.1, "target_sizes": [(480, 640), (90, 40)]}),
        ("detection_relative", "post_process_object_detection", {"outputs": text, "threshold": 0.3}),
        ("detection_array_sizes", "post_process_object_detection", {"outputs": text, "threshold": 0.05, "target_sizes": sizes}),
        ("image_guided", "post_process_image_guided_detection", {"outputs": guided, "threshold": 0.5, "nms_threshold": 0.3, "target_sizes": np.array([[480, 640], [90, 40], [10, 10]])}),
        ("image_guided_no_nms", "post_process_image_guided_detection", {"outputs": guided, "threshold": 0.0, "nms_threshold": 1.0}),
        ("deprecated_post_process", "post_process", {"outputs": text, "target_sizes": sizes}),
    ]  # fmt: skip


def dpt_cases():
    depth = SimpleNamespace(predicted_depth=np.abs(RNG.normal(5, 3, (2, 24, 32))).astype(np.float32))
    segmentation = SimpleNamespace(logits=RNG.normal(0, 2, (2, 5, 24, 32)).astype(np.float32))
    return [
        ("depth", "post_process_depth_estimation", {"outputs": depth, "target_sizes": [(48, 64), (20, 30)]}),
        ("depth_unresized", "post_process_depth_estimation", {"outputs": depth}),
        ("depth_other_sizes", "post_process_depth_estimation", {"outputs": depth, "target_sizes": [[97, 31], [24, 32]]}),
        ("semantic", "post_process_semantic_segmentation", {"outputs": segmentation, "target_sizes": [(48, 64), (20, 30)]}),
        ("semantic_unresized", "post_process_semantic_segmentation", {"outputs": segmentation}),
    ]  # fmt: skip


def superpoint_cases():
    count = 40
    mask = np.zeros((2, count), np.int32)
    mask[0, :], mask[1, :25] = 1, 1
    outputs = SimpleNamespace(
        mask=mask,
        keypoints=RNG.uniform(0, 1, (2, count, 2)).astype(np.float32),
        scores=RNG.uniform(0, 1, (2, count)).astype(np.float32),
        descriptors=quantised(RNG.normal(0, 1, (2, count, 256))),
    )
    return [
        ("keypoints", "post_process_keypoint_detection", {"outputs": outputs, "target_sizes": [(480, 640), (240, 320)]}),
        ("keypoints_array_sizes", "post_process_keypoint_detection", {"outputs": outputs, "target_sizes": np.array([[45, 70], [90, 40]])}),
    ]  # fmt: skip


if __name__ == "__main__":
    run("sam", sam_cases())
    run("owlvit", owlvit_cases())
    run("dpt", dpt_cases())
    run("superpoint", superpoint_cases())
