"""The vision family beyond the Auto-class fixtures, in every framework: classes outside the Auto mappings,
losses, head_mask and resized position tables against transformers 4.57.6 (tests/fixtures/vision_extras,
written by scripts/reference/vision_model_extras.py), backbones chosen at load time, and the clear errors for
configs and inputs the models refuse."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
from conftest import FIXTURES, MODELS, assert_matches_expected

from autoload import AutoConfig, registry
from autoload.families import CLASS_PREFIX

EXTRAS = FIXTURES / "vision_extras"
FRAMEWORK = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}
BACKENDS = tuple(FRAMEWORK)


def needs(backend: str) -> None:
    if importlib.util.find_spec(FRAMEWORK[backend]) is None:
        pytest.skip(f"{FRAMEWORK[backend]} is not installed")


def model_class(backend: str, model_type: str, name: str):
    return registry.import_model_class(backend, model_type, CLASS_PREFIX[backend] + name)


def call(model, backend: str, inputs: dict, kwargs: dict):
    if backend == "torch":
        import torch

        with torch.no_grad():
            return model(**{k: torch.from_numpy(np.asarray(v)) for k, v in inputs.items()}, **kwargs)
    return model(**inputs, **kwargs)


def extra_cases():
    for folder in sorted(p for p in EXTRAS.iterdir() if p.is_dir()):
        for backend in BACKENDS:
            yield pytest.param(folder, backend, id=f"{folder.name}-{backend}")


@pytest.mark.parametrize("folder,backend", extra_cases())
def test_matches_transformers(folder, backend):
    needs(backend)
    case = json.loads((folder / "case.json").read_text())
    inputs, expected = dict(np.load(folder / "inputs.npz")), dict(np.load(folder / "expected.npz"))
    if backend == "flax":  # Flax models compute no losses (as transformers' Flax classes)
        inputs.pop("labels", None)
        expected = {k: v for k, v in expected.items() if k != "loss" or "labels" not in np.load(folder / "inputs.npz")}
    model_type = json.loads((folder / "config.json").read_text())["model_type"]
    module = "siglip" if model_type.startswith("siglip") else model_type
    model = model_class(backend, module, case["class"]).from_pretrained(folder)
    assert_matches_expected(call(model, backend, inputs, case["call"]), expected, 1e-4)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("model_type,folder", [("dinov2", "Dinov2Backbone"), ("beit", "BeitBackbone")])
def test_backbone_stages_chosen_at_load_time(model_type, folder, backend):
    """out_indices=(1,) keeps the reference's first map (its out_indices are [1, 2]), in every framework."""
    needs(backend)
    path = MODELS / model_type / folder
    inputs, expected = dict(np.load(path / "inputs.npz")), dict(np.load(path / "expected.npz"))
    cls = model_class(backend, model_type, folder)
    model = cls.from_pretrained(path, out_indices=(1,))
    assert model.config.out_features == ["stage1"]
    result = call(model, backend, inputs, {})
    assert len(result.feature_maps) == 1
    assert_matches_expected({"feature_maps": result.feature_maps}, {"feature_maps_0": expected["feature_maps_0"]})
    by_name = cls.from_pretrained(path, out_features=["stage2"])
    assert_matches_expected({"feature_maps": call(by_name, backend, inputs, {}).feature_maps},
                            {"feature_maps_0": expected["feature_maps_1"]})  # fmt: skip


TINY_VIT = {"hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 8,
            "image_size": 8, "patch_size": 4}  # fmt: skip


def build(backend: str, model_type: str, name: str, **config):
    return model_class(backend, model_type, name).from_config(AutoConfig.for_model(model_type, **config))


def pixels(size=8, batch=1):
    return np.random.default_rng(0).standard_normal((batch, 3, size, size)).astype(np.float32)


@pytest.mark.parametrize("backend", BACKENDS)
def test_configs_the_models_refuse(backend):
    needs(backend)
    with pytest.raises(ValueError, match="out_indices"):
        build(backend, "beit", "BeitForSemanticSegmentation", **TINY_VIT, out_indices=[1])
    with pytest.raises(ValueError, match="batch_norm_eps"):
        build(backend, "beit", "BeitBackbone", **{**TINY_VIT, "num_hidden_layers": 4}, out_indices=[1, 2, 3, 4],
              add_fpn=True)  # fmt: skip
    with pytest.raises(ValueError, match="auxiliary_channels"):
        build(backend, "beit", "BeitForSemanticSegmentation", **{**TINY_VIT, "num_hidden_layers": 4},
              out_indices=[1, 2, 3, 4], auxiliary_num_convs=0, auxiliary_channels=4)  # fmt: skip
    with pytest.raises(ValueError, match="not_an_activation"):
        build(backend, "vit", "ViTModel", **TINY_VIT, hidden_act="not_an_activation")
    with pytest.raises(ValueError, match="num_attention_heads"):
        AutoConfig.for_model("dinov2", hidden_size=10, num_attention_heads=4)
    with pytest.raises(NotImplementedError, match="use_absolute_embeddings"):
        build(backend, "swin", "SwinModel", image_size=8, patch_size=2, embed_dim=4, depths=[1], num_heads=[1],
              window_size=2, use_absolute_embeddings=True)  # fmt: skip


@pytest.mark.parametrize("backend", BACKENDS)
def test_inputs_the_models_refuse(backend):
    needs(backend)
    vit = build(backend, "vit", "ViTModel", **TINY_VIT)
    mask = np.zeros((1, 4), bool)
    with pytest.raises(ValueError, match="mask token"):
        call(vit, backend, {"pixel_values": pixels(), "bool_masked_pos": mask}, {})
    with pytest.raises(ValueError, match="interpolate_pos_encoding"):
        call(vit, backend, {"pixel_values": pixels(12)}, {})
    mim = build(backend, "vit", "ViTForMaskedImageModeling", **TINY_VIT, encoder_stride=2)
    with pytest.raises(ValueError, match="encoder_stride"):
        call(mim, backend, {"pixel_values": pixels(), "bool_masked_pos": mask}, {})
    # The second stage's 2x2 map is smaller than a window (TF and Flax meet it already while building).
    with pytest.raises(ValueError, match="window_size"):
        swin = build(backend, "swin", "SwinModel", image_size=8, patch_size=2, embed_dim=4, depths=[1, 1],
                     num_heads=[1, 1], window_size=4)  # fmt: skip
        call(swin, backend, {"pixel_values": pixels()}, {})
    with pytest.raises(ValueError, match="channels-first"):
        call(vit, backend, {"pixel_values": pixels().transpose(0, 2, 3, 1)}, {})


@pytest.mark.parametrize("backend", BACKENDS)
def test_dinov2_ignores_a_mask_without_mask_token(backend):
    """As in transformers: DINOv2 without use_mask_token ignores bool_masked_pos (ViT, DeiT and BEiT refuse it)."""
    needs(backend)
    model = build(backend, "dinov2", "Dinov2Model", **{k: v for k, v in TINY_VIT.items() if k != "intermediate_size"},
                  use_mask_token=False)  # fmt: skip
    plain = call(model, backend, {"pixel_values": pixels()}, {}).last_hidden_state
    masked = call(model, backend, {"pixel_values": pixels(), "bool_masked_pos": np.ones((1, 4), bool)}, {})
    np.testing.assert_allclose(np.asarray(masked.last_hidden_state), np.asarray(plain), atol=1e-6)


def test_deit_image_classification_builds_the_class_config_architectures_names():
    """transformers maps DeiT image classification to two classes and builds the one the config names."""
    config = AutoConfig.for_model("deit", **TINY_VIT)
    assert registry.model_class_for("MODEL_FOR_IMAGE_CLASSIFICATION", "torch", config).__name__ == "DeiTForImageClassification"
    config.architectures = ["DeiTForImageClassificationWithTeacher"]
    for backend in BACKENDS:
        cls = registry.model_class_for("MODEL_FOR_IMAGE_CLASSIFICATION", backend, config)
        assert cls.__name__ == CLASS_PREFIX[backend] + "DeiTForImageClassificationWithTeacher"


def test_siglip_vision_config_from_a_full_siglip_checkpoint():
    """SiglipVisionModel.from_pretrained on a SigLIP checkpoint reads the config's vision part, as transformers."""
    torch = pytest.importorskip("torch")
    folder = MODELS / "siglip" / "SiglipModel"
    vision = model_class("torch", "siglip", "SiglipVisionModel").from_pretrained(folder)
    full = model_class("torch", "siglip", "SiglipModel").from_pretrained(folder)
    pixel_values = torch.from_numpy(np.load(folder / "inputs.npz")["pixel_values"])
    with torch.no_grad():
        torch.testing.assert_close(vision(pixel_values).pooler_output, full.get_image_features(pixel_values))
