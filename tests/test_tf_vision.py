"""TF (Keras 3) vision models against the reference fixtures: every head, every weight format, backbones."""

import conftest
import numpy as np
import pytest
from conftest import MODELS, assert_matches_expected, read_fixture

tf = pytest.importorskip("tensorflow")

from autoload import registry  # noqa: E402
from autoload.loading import OPTIONAL_BUFFERS  # noqa: E402

TYPES = ("vit", "resnet", "convnext", "swin")
FORMAT_FLAGS = {"tf_h5": {}, "pt_bin": {"from_pt": True}, "flax_msgpack": {"from_flax": True}}


def _folders(formats: bool):
    for model_type in TYPES:
        type_dir = MODELS / model_type
        if formats:
            folders = sorted(p for p in (type_dir / "formats").iterdir() if p.name in FORMAT_FLAGS)
        else:
            folders = sorted(p for p in type_dir.iterdir() if p.is_dir() and p.name != "formats")
        for folder in folders:
            yield pytest.param(model_type, folder, id=f"{model_type}-{folder.name}")


def _tf_class(model_type: str, meta: dict):
    return registry.import_model_class("tf", model_type, "TF" + meta["pt_class"])


@pytest.mark.parametrize("model_type,folder", _folders(formats=False))
def test_head_matches_reference(model_type, folder):
    meta, inputs, expected = read_fixture(folder)
    cls = _tf_class(model_type, meta)
    assert cls.config_class is registry.arch_spec(model_type).CONFIG_CLASS
    model, info = cls.from_pretrained(folder, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == [], info
    assert_matches_expected(model(**inputs, **meta["call_kwargs"]), expected, meta["atol"])


@pytest.mark.parametrize("model_type,folder", _folders(formats=True))
def test_weight_format_loads(model_type, folder):
    meta, inputs, expected = read_fixture(folder)
    model, info = _tf_class(model_type, meta).from_pretrained(folder, output_loading_info=True,
                                                              **FORMAT_FLAGS[folder.name])  # fmt: skip
    assert info["missing_keys"] == [] and info["unexpected_keys"] == [], info
    assert_matches_expected(model(**inputs, **meta["call_kwargs"]), expected, meta["atol"])


@pytest.mark.parametrize("model_type", ["resnet", "convnext", "swin"])
def test_backbone_out_indices(model_type):
    """out_indices=(1,) at load time keeps only stage 1: the reference's first feature map (out_indices [1, 2])."""
    folder = next(MODELS.joinpath(model_type).glob("*Backbone"))
    meta, inputs, expected = read_fixture(folder)
    model = _tf_class(model_type, meta).from_pretrained(folder, out_indices=(1,))
    assert model.config.out_features == ["stage1"]
    result = model(**inputs)
    assert len(result.feature_maps) == 1
    assert_matches_expected({"feature_maps": result.feature_maps}, {"feature_maps_0": expected["feature_maps_0"]},
                            meta["atol"])  # fmt: skip


def test_pixel_values_must_be_channels_first():
    folder = MODELS / "vit" / "ViTModel"
    meta, inputs, _ = read_fixture(folder)
    model = _tf_class("vit", meta).from_pretrained(folder)
    with pytest.raises(ValueError, match="channels-first"):
        model(pixel_values=inputs["pixel_values"].transpose(0, 2, 3, 1))


BASE_FOLDERS = {"vit": "ViTModel", "resnet": "ResNetModel", "convnext": "ConvNextModel", "swin": "SwinModel"}


@pytest.mark.parametrize("model_type", TYPES)
@pytest.mark.parametrize("channels", [2, 5])
def test_wrong_channel_count_is_refused(model_type, channels):
    folder = MODELS / model_type / BASE_FOLDERS[model_type]
    meta, _, _ = read_fixture(folder)
    model = _tf_class(model_type, meta).from_pretrained(folder)
    with pytest.raises(ValueError, match="channels-first"):
        model(pixel_values=np.zeros((1, channels, 32, 32), np.float32))


@pytest.mark.parametrize("model_type", TYPES)
def test_save_pretrained_round_trips_to_torch_and_tf(model_type, tmp_path):
    """What the TF model saves (tf_model.h5 and safetensors) reloads in TF and, where torch is installed,
    in PyTorch with from_tf: the variable names are the ones the shared converter knows."""
    folder = MODELS / model_type / BASE_FOLDERS[model_type]
    meta, inputs, expected = read_fixture(folder)
    cls = _tf_class(model_type, meta)
    model = cls.from_pretrained(folder)
    model.save_pretrained(tmp_path / "h5")
    model.save_pretrained(tmp_path / "st", safe_serialization=True)
    for saved in ("h5", "st"):
        again, info = cls.from_pretrained(tmp_path / saved, output_loading_info=True)
        assert info["missing_keys"] == [] and info["unexpected_keys"] == [], (saved, info)
        assert_matches_expected(again(**inputs, **meta["call_kwargs"]), expected, meta["atol"])
    torch = pytest.importorskip("torch")
    pt_cls = registry.import_model_class("torch", model_type, meta["pt_class"])
    for saved, flags in (("h5", {"from_tf": True}), ("st", {})):
        pt_model, info = pt_cls.from_pretrained(tmp_path / saved, output_loading_info=True, **flags)
        # The derived buffers (num_batches_tracked, relative_position_index) may be absent from TF files.
        assert [k for k in info["missing_keys"] if not k.endswith(OPTIONAL_BUFFERS)] == [], (saved, info)
        with torch.no_grad():
            result = pt_model.eval()(**{k: torch.from_numpy(v) for k, v in inputs.items()}, **meta["call_kwargs"])
        assert_matches_expected(result, expected, meta["atol"])


@pytest.mark.parametrize("size", [(30, 30), (32, 36)])
def test_swin_pads_sizes_that_are_not_window_multiples(size):
    """Sizes that are not patch / window multiples are padded exactly as the PyTorch Swin pads them."""
    torch = pytest.importorskip("torch")
    folder = MODELS / "swin" / "SwinModel"
    pixels = np.random.default_rng(0).standard_normal((1, 3) + size).astype(np.float32)
    tf_out = _tf_class("swin", {"pt_class": "SwinModel"}).from_pretrained(folder)(pixel_values=pixels,
                                                                                   output_hidden_states=True)  # fmt: skip
    pt_model = registry.import_model_class("torch", "swin", "SwinModel").from_pretrained(folder).eval()
    with torch.no_grad():
        pt_out = pt_model(torch.from_numpy(pixels), output_hidden_states=True)
    expected = conftest.flatten_output(pt_out)
    assert_matches_expected(tf_out, expected, 1e-4)


@pytest.mark.parametrize("model_type", TYPES)
def test_training_mode_runs_and_inference_leaves_statistics_alone(model_type):
    """Inference calls leave BatchNorm's moving statistics alone (two calls agree with the reference);
    training=True runs (batch statistics, dropout, stochastic depth)."""
    folder = MODELS / model_type / BASE_FOLDERS[model_type]
    meta, inputs, expected = read_fixture(folder)
    model = _tf_class(model_type, meta).from_pretrained(folder)
    for _ in range(2):
        np.testing.assert_allclose(model(**inputs).last_hidden_state.numpy(), expected["last_hidden_state"], atol=1e-4)
    trained = model(**inputs, training=True).last_hidden_state.numpy()
    assert trained.shape == expected["last_hidden_state"].shape and np.isfinite(trained).all()


def test_return_dict_false_gives_a_tuple():
    folder = MODELS / "resnet" / "ResNetForImageClassification"
    meta, inputs, expected = read_fixture(folder)
    result = _tf_class("resnet", meta).from_pretrained(folder)(**inputs, return_dict=False)
    assert isinstance(result, tuple)
    np.testing.assert_allclose(np.asarray(result[0]), expected["logits"], atol=1e-4)


@pytest.mark.parametrize("size", [(48, 40), (16, 16)])
def test_vit_interpolate_pos_encoding_matches_torch(size):
    torch = pytest.importorskip("torch")
    folder = MODELS / "vit" / "ViTModel"
    pixels = np.random.default_rng(1).standard_normal((2, 3) + size).astype(np.float32)
    tf_model = _tf_class("vit", {"pt_class": "ViTModel"}).from_pretrained(folder)
    with pytest.raises(ValueError, match="interpolate_pos_encoding"):
        tf_model(pixel_values=pixels)
    tf_out = tf_model(pixel_values=pixels, interpolate_pos_encoding=True)
    pt_model = registry.import_model_class("torch", "vit", "ViTModel").from_pretrained(folder).eval()
    with torch.no_grad():
        pt_out = pt_model(torch.from_numpy(pixels), interpolate_pos_encoding=True)
    assert_matches_expected(tf_out, conftest.flatten_output(pt_out), 1e-4)


@pytest.mark.parametrize("model_type", TYPES)
def test_classification_loss_matches_torch(model_type):
    torch = pytest.importorskip("torch")
    folder = next(MODELS.joinpath(model_type).glob("*ForImageClassification"))
    meta, inputs, _ = read_fixture(folder)
    labels = np.array([0, 2], np.int64)
    tf_loss = _tf_class(model_type, meta).from_pretrained(folder)(**inputs, labels=labels).loss
    pt_model = registry.import_model_class("torch", model_type, meta["pt_class"]).from_pretrained(folder).eval()
    with torch.no_grad():
        pt_loss = pt_model(torch.from_numpy(inputs["pixel_values"]), labels=torch.from_numpy(labels)).loss
    np.testing.assert_allclose(float(tf_loss), float(pt_loss), atol=1e-5)
