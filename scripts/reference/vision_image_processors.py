"""Reference outputs of transformers 4.57.6 for the SAM, OWL-ViT, DPT, Swin2SR, SuperPoint and VideoMAE image
processors, written to tests/fixtures/image_processors/<name>/ (preprocessor_config.json, cases.json,
expected.npz) in the layout tests/test_image_processing.py reads.

Run in the side environment that has transformers: `python scripts/reference/vision_image_processors.py`.

cases.json: `class`, `saved_config` (the preprocessor_config.json transformers' save_pretrained writes for
it), `call` (keyword arguments of every call) and `cases`, each with `images` (image specs,
see reference_io.py) or `videos` (lists of them), an optional `call` (more keyword arguments),
`segmentation_maps` (specs turned into label maps), `converted_to_rgb_first` (transformers refused the raw
image: the reference is for it converted to RGB), `stride` (only pixel_values[..., ::stride, ::stride] is
stored, for large outputs) and `expected`: output field -> npz key, or a list of keys (one per image) where
the call returns a list. The configs are written as Hub checkpoints ship them (older int sizes included).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
from reference_io import FIXTURES, label_map, load
from transformers import AutoImageProcessor

OUT = FIXTURES / "image_processors"
CROP_WIDE = "rgb.png crop 200,100,270,145"  # 70 x 45 (width x height)
CROP_TALL = "rgb.png crop 400,200,440,290"  # 40 x 90
CROP_SQUARE = "rgb.png crop 10,300,74,348"  # 64 x 48, a multiple of 8 and 16

# Hub-style configs (fields as the public checkpoints store them).
CONFIGS = {
    "sam": {  # facebook/sam-vit-base
        "do_convert_rgb": True, "do_normalize": True, "do_pad": True, "do_rescale": True, "do_resize": True,
        "image_mean": [0.485, 0.456, 0.406], "image_processor_type": "SamImageProcessor",
        "image_std": [0.229, 0.224, 0.225], "pad_size": {"height": 1024, "width": 1024}, "processor_class": "SamProcessor",
        "resample": 2, "rescale_factor": 0.00392156862745098, "size": {"longest_edge": 1024},
    },
    "owlvit": {  # google/owlvit-base-patch32
        "crop_size": 768, "do_center_crop": True, "do_normalize": True, "do_resize": True,
        "feature_extractor_type": "OwlViTFeatureExtractor", "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711], "processor_class": "OwlViTProcessor", "resample": 3,
        "size": 768,
    },
    "dpt": {  # Intel/dpt-large
        "do_normalize": True, "do_resize": True, "feature_extractor_type": "DPTFeatureExtractor",
        "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "resample": 2, "size": 384,
    },
    "swin2sr": {  # caidas/swin2SR-classical-sr-x2-64
        "do_pad": True, "do_rescale": True, "feature_extractor_type": "Swin2SRFeatureExtractor",
        "image_processor_type": "Swin2SRImageProcessor", "pad_size": 8, "rescale_factor": 0.00392156862745098,
    },
    "superpoint": {  # magic-leap-community/superpoint
        "do_grayscale": True, "do_rescale": True, "do_resize": True, "image_processor_type": "SuperPointImageProcessor",
        "resample": 2, "rescale_factor": 0.00392156862745098, "size": {"height": 480, "width": 640},
    },
    "videomae": {  # MCG-NJU/videomae-base
        "do_center_crop": True, "do_normalize": True, "do_resize": True,
        "feature_extractor_type": "VideoMAEFeatureExtractor", "image_mean": [0.485, 0.456, 0.406],
        "image_std": [0.229, 0.224, 0.225], "resample": 2, "size": 224,
    },
}  # fmt: skip

SMALL_BATCH = [CROP_WIDE, CROP_TALL, "gray.png", "rgba.png"]
CASES = {
    "sam": [
        {"key": "rgb", "images": ["rgb.png"], "stride": 8},
        {"key": "batch", "images": SMALL_BATCH, "call": {"size": {"longest_edge": 64}, "pad_size": {"height": 64, "width": 64}}},
        {"key": "int_sizes", "images": [CROP_TALL], "call": {"size": 48, "pad_size": 50}},
        {"key": "no_pad", "images": [CROP_WIDE, CROP_TALL], "call": {"size": {"longest_edge": 40}, "do_pad": False, "return_tensors": None}},
        {"key": "raw_pixels", "images": [CROP_WIDE + " as numpy"], "call": {"size": {"longest_edge": 32}, "pad_size": {"height": 40, "width": 40}, "do_rescale": False, "do_normalize": False, "data_format": "channels_last"}},
        {"key": "segmentation", "images": [CROP_WIDE, CROP_TALL], "segmentation_maps": [CROP_WIDE, CROP_TALL],
         "call": {"size": {"longest_edge": 64}, "pad_size": {"height": 64, "width": 64}, "mask_size": {"longest_edge": 32}, "mask_pad_size": {"height": 32, "width": 36}}},
        {"key": "segmentation_default", "images": [CROP_TALL], "segmentation_maps": [CROP_TALL], "stride": 8},
    ],
    "owlvit": [
        {"key": "rgb", "images": ["rgb.png"], "stride": 8},
        {"key": "batch", "images": SMALL_BATCH, "converted_to_rgb_first": True, "call": {"size": {"height": 40, "width": 56}, "do_center_crop": False}},
        {"key": "crop", "images": [CROP_TALL, CROP_WIDE], "call": {"size": 64, "crop_size": {"height": 40, "width": 48}, "resample": 2}},
    ],
    "dpt": [
        {"key": "rgb", "images": ["rgb.png"], "stride": 4},
        {"key": "keep_aspect", "images": SMALL_BATCH, "converted_to_rgb_first": True, "call": {"size": {"height": 64, "width": 64}, "keep_aspect_ratio": True, "ensure_multiple_of": 14, "resample": 3, "return_tensors": None}},
        {"key": "multiple", "images": [CROP_WIDE, CROP_TALL], "call": {"size": {"height": 50, "width": 75}, "ensure_multiple_of": 32, "return_tensors": None}},
        {"key": "pad", "images": [CROP_WIDE, CROP_TALL], "call": {"do_resize": False, "do_pad": True, "size_divisor": 32, "return_tensors": None}},
        {"key": "pad_resized", "images": [CROP_TALL], "call": {"size": {"height": 37, "width": 21}, "do_pad": True, "size_divisor": 16}},
        {"key": "segmentation", "images": [CROP_WIDE, CROP_TALL], "segmentation_maps": [CROP_WIDE, CROP_TALL], "call": {"size": {"height": 24, "width": 40}, "do_reduce_labels": True}},
        {"key": "segmentation_keep_aspect", "images": [CROP_TALL], "segmentation_maps": [CROP_TALL], "call": {"size": {"height": 30, "width": 30}, "keep_aspect_ratio": True, "resample": 0}},
    ],
    "swin2sr": [
        {"key": "rgb", "images": ["rgb.png"], "stride": 8},
        {"key": "various", "images": [CROP_WIDE, CROP_TALL, CROP_SQUARE, "gray.png", "rgba.png"], "converted_to_rgb_first": True, "call": {"return_tensors": None}},
        {"key": "size_divisor", "images": [CROP_SQUARE, CROP_WIDE], "call": {"size_divisor": 16, "return_tensors": None}},
        {"key": "pad_size_argument", "images": [CROP_WIDE], "call": {"pad_size": 12}},
        {"key": "raw_pixels", "images": [CROP_TALL], "call": {"do_rescale": False}},
    ],
    "superpoint": [
        {"key": "rgb", "images": ["rgb.png"], "stride": 8},
        {"key": "batch", "images": SMALL_BATCH, "converted_to_rgb_first": True, "call": {"size": {"height": 48, "width": 64}}},
        {"key": "color", "images": [CROP_WIDE], "call": {"size": {"height": 30, "width": 20}, "do_grayscale": False}},
        {"key": "gray_unscaled", "images": [CROP_TALL, "gray.png"], "converted_to_rgb_first": True, "call": {"size": {"height": 30, "width": 20}, "do_rescale": False}},
    ],
    "videomae": [
        {"key": "video", "videos": [["rgb.png crop 0,0,320,240", "rgb.png crop 320,0,640,240", "rgb.png crop 0,240,320,480", "rgb.png crop 320,240,640,480"]], "stride": 4},
        {"key": "batch", "videos": [[CROP_WIDE, "rgb.png crop 210,100,280,145"], [CROP_TALL, "rgb.png crop 400,210,440,300"]], "call": {"size": {"shortest_edge": 32}, "crop_size": {"height": 24, "width": 32}}},
        {"key": "frames", "videos": [CROP_WIDE, CROP_TALL], "call": {"size": {"height": 20, "width": 30}, "do_center_crop": False}},
        {"key": "one_image", "videos": CROP_TALL, "call": {"size": 16}},
    ],
}  # fmt: skip


def images_for(case):
    convert = case.get("converted_to_rgb_first", False)
    if "videos" in case:
        videos = case["videos"]
        if isinstance(videos, str):
            return load(videos, convert)
        return [[load(s, convert) for s in v] if isinstance(v, list) else load(v, convert) for v in videos]
    return [load(spec, convert) for spec in case["images"]]


def store(arrays: dict, key: str, value, stride: int | None) -> str:
    value = np.asarray(value)
    if stride and value.ndim >= 3:
        value = value[..., ::stride, ::stride]
    arrays[key] = value
    return key


def build(name: str) -> None:
    folder = OUT / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "preprocessor_config.json").write_text(json.dumps(CONFIGS[name], indent=2, sort_keys=True) + "\n")
    processor = AutoImageProcessor.from_pretrained(folder, use_fast=False)
    with tempfile.TemporaryDirectory() as saved:
        processor.save_pretrained(saved)
        saved_config = json.loads((Path(saved) / "preprocessor_config.json").read_text())
    spec = {"class": type(processor).__name__, "saved_config": saved_config, "call": {"return_tensors": "np"}, "cases": []}
    arrays: dict = {}
    for case in CASES[name]:
        call = {**spec["call"], **case.get("call", {})}
        inputs = images_for(case)
        if "segmentation_maps" in case:
            call["segmentation_maps"] = [label_map(s) for s in case["segmentation_maps"]]
        out = processor(inputs, **call)
        expected = {}
        for field, value in out.items():
            base = f"{case['key']}__{field}"
            stride = case.get("stride") if field in ("pixel_values", "labels") else None
            if isinstance(value, (list, tuple)) and call.get("return_tensors") is None:
                expected[field] = [store(arrays, f"{base}__{i}", v, stride) for i, v in enumerate(value)]
            else:
                expected[field] = store(arrays, base, value, stride)
        spec["cases"].append({**case, "expected": expected})
    (folder / "cases.json").write_text(json.dumps(spec, indent=1) + "\n")
    np.savez_compressed(folder / "expected.npz", **arrays)
    print(name, sum(a.nbytes for a in arrays.values()), (folder / "expected.npz").stat().st_size)


if __name__ == "__main__":
    for family in CASES:
        build(family)
