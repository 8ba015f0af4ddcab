"""OWL-ViT and SAM beyond the Auto-class fixtures, in every framework the registry claims: OWL-ViT's
image-guided detection and interpolated positions, SAM's box, mask and "not a point" prompts, single-mask output,
precomputed image embeddings and SamVisionModel, against transformers 4.57.6 (tests/fixtures/prompted_vision, written by
scripts/reference/owlvit_sam_extras.py from the model fixtures' checkpoints); and the clear errors for inputs
the models refuse."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
from conftest import FIXTURES, MODELS, assert_matches_expected

from autoload import registry
from autoload.families import CLASS_PREFIX

CASES = FIXTURES / "prompted_vision"
FRAMEWORK = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}


def needs(backend: str) -> None:
    if importlib.util.find_spec(FRAMEWORK[backend]) is None:
        pytest.skip(f"{FRAMEWORK[backend]} is not installed")


def load(backend: str, checkpoint: str, name: str | None = None):
    model_type, folder = checkpoint.split("/")
    cls = registry.import_model_class(backend, model_type, CLASS_PREFIX[backend] + (name or folder))
    return cls.from_pretrained(MODELS / checkpoint)


def call(method, backend: str, inputs: dict, kwargs: dict):
    if backend == "torch":
        import torch

        with torch.no_grad():
            return method(**{k: torch.from_numpy(np.asarray(v)) for k, v in inputs.items()}, **kwargs)
    return method(**inputs, **kwargs)


def cases():
    for folder in sorted(p for p in CASES.iterdir() if p.is_dir()):
        case = json.loads((folder / "case.json").read_text())
        spec = registry.arch_spec(case["checkpoint"].split("/")[0])
        for backend in spec.BACKENDS:
            yield pytest.param(folder, case, backend, id=f"{folder.name}-{backend}")


@pytest.mark.parametrize("folder,case,backend", cases())
def test_matches_transformers(folder, case, backend):
    needs(backend)
    inputs, expected = dict(np.load(folder / "inputs.npz")), dict(np.load(folder / "expected.npz"))
    model = load(backend, case["checkpoint"], case.get("class"))
    method = model if case["method"] == "forward" else getattr(model, case["method"])
    assert_matches_expected(call(method, backend, inputs, case["call"]), expected, 1e-4)


@pytest.mark.parametrize("backend", FRAMEWORK)
def test_owlvit_refuses_uneven_queries(backend):
    needs(backend)
    model = load(backend, "owlvit/OwlViTForObjectDetection")
    inputs = dict(np.load(MODELS / "owlvit/OwlViTForObjectDetection/inputs.npz"))
    inputs = {"input_ids": inputs["input_ids"][:3], "attention_mask": inputs["attention_mask"][:3],
              "pixel_values": inputs["pixel_values"]}  # fmt: skip
    with pytest.raises(ValueError, match="same number of text queries"):
        call(model, backend, inputs, {})


ROUND_TRIPS = [("owlvit/OwlViTForObjectDetection", "tf", "torch"), ("owlvit/OwlViTForObjectDetection", "flax", "tf"),
               ("sam/SamModel", "tf", "torch"), ("sam/SamModel", "flax", "torch")]


@pytest.mark.parametrize("checkpoint,writer,reader", ROUND_TRIPS, ids=lambda v: str(v).replace("/", "-"))
def test_native_files_load_in_another_framework(checkpoint, writer, reader, tmp_path):
    """transformers has no TF / Flax class here, so our tf_model.h5 and flax_model.msgpack are the only ones:
    written by one framework, they load without missing or unexpected keys in another and reproduce the reference."""
    needs(writer)
    needs(reader)
    load(writer, checkpoint).save_pretrained(tmp_path)
    model_type, name = checkpoint.split("/")
    cls = registry.import_model_class(reader, model_type, CLASS_PREFIX[reader] + name)
    flag = {"tf": {"from_tf": True}, "flax": {"from_flax": True}}[writer]
    model, info = cls.from_pretrained(tmp_path, output_loading_info=True, **flag)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == [], info
    inputs = dict(np.load(MODELS / checkpoint / "inputs.npz"))
    expected = dict(np.load(MODELS / checkpoint / "expected.npz"))
    meta = json.loads((MODELS / checkpoint / "fixture.json").read_text())
    assert_matches_expected(call(model, reader, inputs, meta["call_kwargs"]), expected, 1e-4)


@pytest.mark.parametrize("backend", FRAMEWORK)
def test_owlvit_detection_refuses_mismatched_widths(backend):
    """transformers fails inside the class head's einsum; the config is refused before any weight is built."""
    needs(backend)
    from autoload.models.owlvit import OwlViTConfig

    config = OwlViTConfig(text_config={"hidden_size": 8, "num_attention_heads": 2, "num_hidden_layers": 1},
                          vision_config={"hidden_size": 8, "num_attention_heads": 2, "num_hidden_layers": 1,
                                         "image_size": 8, "patch_size": 4}, projection_dim=6)  # fmt: skip
    cls = registry.import_model_class(backend, "owlvit", CLASS_PREFIX[backend] + "OwlViTForObjectDetection")
    with pytest.raises(ValueError, match="projection_dim"):
        cls(config)
