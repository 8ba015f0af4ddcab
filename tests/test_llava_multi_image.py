"""LLaVA with several images in one prompt (pixel_values one row per image, rows with different image counts),
feature selection passed to the call and to generate(), image_sizes, and the image-token count check: logits and
generate() tokens against transformers 4.57.6 (scripts/reference/llava_multi_image.py) in every framework."""

import importlib.util

import numpy as np
import pytest
from conftest import MODELS

import autoload

LLAVA = MODELS / "llava" / "LlavaForConditionalGeneration"
CASES = MODELS.parent / "multimodal_extras" / "llava_multi_image" / "cases.npz"
OPTIONS = {"default": {}, "full_last": {"vision_feature_layer": -1, "vision_feature_select_strategy": "full"}}
AUTO = {"torch": "AutoModelForImageTextToText", "tf": "TFAutoModelForVision2Seq", "flax": "FlaxAutoModelForVision2Seq"}
FRAMEWORK = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}
BACKENDS = ["torch", "tf", "flax"]


def load(backend: str):
    if importlib.util.find_spec(FRAMEWORK[backend]) is None:
        pytest.skip(f"{FRAMEWORK[backend]} is not installed")
    model = getattr(autoload, AUTO[backend]).from_pretrained(LLAVA)
    return model.eval() if backend == "torch" else model


def feed(backend: str, arrays: dict) -> dict:
    if backend != "torch":
        return arrays
    import torch

    return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}


def run(backend, model, **kwargs):
    if backend != "torch":
        return model(**kwargs)
    import torch

    with torch.no_grad():
        return model(**kwargs)


def prompt(cases: dict, case: str) -> dict:
    return {"input_ids": cases[f"{case}.input_ids"], "attention_mask": cases[f"{case}.attention_mask"],
            "pixel_values": cases["pixel_values"]}  # fmt: skip


@pytest.fixture(scope="module")
def cases():
    return dict(np.load(CASES))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", list(OPTIONS))
def test_several_images_per_prompt(backend, case, cases):
    """Row 0 has two images, row 1 one (left-padded); the features fill the image tokens in order."""
    model = load(backend)
    inputs = prompt(cases, case)
    output = run(backend, model, **feed(backend, inputs), **OPTIONS[case])
    real = inputs["attention_mask"] == 1  # (a left-padding position attends to nothing: its logits are arbitrary)
    np.testing.assert_allclose(np.asarray(output["logits"])[real], cases[f"{case}.logits"][real], atol=1e-4, rtol=0)
    np.testing.assert_allclose(np.asarray(output["image_hidden_states"]), cases[f"{case}.image_hidden_states"],
                               atol=1e-4, rtol=0)  # fmt: skip
    for search, beams in (("greedy", 1), ("beam2", 2))[: 2 if case == "default" else 1]:  # (beams: once, for time)
        tokens = model.generate(**feed(backend, inputs), **OPTIONS[case], num_beams=beams, do_sample=False,
                                max_new_tokens=5, min_new_tokens=5, pad_token_id=0, eos_token_id=2)  # fmt: skip
        assert np.asarray(tokens).tolist() == cases[f"{case}.{search}"].tolist(), search


@pytest.mark.parametrize("backend", BACKENDS)
def test_feature_layer_as_a_list_of_one(backend, cases):
    """vision_feature_layer=[-1] joins one layer: the same as -1."""
    model = load(backend)
    inputs = prompt(cases, "full_last")
    output = run(backend, model, **feed(backend, inputs), vision_feature_layer=[-1],
                 vision_feature_select_strategy="full")  # fmt: skip
    real = inputs["attention_mask"] == 1
    np.testing.assert_allclose(np.asarray(output["logits"])[real], cases["full_last.logits"][real], atol=1e-4, rtol=0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_image_and_token_counts_must_agree(backend, cases):
    """Three images for a batch whose prompts hold two: refused as transformers refuses it (its message counts
    tokens, then features)."""
    model = load(backend)
    inputs = {k: cases[f"default.{k}"] for k in ("input_ids", "attention_mask")}
    with pytest.raises(ValueError, match="Image features and image tokens do not match: tokens: 48, features 32"):
        run(backend, model, **feed(backend, {**inputs, "pixel_values": cases["pixel_values"][:2]}))
    with pytest.raises(ValueError, match="tokens: 48, features 64"):
        run(backend, model, **feed(backend, {**inputs, "pixel_values": cases["pixel_values"][[0, 1, 2, 2]]}))


@pytest.mark.parametrize("backend", BACKENDS)
def test_image_sizes_with_a_clip_tower(backend, cases):
    """transformers passes image_sizes on to the vision tower, which only Pixtral's accepts: None is ignored, a
    value is refused (transformers' CLIP tower raises TypeError)."""
    model = load(backend)
    inputs = prompt(cases, "default")
    output = run(backend, model, **feed(backend, inputs), image_sizes=None)
    real = inputs["attention_mask"] == 1
    np.testing.assert_allclose(np.asarray(output["logits"])[real], cases["default.logits"][real], atol=1e-4, rtol=0)
    sizes = np.array([[16, 16]] * 3, np.int64)
    with pytest.raises(TypeError, match="image_sizes.*clip_vision_model"):
        run(backend, model, **feed(backend, {**inputs, "image_sizes": sizes}))
    with pytest.raises(TypeError, match="image_sizes.*clip_vision_model"):
        model.generate(**feed(backend, {**inputs, "image_sizes": sizes}), max_new_tokens=2)
