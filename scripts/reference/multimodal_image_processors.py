"""Reference outputs of transformers 4.57.6 for the ViLT, BLIP, LayoutLMv3 and LLaVA image processors, written to
tests/fixtures/image_processors/<name>/ in the layout of vision_image_processors.py (whose `build` this reuses).

Run in the side environment that has transformers: `python scripts/reference/multimodal_image_processors.py`.

The configs are those of the public checkpoints (dandelin/vilt-b32-finetuned-vqa, Salesforce/blip-image-captioning-base,
microsoft/layoutlmv3-base with apply_ocr switched off, a LLaVA config that pads to a square). `layoutlmv3_hub` keeps
the Hub's apply_ocr=True and a rescale_factor that transformers ignores (LayoutLMv3ImageProcessor reads
`rescale_value`): its cases turn OCR off per call.
"""

from __future__ import annotations

import vision_image_processors as vision

CLIP_MEAN, CLIP_STD = [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]
CROP_WIDE, CROP_TALL = vision.CROP_WIDE, vision.CROP_TALL
SMALL_BATCH = vision.SMALL_BATCH

CONFIGS = {
    "vilt": {  # dandelin/vilt-b32-finetuned-vqa
        "do_normalize": True, "do_resize": True, "feature_extractor_type": "ViltFeatureExtractor",
        "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "resample": 3, "size": 384, "size_divisor": 32,
    },
    "blip": {  # Salesforce/blip-image-captioning-base
        "do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": CLIP_MEAN,
        "image_processor_type": "BlipImageProcessor", "image_std": CLIP_STD, "processor_class": "BlipProcessor",
        "resample": 3, "rescale_factor": 0.00392156862745098, "size": {"height": 384, "width": 384},
    },
    "layoutlmv3": {  # microsoft/layoutlmv3-base, OCR off
        "apply_ocr": False, "do_normalize": True, "do_resize": True, "feature_extractor_type": "LayoutLMv3FeatureExtractor",
        "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "ocr_lang": None, "resample": 2, "size": 224,
    },
    "layoutlmv3_hub": {  # as on the Hub (apply_ocr true), with a rescale_factor that transformers does not read
        "apply_ocr": True, "do_normalize": True, "do_resize": True, "image_processor_type": "LayoutLMv3ImageProcessor",
        "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "ocr_lang": None, "resample": 2,
        "rescale_factor": 0.5, "size": {"height": 224, "width": 224}, "tesseract_config": "",
    },
    "llava": {  # a LLaVA image processor that pads to a square (llava-hf checkpoints use CLIPImageProcessor)
        "crop_size": {"height": 336, "width": 336}, "do_center_crop": True, "do_convert_rgb": True, "do_normalize": True,
        "do_pad": True, "do_rescale": True, "do_resize": True, "image_mean": CLIP_MEAN,
        "image_processor_type": "LlavaImageProcessor", "image_std": CLIP_STD, "resample": 3,
        "rescale_factor": 0.00392156862745098, "size": {"shortest_edge": 336},
    },
}  # fmt: skip

CASES = {
    "vilt": [
        {"key": "rgb", "images": ["rgb.png"], "stride": 8},
        {"key": "batch", "images": SMALL_BATCH, "converted_to_rgb_first": True, "call": {"size": {"shortest_edge": 64}}},
        {"key": "divisor", "images": [CROP_WIDE, CROP_TALL], "call": {"size": {"shortest_edge": 50}, "size_divisor": 7, "resample": 2}},
        {"key": "long_side_capped", "images": ["rgb.png crop 0,0,640,100"], "call": {"size": {"shortest_edge": 80}, "size_divisor": 4}},
        {"key": "no_pad", "images": [CROP_WIDE, CROP_TALL], "call": {"size": {"shortest_edge": 40}, "size_divisor": 2, "do_pad": False, "return_tensors": None}},
        {"key": "list_out", "images": [CROP_TALL, CROP_WIDE], "call": {"size": {"shortest_edge": 30}, "size_divisor": 1, "return_tensors": None}},
        {"key": "raw_pixels", "images": [CROP_WIDE + " as numpy"], "call": {"size": {"shortest_edge": 32}, "size_divisor": 8, "do_rescale": False, "do_normalize": False, "data_format": "channels_last"}},
    ],
    "blip": [
        {"key": "rgb", "images": ["rgb.png"], "stride": 8},
        {"key": "batch", "images": SMALL_BATCH, "call": {"size": {"height": 40, "width": 56}}},
        {"key": "bilinear", "images": [CROP_TALL], "call": {"size": {"height": 24, "width": 30}, "resample": 2}},
    ],
    "layoutlmv3": [
        {"key": "rgb", "images": ["rgb.png"], "stride": 4},
        {"key": "batch", "images": SMALL_BATCH, "converted_to_rgb_first": True, "call": {"size": {"height": 32, "width": 48}}},
        {"key": "unnormalized", "images": [CROP_WIDE], "call": {"size": {"height": 20, "width": 30}, "do_normalize": False}},
    ],
    "layoutlmv3_hub": [
        {"key": "ocr_off", "images": [CROP_TALL, CROP_WIDE], "call": {"apply_ocr": False, "size": {"height": 24, "width": 24}}},
    ],
    "llava": [
        {"key": "rgb", "images": ["rgb.png"], "stride": 8},
        {"key": "batch", "images": SMALL_BATCH, "converted_to_rgb_first": True, "call": {"size": {"shortest_edge": 40}, "crop_size": {"height": 32, "width": 32}}},
        {"key": "tall_no_crop", "images": [CROP_TALL], "call": {"size": {"shortest_edge": 24}, "do_center_crop": False}},
        {"key": "no_pad", "images": [CROP_WIDE, CROP_TALL], "call": {"size": {"shortest_edge": 24}, "crop_size": {"height": 20, "width": 20}, "do_pad": False}},
    ],
}  # fmt: skip

if __name__ == "__main__":
    vision.CONFIGS.update(CONFIGS)
    vision.CASES.update(CASES)
    for family in CASES:
        vision.build(family)
