"""Reference outputs of transformers 4.57.6 for the DeiT, BEiT, BiT, SigLIP, SegFormer, DETR and MaskFormer image
processors, DETR's COCO annotations and the DETR / MaskFormer / SegFormer post-processing.

Run in the side environment that has transformers: `python scripts/reference/detection_segmentation_references.py`.

- tests/fixtures/image_processors/<name>/: the layout described in vision_image_processors.py (which this
  reuses), one folder per processor, with the config transformers saves (`saved_config`).
- tests/fixtures/detr_annotations/: COCO detection and panoptic annotations (panoptic PNGs in panoptic/),
  cases.json (call arguments, annotations) and expected.npz (pixel_values, pixel_mask and every labels field,
  `<case>__labels__<image>__<field>`).
- tests/fixtures/segmentation_postprocessing/: deterministic random model outputs of realistic shapes
  (inputs.npz, `<outputs>__<field>`, float16 values, to be read as float32), and per post-processing call its arguments and results (cases.json for
  segments_info, run-length encodings and result shapes; expected.npz for the arrays, `<case>__<image>__<field>`).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from PIL import Image
from reference_io import FIXTURES, label_map
from transformers import AutoImageProcessor
from vision_image_processors import images_for, store

IMAGE_PROCESSORS = FIXTURES / "image_processors"
CROP_WIDE = "rgb.png crop 200,100,270,145"  # 70 x 45 (width x height)
CROP_TALL = "rgb.png crop 400,200,440,290"  # 40 x 90
CROP_SMALL = "rgb.png crop 10,300,74,348"  # 64 x 48
IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]

# Configs as the public checkpoints store them (older names and int sizes included).
CONFIGS = {
    "deit": {  # facebook/deit-base-distilled-patch16-224
        "crop_size": 224, "do_center_crop": True, "do_normalize": True, "do_resize": True,
        "feature_extractor_type": "DeiTFeatureExtractor", "image_mean": IMAGENET_MEAN, "image_std": IMAGENET_STD,
        "resample": 3, "size": 256,
    },
    "beit": {  # microsoft/beit-base-patch16-224-pt22k-ft22k
        "crop_size": 224, "do_center_crop": False, "do_normalize": True, "do_resize": True,
        "feature_extractor_type": "BeitFeatureExtractor", "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
        "resample": 2, "size": 224,
    },
    "bit": {  # facebook/dinov2-base
        "crop_size": {"height": 224, "width": 224}, "do_center_crop": True, "do_convert_rgb": True,
        "do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": IMAGENET_MEAN,
        "image_processor_type": "BitImageProcessor", "image_std": IMAGENET_STD, "resample": 3,
        "rescale_factor": 0.00392156862745098, "size": {"shortest_edge": 256},
    },
    "siglip": {  # google/siglip-base-patch16-224
        "do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": [0.5, 0.5, 0.5],
        "image_processor_type": "SiglipImageProcessor", "image_std": [0.5, 0.5, 0.5],
        "processor_class": "SiglipProcessor", "resample": 3, "rescale_factor": 0.00392156862745098,
        "size": {"height": 224, "width": 224},
    },
    "segformer": {  # nvidia/segformer-b0-finetuned-ade-512-512 (reduce_labels: an older name 4.57.6 ignores)
        "do_normalize": True, "do_resize": True, "feature_extractor_type": "SegformerFeatureExtractor",
        "image_mean": IMAGENET_MEAN, "image_std": IMAGENET_STD, "reduce_labels": True, "resample": 2, "size": 512,
    },
    "detr": {  # facebook/detr-resnet-50
        "do_normalize": True, "do_resize": True, "feature_extractor_type": "DetrFeatureExtractor",
        "format": "coco_detection", "image_mean": IMAGENET_MEAN, "image_std": IMAGENET_STD, "max_size": 1333,
        "size": 800,
    },
    "maskformer": {  # facebook/maskformer-swin-base-ade (size_divisibility, reduce_labels: ignored older names)
        "do_normalize": True, "do_resize": True, "feature_extractor_type": "MaskFormerFeatureExtractor",
        "ignore_index": 255, "image_mean": IMAGENET_MEAN, "image_std": IMAGENET_STD, "max_size": 1333,
        "reduce_labels": True, "size": 640, "size_divisibility": 32,
    },
}  # fmt: skip

BATCH = [CROP_WIDE, CROP_TALL, "gray.png", "rgba.png"]
SEG = {"images": [CROP_WIDE, CROP_TALL], "segmentation_maps": [CROP_WIDE, CROP_TALL]}
CASES = {
    "deit": [
        {"key": "rgb", "images": ["rgb.png"], "stride": 4},
        {"key": "batch", "images": BATCH, "converted_to_rgb_first": True, "call": {"size": 40, "crop_size": {"height": 32, "width": 24}}},
        {"key": "small_crop", "images": [CROP_TALL + " as numpy"], "call": {"size": {"height": 20, "width": 30}, "crop_size": 36, "resample": 2}},
    ],
    "beit": [
        {"key": "rgb", "images": ["rgb.png"], "stride": 4},
        {"key": "batch", "images": BATCH, "converted_to_rgb_first": True, "call": {"size": {"height": 36, "width": 44}, "return_tensors": None}},
        {"key": "segmentation", **SEG, "call": {"size": 40, "do_center_crop": True, "crop_size": {"height": 32, "width": 36}}},
        {"key": "segmentation_reduced", **SEG, "call": {"size": {"height": 30, "width": 50}, "do_reduce_labels": True, "resample": 0}},
        {"key": "segmentation_list", **SEG, "call": {"size": 24, "do_reduce_labels": True, "do_center_crop": True, "crop_size": 28, "return_tensors": None}},
    ],
    "bit": [
        {"key": "rgb", "images": ["rgb.png"], "stride": 4},
        {"key": "batch", "images": BATCH, "call": {"size": {"shortest_edge": 40}, "crop_size": {"height": 36, "width": 30}}},
        {"key": "no_crop", "images": [CROP_WIDE, CROP_TALL], "call": {"size": 33, "do_center_crop": False, "return_tensors": None}},
    ],
    "siglip": [
        {"key": "rgb", "images": ["rgb.png"], "stride": 4},
        {"key": "batch", "images": BATCH, "converted_to_rgb_first": True, "call": {"size": {"height": 40, "width": 56}}},
        {"key": "unnormalised", "images": [CROP_TALL + " as numpy"], "call": {"size": {"height": 30, "width": 20}, "do_normalize": False, "resample": 2}},
    ],
    "segformer": [
        {"key": "rgb", "images": ["rgb.png"], "stride": 8},
        {"key": "batch", "images": BATCH, "converted_to_rgb_first": True, "call": {"size": {"height": 40, "width": 56}}},
        {"key": "segmentation", **SEG, "call": {"size": {"height": 33, "width": 47}}},
        {"key": "segmentation_reduced", **SEG, "call": {"size": {"height": 50, "width": 30}, "do_reduce_labels": True, "return_tensors": None}},
        {"key": "segmentation_default", "images": [CROP_TALL], "segmentation_maps": [CROP_TALL], "stride": 8},
    ],
    "detr": [
        {"key": "rgb", "images": ["rgb.png"], "stride": 8},
        {"key": "batch", "images": BATCH, "converted_to_rgb_first": True, "call": {"size": {"shortest_edge": 40, "longest_edge": 70}}},
        {"key": "longest_edge_caps", "images": [CROP_TALL, CROP_WIDE], "call": {"size": {"shortest_edge": 60, "longest_edge": 80}}},
        {"key": "max_height_width", "images": [CROP_TALL, CROP_WIDE], "call": {"size": {"max_height": 50, "max_width": 64}}},
        {"key": "fixed_size_pad_size", "images": [CROP_SMALL, CROP_WIDE], "call": {"size": {"height": 30, "width": 40}, "pad_size": {"height": 36, "width": 48}}},
        {"key": "no_pad", "images": [CROP_TALL, CROP_WIDE], "call": {"size": {"shortest_edge": 30, "longest_edge": 100}, "do_pad": False, "return_tensors": None}},
        {"key": "same_short_side", "images": [CROP_SMALL], "call": {"size": {"shortest_edge": 48, "longest_edge": 100}}},
    ],
    "maskformer": [
        {"key": "rgb", "images": ["rgb.png"], "stride": 8},
        {"key": "batch", "images": BATCH, "converted_to_rgb_first": True, "call": {"size": {"shortest_edge": 40, "longest_edge": 70}, "size_divisor": 16}},
        {"key": "pad_size", "images": [CROP_TALL, CROP_WIDE], "call": {"size": {"height": 30, "width": 40}, "size_divisor": 0, "pad_size": {"height": 64, "width": 64}}},
        {"key": "segmentation", **SEG, "call": {"size": {"shortest_edge": 36, "longest_edge": 64}}},
        {"key": "segmentation_reduced", **SEG, "call": {"size": {"shortest_edge": 30, "longest_edge": 70}, "size_divisor": 8, "do_reduce_labels": True}},
        {"key": "segmentation_instances", **SEG, "call": {"size": 24, "size_divisor": 0, "ignore_index": 3, "instance_id_to_semantic_id": [{0: 7, 1: 8, 2: 9, 4: 11, 5: 12}, {0: 1, 1: 1, 2: 2, 4: 3, 5: 3}]}},
    ],
}  # fmt: skip


def as_array(value) -> np.ndarray:
    return value.numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


def build_processor(name: str) -> None:
    folder = IMAGE_PROCESSORS / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / "preprocessor_config.json").write_text(json.dumps(CONFIGS[name], indent=2, sort_keys=True) + "\n")
    processor = AutoImageProcessor.from_pretrained(folder, use_fast=False)
    with tempfile.TemporaryDirectory() as saved:
        processor.save_pretrained(saved)
        saved_config = json.loads((Path(saved) / "preprocessor_config.json").read_text())
    spec = {
        "class": type(processor).__name__,
        "saved_config": saved_config,
        "call": {"return_tensors": "np"},
        "cases": [],
    }
    arrays: dict = {}
    for case in CASES[name]:
        call = {**spec["call"], **case.get("call", {})}
        if "segmentation_maps" in case:
            call["segmentation_maps"] = [label_map(s) for s in case["segmentation_maps"]]
        out = processor(images_for(case), **call)
        expected = {}
        for field, value in out.items():
            base = f"{case['key']}__{field}"
            stride = case.get("stride") if field in ("pixel_values", "labels") else None
            if isinstance(value, (list, tuple)):  # one array per image (MaskFormer's masks and classes always)
                expected[field] = [store(arrays, f"{base}__{i}", as_array(v), stride) for i, v in enumerate(value)]
            else:
                expected[field] = store(arrays, base, value, stride)
        spec["cases"].append({**case, "expected": expected})
    (folder / "cases.json").write_text(json.dumps(spec, indent=1) + "\n")
    np.savez_compressed(folder / "expected.npz", **arrays)
    print(name, sum(a.nbytes for a in arrays.values()), (folder / "expected.npz").stat().st_size)


# ---------------------------------------------------------------- DETR annotations

ANNOTATIONS = FIXTURES / "detr_annotations"
PANOPTIC_IMAGES = {"wide.png": CROP_WIDE, "tall.png": CROP_TALL}


def detection_annotation(image_id: int, width: int, height: int) -> dict:
    boxes = [  # x, y, width, height: inside, crossing the right / bottom edge, crowd, empty, negative origin
        ([3.5, 4.25, 20.0, 11.5], 1, 0), ([width - 10.0, 5.0, 30.0, 12.0], 17, 0), ([2.0, 2.0, 8.0, 8.0], 3, 1),
        ([5.0, 6.0, 0.0, 4.0], 4, 0), ([-4.0, height - 9.5, 12.0, 20.0], 90, 0), ([10.0, 10.0, 7.25, 3.75], 5, 0),
    ]  # fmt: skip
    annotations = [
        {"bbox": box, "category_id": category, "area": box[2] * box[3] * 0.9, "iscrowd": crowd, "id": i}
        for i, (box, category, crowd) in enumerate(boxes)
    ]
    return {"image_id": image_id, "annotations": annotations}


def with_keypoints(annotation: dict) -> dict:
    objects = [
        {**obj, "keypoints": [1.0 + i, 2.0, 2, 3.0, 4.0 + i, 1]} for i, obj in enumerate(annotation["annotations"])
    ]
    return {**annotation, "annotations": objects}


def panoptic_annotation(image_id: int, file_name: str, spec: str) -> dict:
    labels = label_map(spec).astype(np.int64)
    ids = labels * 1000 + 7  # segment id per band
    rgb = np.stack([ids % 256, ids // 256 % 256, ids // 65536], axis=-1).astype(np.uint8)
    (ANNOTATIONS / "panoptic").mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(ANNOTATIONS / "panoptic" / file_name)
    segments = [
        {"id": int(v) * 1000 + 7, "category_id": int(v) + 10, "iscrowd": int(v == 2), "area": int((labels == v).sum())}
        for v in np.unique(labels)
    ]
    segments.append({"id": 99999, "category_id": 50, "iscrowd": 0, "area": 0})  # painted nowhere
    return {"image_id": image_id, "file_name": file_name, "segments_info": segments}


ANNOTATION_CASES = [
    {"key": "detection", "images": [CROP_WIDE, CROP_TALL], "call": {"size": {"shortest_edge": 40, "longest_edge": 70}}},
    {"key": "detection_keypoints", "images": [CROP_TALL], "keypoints": True, "call": {"size": {"height": 30, "width": 50}}},
    {"key": "detection_pixels", "images": [CROP_WIDE, CROP_TALL], "call": {"size": {"shortest_edge": 36, "longest_edge": 60}, "do_convert_annotations": False, "return_tensors": None}},
    {"key": "detection_unnormalised", "images": [CROP_WIDE], "call": {"size": {"max_height": 40, "max_width": 40}, "do_normalize": False, "pad_size": {"height": 44, "width": 50}}},
    {"key": "detection_no_resize_no_pad", "images": [CROP_SMALL, CROP_WIDE], "call": {"do_resize": False, "do_pad": False, "return_tensors": None}},
    {"key": "detection_single", "images": [CROP_SMALL], "single_annotation": True, "call": {"size": {"shortest_edge": 30, "longest_edge": 50}}},
    {"key": "panoptic", "images": [CROP_WIDE, CROP_TALL], "panoptic": True, "call": {"format": "coco_panoptic", "size": {"shortest_edge": 40, "longest_edge": 70}}},
    {"key": "panoptic_no_masks", "images": [CROP_TALL, CROP_WIDE], "panoptic": True, "call": {"format": "coco_panoptic", "return_segmentation_masks": False, "size": {"height": 32, "width": 24}, "do_convert_annotations": False}},
]  # fmt: skip


def annotations_for(case: dict, images) -> list[dict] | dict:
    if case.get("panoptic"):
        names = {spec: name for name, spec in PANOPTIC_IMAGES.items()}
        return [panoptic_annotation(i + 1, names[spec], spec) for i, spec in enumerate(case["images"])]
    annotations = [detection_annotation(i + 1, *image.size) for i, image in enumerate(images)]
    if case.get("keypoints"):
        annotations = [with_keypoints(a) for a in annotations]
    return annotations[0] if case.get("single_annotation") else annotations


def build_annotations() -> None:
    if ANNOTATIONS.exists():
        shutil.rmtree(ANNOTATIONS)
    ANNOTATIONS.mkdir(parents=True)
    shutil.copy(IMAGE_PROCESSORS / "detr" / "preprocessor_config.json", ANNOTATIONS / "preprocessor_config.json")
    processor = AutoImageProcessor.from_pretrained(ANNOTATIONS, use_fast=False)
    spec, arrays = {"call": {"return_tensors": "np"}, "cases": []}, {}
    for case in ANNOTATION_CASES:
        images = images_for(case)
        annotations = annotations_for(case, images)
        call = {**spec["call"], **case.get("call", {})}
        if case.get("panoptic"):
            call["masks_path"] = str(ANNOTATIONS / "panoptic")
        out = processor(images, annotations=annotations, **call)
        expected = {"pixel_values": [], "pixel_mask": [], "labels": []}
        for field in ("pixel_values", "pixel_mask"):
            if field in out:
                values = out[field] if isinstance(out[field], list) else [out[field]]
                expected[field] = [store(arrays, f"{case['key']}__{field}__{i}", v, None) for i, v in enumerate(values)]
        for i, labels in enumerate(out["labels"]):
            expected["labels"].append(
                {k: store(arrays, f"{case['key']}__labels__{i}__{k}", as_array(v), None) for k, v in labels.items()}
            )
        spec["cases"].append({**case, "annotations": annotations, "expected": expected})
    (ANNOTATIONS / "cases.json").write_text(json.dumps(spec, indent=1) + "\n")
    np.savez_compressed(ANNOTATIONS / "expected.npz", **arrays)
    print("detr_annotations", (ANNOTATIONS / "expected.npz").stat().st_size)


# ---------------------------------------------------------------- post-processing

POST = FIXTURES / "segmentation_postprocessing"


def query_outputs(rng, batch: int, queries: int, classes: int, height: int, width: int, no_object: float) -> dict:
    """Class logits where some queries are confident in one class and some in "no object", and blob-like masks."""
    logits = rng.normal(size=(batch, queries, classes + 1)).astype(np.float32)
    confident = rng.random((batch, queries)) < 0.5
    chosen = rng.integers(0, classes, size=(batch, queries))
    boost = rng.uniform(2.0, 9.0, size=(batch, queries)).astype(np.float32)
    b, q = np.nonzero(confident)
    logits[b, q, chosen[b, q]] += boost[b, q]
    b, q = np.nonzero(rng.random((batch, queries)) < no_object)
    logits[b, q, -1] += 6.0
    masks = rng.normal(loc=-3.0, scale=1.0, size=(batch, queries, height, width))
    for b in range(batch):
        for q in range(queries):  # each query sees one rectangle of the image
            h, w = rng.integers(2, height // 2), rng.integers(2, width // 2)
            top, left = rng.integers(0, height - h), rng.integers(0, width - w)
            masks[b, q, top : top + h, left : left + w] += rng.uniform(4.0, 8.0)
    return {"logits": logits, "masks": masks.astype(np.float32)}


def build_postprocessing() -> None:
    if POST.exists():
        shutil.rmtree(POST)
    POST.mkdir(parents=True)
    rng = np.random.default_rng(1234)
    inputs = {}
    detr_detection = {
        "logits": query_outputs(rng, 2, 100, 91, 8, 8, 0.3)["logits"],
        "pred_boxes": rng.uniform(0.05, 0.95, size=(2, 100, 4)).astype(np.float32),
    }
    detr_panoptic = query_outputs(rng, 2, 40, 250, 24, 32, 0.3)
    maskformer_ade = query_outputs(rng, 2, 100, 150, 24, 32, 0.2)
    maskformer_city = query_outputs(rng, 2, 100, 19, 24, 32, 0.2)
    outputs = {
        "detr_detection": detr_detection,
        "detr_panoptic": {"logits": detr_panoptic["logits"], "pred_masks": detr_panoptic["masks"]},
        "maskformer_ade": {"class_queries_logits": maskformer_ade["logits"], "masks_queries_logits": maskformer_ade["masks"]},
        "maskformer_cityscapes": {"class_queries_logits": maskformer_city["logits"], "masks_queries_logits": maskformer_city["masks"]},
        "segformer": {"logits": rng.normal(size=(2, 150, 16, 16)).astype(np.float32)},
    }  # fmt: skip
    # Values a float16 holds exactly, so that inputs.npz stores them at half the size without loss.
    outputs = {
        name: {f: v.astype(np.float16).astype(np.float32) for f, v in fields.items()}
        for name, fields in outputs.items()
    }
    for name, fields in outputs.items():
        inputs.update({f"{name}__{field}": value.astype(np.float16) for field, value in fields.items()})
    processors = {
        "detr": AutoImageProcessor.from_pretrained(IMAGE_PROCESSORS / "detr", use_fast=False),
        "maskformer": AutoImageProcessor.from_pretrained(IMAGE_PROCESSORS / "maskformer", use_fast=False),
        "segformer": AutoImageProcessor.from_pretrained(IMAGE_PROCESSORS / "segformer", use_fast=False),
        "beit": AutoImageProcessor.from_pretrained(IMAGE_PROCESSORS / "beit", use_fast=False),
    }
    sizes = [[48, 70], [37, 23]]
    stuff = [c for c in range(0, 250, 3)]
    calls = [
        ("detr", "detr_detection", "post_process_object_detection", {}),
        ("detr", "detr_detection", "post_process_object_detection", {"threshold": 0.9, "target_sizes": [[480, 640], [333, 500]]}),
        ("detr", "detr_detection", "post_process_object_detection", {"threshold": 0.0, "target_sizes": "tensor:[[100, 200], [64, 48]]"}),
        ("detr", "detr_panoptic", "post_process_semantic_segmentation", {}),
        ("detr", "detr_panoptic", "post_process_semantic_segmentation", {"target_sizes": sizes}),
        ("detr", "detr_panoptic", "post_process_instance_segmentation", {}),
        ("detr", "detr_panoptic", "post_process_instance_segmentation", {"threshold": 0.8, "target_sizes": sizes, "overlap_mask_area_threshold": 0.5}),
        ("detr", "detr_panoptic", "post_process_instance_segmentation", {"threshold": 0.7, "return_coco_annotation": True}),
        ("detr", "detr_panoptic", "post_process_instance_segmentation", {"threshold": 0.9999}),
        ("detr", "detr_panoptic", "post_process_panoptic_segmentation", {}),
        ("detr", "detr_panoptic", "post_process_panoptic_segmentation", {"threshold": 0.85, "label_ids_to_fuse": stuff, "target_sizes": sizes, "mask_threshold": 0.3}),
        ("maskformer", "maskformer_ade", "post_process_semantic_segmentation", {"target_sizes": sizes}),
        ("maskformer", "maskformer_ade", "post_process_instance_segmentation", {}),
        ("maskformer", "maskformer_ade", "post_process_instance_segmentation", {"threshold": 0.3, "target_sizes": sizes}),
        ("maskformer", "maskformer_ade", "post_process_instance_segmentation", {"threshold": 0.4, "return_binary_maps": True}),
        ("maskformer", "maskformer_ade", "post_process_instance_segmentation", {"threshold": 0.6, "return_coco_annotation": True}),
        ("maskformer", "maskformer_cityscapes", "post_process_instance_segmentation", {"threshold": 0.2, "target_sizes": sizes}),
        ("maskformer", "maskformer_cityscapes", "post_process_semantic_segmentation", {}),
        ("maskformer", "maskformer_ade", "post_process_panoptic_segmentation", {"label_ids_to_fuse": list(range(0, 150, 2))}),
        ("maskformer", "maskformer_cityscapes", "post_process_panoptic_segmentation", {"threshold": 0.6, "overlap_mask_area_threshold": 0.6, "target_sizes": sizes, "label_ids_to_fuse": [0, 1, 2, 8, 10]}),
        ("segformer", "segformer", "post_process_semantic_segmentation", {}),
        ("segformer", "segformer", "post_process_semantic_segmentation", {"target_sizes": sizes}),
        ("beit", "segformer", "post_process_semantic_segmentation", {"target_sizes": [[64, 64], [9, 100]]}),
    ]  # fmt: skip
    cases, expected = [], {}
    for index, (processor_name, output_name, method, kwargs) in enumerate(calls):
        key = f"{index:02d}_{method.removeprefix('post_process_')}"
        call = dict(kwargs)
        if isinstance(call.get("target_sizes"), str):
            call["target_sizes"] = torch.tensor(json.loads(call["target_sizes"].removeprefix("tensor:")))
        if "label_ids_to_fuse" in call:
            call["label_ids_to_fuse"] = set(call["label_ids_to_fuse"])
        model_outputs = SimpleNamespace(**{f: torch.from_numpy(v) for f, v in outputs[output_name].items()})
        results = getattr(processors[processor_name], method)(model_outputs, **call)
        recorded = []
        for i, result in enumerate(results):
            if isinstance(result, torch.Tensor):  # semantic segmentation: one class map per image
                recorded.append({"map": store(expected, f"{key}__{i}__map", result.numpy(), None)})
                continue
            entry = {}
            for field, value in result.items():
                if isinstance(value, torch.Tensor):
                    entry[field] = store(expected, f"{key}__{i}__{field}", value.numpy(), None)
                else:  # segments_info, or run-length encodings
                    entry[field] = {
                        "json": [[int(v) for v in rle] for rle in value] if field == "segmentation" else value
                    }
            recorded.append(entry)
        cases.append(
            {
                "key": key,
                "processor": processor_name,
                "outputs": output_name,
                "method": method,
                "kwargs": kwargs,
                "results": recorded,
            }
        )
    (POST / "cases.json").write_text(json.dumps({"cases": cases}, indent=1) + "\n")
    np.savez_compressed(POST / "inputs.npz", **inputs)
    np.savez_compressed(POST / "expected.npz", **expected)
    print("postprocessing", (POST / "inputs.npz").stat().st_size, (POST / "expected.npz").stat().st_size)


if __name__ == "__main__":
    for family in CASES:
        build_processor(family)
    build_annotations()
    build_postprocessing()
