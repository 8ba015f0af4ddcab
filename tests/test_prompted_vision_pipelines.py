"""OWL-ViT and SAM the way users run them, in every framework the registry claims: the image processor on real
test images, the model, and the post-processing (grounded and image-guided detection, post_process_masks), against
transformers 4.57.6 end to end (tests/fixtures/prompted_vision_pipelines, written by
scripts/reference/owlvit_sam_pipelines.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import FIXTURES, MODELS
from PIL import Image
from test_prompted_vision import call, load, needs

from autoload import AutoImageProcessor, AutoProcessor, registry

CASES = FIXTURES / "prompted_vision_pipelines"
PROCESSORS = FIXTURES / "processors"


def images(names, rgb: bool):
    loaded = [Image.open(FIXTURES / "images" / name) for name in names]
    return [image.convert("RGB") for image in loaded] if rgb else loaded


def case(name: str) -> tuple[dict, dict]:
    return json.loads((CASES / name / "case.json").read_text()), dict(np.load(CASES / name / "expected.npz"))


def claimed(model_type: str) -> list[str]:
    return list(registry.arch_spec(model_type).BACKENDS)


@pytest.mark.parametrize("backend", claimed("owlvit"))
def test_owlvit_detects_like_transformers(backend):
    needs(backend)
    spec, expected = case("owlvit")
    processor = AutoImageProcessor.from_pretrained(PROCESSORS / "owlvit", **spec["overrides"])
    pixels = processor(images=images(spec["images"], spec["convert_rgb"]), return_tensors="np")["pixel_values"]
    queries = processor(images=images(spec["query_images"], spec["convert_rgb"]), return_tensors="np")["pixel_values"]
    np.testing.assert_allclose(pixels, expected["pixel_values"], atol=1e-5)
    np.testing.assert_allclose(queries, expected["query_pixel_values"], atol=1e-5)
    model = load(backend, spec["checkpoint"])
    text = dict(np.load(MODELS / spec["checkpoint"] / "inputs.npz"))
    outputs = call(model, backend, {"input_ids": text["input_ids"], "attention_mask": text["attention_mask"],
                                    "pixel_values": pixels}, {})  # fmt: skip
    guided = call(model.image_guided_detection, backend, {"pixel_values": pixels, "query_pixel_values": queries}, {})
    sizes = np.array(spec["target_sizes"])
    found = {"text": processor.post_process_object_detection(outputs, threshold=0.0, target_sizes=sizes),
             "guided": processor.post_process_image_guided_detection(guided, threshold=0.0, nms_threshold=0.3,
                                                                     target_sizes=sizes)}  # fmt: skip
    for prefix, results in found.items():
        assert len(results) == 2
        for i, result in enumerate(results):
            np.testing.assert_allclose(np.asarray(result["scores"]), expected[f"{prefix}_{i}_scores"], atol=1e-4)
            np.testing.assert_allclose(np.asarray(result["boxes"]), expected[f"{prefix}_{i}_boxes"],
                                       atol=1e-4 * sizes.max())  # fmt: skip
            if f"{prefix}_{i}_labels" in expected:
                np.testing.assert_array_equal(np.asarray(result["labels"]), expected[f"{prefix}_{i}_labels"])


@pytest.mark.parametrize("backend", claimed("sam"))
def test_sam_segments_like_transformers(backend):
    needs(backend)
    spec, expected = case("sam")
    image_processor = AutoImageProcessor.from_pretrained(PROCESSORS / "sam", **spec["overrides"])
    processor = type(AutoProcessor.from_pretrained(PROCESSORS / "sam"))(image_processor)
    inputs = processor(images=images(spec["images"], spec["convert_rgb"]),
                       input_points=[[p] for p in spec["input_points"]],
                       input_labels=[[labels] for labels in spec["input_labels"]], input_boxes=spec["input_boxes"],
                       return_tensors="np")  # fmt: skip
    for key, value in inputs.items():
        np.testing.assert_allclose(np.asarray(value), expected[key], atol=1e-5, err_msg=key)
    model = load(backend, spec["checkpoint"])
    prompts = {k: np.asarray(v) for k, v in inputs.items() if k not in ("original_sizes", "reshaped_input_sizes")}
    outputs = call(model, backend, prompts, {})
    np.testing.assert_allclose(np.asarray(outputs.pred_masks), expected["pred_masks"], atol=1e-4)
    np.testing.assert_allclose(np.asarray(outputs.iou_scores), expected["iou_scores"], atol=1e-4)
    args = (np.asarray(outputs.pred_masks), inputs["original_sizes"], inputs["reshaped_input_sizes"])
    masks = processor.post_process_masks(*args)
    scores = processor.post_process_masks(*args, binarize=False)
    for i, (mask, score) in enumerate(zip(masks, scores)):
        want = expected[f"masks_{i}"]
        assert mask.shape == want.shape and mask.dtype == np.bool_
        # a pixel may only flip where the upscaled logit is within float noise of the 0 threshold
        differ = np.asarray(mask) != want
        assert not differ.any() or np.abs(np.asarray(score)[differ]).max() < 1e-4

