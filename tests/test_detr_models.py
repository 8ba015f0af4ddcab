"""DETR and MaskFormer beyond the reference fixtures (tests/test_parity.py covers those): checkpoints written with a
timm ResNet backbone (use_timm_backbone=True, as facebook/detr-resnet-50 is) load onto our own ResNet in every
framework, and what autoload does not build is refused clearly."""

import json

import numpy as np
import pytest
from conftest import MODELS

import autoload
from autoload.models.detr import DetrConfig
from autoload.models.resnet import ResNetConfig

DETR = MODELS / "detr"
SMALL = {"d_model": 16, "encoder_attention_heads": 2, "decoder_attention_heads": 2, "encoder_layers": 1,
         "decoder_layers": 1, "encoder_ffn_dim": 16, "decoder_ffn_dim": 16, "num_queries": 3, "num_labels": 2}  # fmt: skip


def timm_name(ours: str) -> str:
    """Our ResNet's weight name as timm's ResNet-18 names it (written out here independently of autoload's rules)."""
    head, _, rest = ours.partition("backbone.conv_encoder.model.")
    if not _:
        return ours
    parts = rest.split(".")
    if parts[:2] == ["embedder", "embedder"]:
        return head + _ + {"convolution": "conv1", "normalization": "bn1"}[parts[2]] + "." + parts[3]
    stage, block = int(parts[2]) + 1, parts[4]
    if parts[5] == "shortcut":
        module = {"convolution": "downsample.0", "normalization": "downsample.1"}[parts[6]]
        return f"{head}{_}layer{stage}.{block}.{module}.{parts[7]}"
    conv = int(parts[6]) + 1
    module = {"convolution": f"conv{conv}", "normalization": f"bn{conv}"}[parts[7]]
    return f"{head}{_}layer{stage}.{block}.{module}.{parts[8]}"


@pytest.fixture(scope="module")
def timm_checkpoint(tmp_path_factory):
    """A DetrForObjectDetection on a ResNet-18 written as transformers writes it with timm's resnet18 backbone,
    and the logits our own (non-timm) model gives for an image."""
    torch = pytest.importorskip("torch")
    from safetensors.numpy import save_file

    backbone = ResNetConfig(embedding_size=64, hidden_sizes=[64, 128, 256, 512], depths=[2, 2, 2, 2],
                            layer_type="basic", out_indices=[1, 2, 3, 4])  # fmt: skip
    config = DetrConfig(use_timm_backbone=False, backbone=None, backbone_config=backbone, use_pretrained_backbone=False,
                        **SMALL)  # fmt: skip
    torch.manual_seed(0)
    model = autoload.AutoModelForObjectDetection.from_config(config).eval()
    with torch.no_grad():
        for module in model.modules():  # frozen BatchNorm statistics away from the identity
            if type(module).__name__ == "DetrFrozenBatchNorm2d":
                for buffer in (module.weight, module.bias, module.running_mean):
                    buffer.copy_(torch.randn_like(buffer) * 0.1 + (1.0 if buffer is module.weight else 0.0))
                module.running_var.copy_(torch.rand_like(module.running_var) + 0.5)
    pixels = np.random.default_rng(0).standard_normal((1, 3, 64, 64)).astype(np.float32)
    with torch.no_grad():
        logits = model(pixel_values=torch.from_numpy(pixels)).logits.numpy()
    folder = tmp_path_factory.mktemp("detr_timm")
    state = {timm_name(k): v.numpy() for k, v in model.state_dict().items()}
    assert "model.backbone.conv_encoder.model.layer2.0.downsample.1.running_mean" in state
    save_file(state, str(folder / "model.safetensors"))
    data = config.to_dict()
    data.update(use_timm_backbone=True, backbone="resnet18", backbone_config=None, use_pretrained_backbone=True,
                backbone_kwargs={"out_indices": [1, 2, 3, 4], "in_chans": 3}, dilation=False)  # fmt: skip
    (folder / "config.json").write_text(json.dumps(data))
    return folder, pixels, logits


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_timm_resnet_checkpoint_loads_onto_our_resnet(timm_checkpoint, backend):
    pytest.importorskip({"torch": "torch", "tf": "tensorflow", "flax": "flax"}[backend])
    folder, pixels, logits = timm_checkpoint
    prefix = {"torch": "", "tf": "TF", "flax": "Flax"}[backend]
    model, info = getattr(autoload, prefix + "AutoModelForObjectDetection").from_pretrained(
        folder, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == [], info
    assert model.config.use_timm_backbone and model.config.backbone == "resnet18"
    if backend == "torch":
        import torch

        with torch.no_grad():
            got = model(pixel_values=torch.from_numpy(pixels)).logits.numpy()
        trainable = {n for n, p in model.named_parameters() if p.requires_grad and "conv_encoder" in n}
        assert trainable and all(".stages.0." not in n and "embedder" not in n for n in trainable)
    else:
        got = np.asarray(model(pixel_values=pixels).logits)
    np.testing.assert_allclose(got, logits, atol=1e-4, rtol=0)


@pytest.mark.parametrize("changes,words", [
    ({"backbone": "efficientnet_b0"}, "resnet18"),
    ({"dilation": True}, "dilation"),
    ({"backbone_kwargs": {"out_indices": [0, 1], "in_chans": 3}}, "level 0"),
    ({"backbone_kwargs": {"output_stride": 8}}, "output_stride"),
])  # fmt: skip
def test_timm_backbones_autoload_cannot_build_are_refused(changes, words):
    config = DetrConfig(use_timm_backbone=True, backbone="resnet50", **SMALL)
    for key, value in changes.items():
        setattr(config, key, value)
    with pytest.raises(NotImplementedError, match=words):
        config.check_supported()


def test_a_backbone_fetched_by_name_is_refused():
    config = DetrConfig(use_timm_backbone=False, backbone="microsoft/resnet-50", backbone_config=None,
                        use_pretrained_backbone=False, **SMALL)  # fmt: skip
    with pytest.raises(NotImplementedError, match="backbone_config"):
        config.check_supported()


@pytest.mark.parametrize("backend", ["tf", "flax"])
def test_labels_are_refused_outside_pytorch(backend):
    pytest.importorskip({"tf": "tensorflow", "flax": "flax"}[backend])
    prefix = {"tf": "TF", "flax": "Flax"}[backend]
    model = getattr(autoload, prefix + "AutoModelForObjectDetection").from_pretrained(DETR / "DetrForObjectDetection")
    inputs = dict(np.load(DETR / "DetrForObjectDetection" / "inputs.npz"))
    labels = [{"class_labels": np.array([1]), "boxes": np.array([[0.5, 0.5, 0.2, 0.2]], np.float32)}] * 2
    with pytest.raises(NotImplementedError, match="PyTorch only"):
        model(**inputs, labels=labels)



LOSS_CASES = {"detection": ("DetrForObjectDetection", False), "detection_auxiliary": ("DetrForObjectDetection", True),
              "segmentation": ("DetrForSegmentation", False), "segmentation_auxiliary": ("DetrForSegmentation", True)}  # fmt: skip


def reference_labels(losses, case: str) -> list[dict]:
    labels = []
    for i in range(2):
        prefix = f"label_{case}_{i}_"
        labels.append({k[len(prefix):]: losses[k] for k in losses.files if k.startswith(prefix)})
    return labels


@pytest.mark.parametrize("case", sorted(LOSS_CASES))
def test_loss_from_labels_matches_transformers(case):
    """Total loss and every loss_dict entry as transformers 4.57.6 computes them (scripts/reference/detr_loss.py)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("scipy")
    head, auxiliary = LOSS_CASES[case]
    losses = np.load(MODELS.parent / "detr_loss" / "losses.npz")
    model = getattr(autoload, "AutoModelForObjectDetection" if head == "DetrForObjectDetection"
                    else "AutoModelForImageSegmentation").from_pretrained(DETR / head, auxiliary_loss=auxiliary)  # fmt: skip
    inputs = dict(np.load(DETR / head / "inputs.npz"))
    labels = [{k: torch.from_numpy(v) for k, v in t.items()} for t in reference_labels(losses, case)]
    with torch.no_grad():
        output = model(**{k: torch.from_numpy(v) for k, v in inputs.items()}, labels=labels)
    expected = {k[len(case) + 1:]: losses[k] for k in losses.files
                if k.startswith(case + "_") and not k.startswith(case + "_auxiliary")}  # fmt: skip
    assert set(output.loss_dict) == set(expected) - {"loss"}
    np.testing.assert_allclose(output.loss.numpy(), expected["loss"], atol=1e-4, rtol=0)
    for key, value in output.loss_dict.items():
        np.testing.assert_allclose(value.numpy(), expected[key], atol=1e-4, rtol=0, err_msg=key)
    assert (output.auxiliary_outputs is not None) == auxiliary


def test_loss_without_scipy_is_a_clear_error(monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setitem(__import__("sys").modules, "scipy.optimize", None)
    model = autoload.AutoModelForObjectDetection.from_pretrained(DETR / "DetrForObjectDetection")
    inputs = dict(np.load(DETR / "DetrForObjectDetection" / "inputs.npz"))
    labels = [{"class_labels": torch.tensor([1]), "boxes": torch.tensor([[0.5, 0.5, 0.2, 0.2]])}] * 2
    with pytest.raises(autoload.errors.BackendNotAvailableError, match="scipy"):
        model(**{k: torch.from_numpy(v) for k, v in inputs.items()}, labels=labels)


def _saved(tmp_path, config, family):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = getattr(autoload, "Auto" + family).from_config(config)
    with torch.no_grad():
        for module in model.modules():  # GroupNorm / LayerNorm affine parameters away from the identity
            if isinstance(module, (torch.nn.GroupNorm, torch.nn.LayerNorm)):
                module.weight.add_(torch.randn_like(module.weight) * 0.1)
                module.bias.add_(torch.randn_like(module.bias) * 0.1)
    model.save_pretrained(tmp_path)
    return tmp_path


def test_maskformer_on_resnet_agrees_across_frameworks(tmp_path):
    """MaskFormer on a ResNet backbone (the fixtures use MaskFormer's Swin) gives the same outputs in the three
    frameworks."""
    from autoload.models.maskformer import MaskFormerConfig
    from autoload.testing import compare_backends

    backbone = ResNetConfig(embedding_size=8, hidden_sizes=[8, 16, 16, 32], depths=[1, 1, 1, 1], layer_type="basic",
                            out_features=["stage1", "stage2", "stage3", "stage4"])  # fmt: skip
    decoder = DetrConfig(d_model=16, decoder_attention_heads=2, encoder_attention_heads=2, decoder_layers=2,
                         decoder_ffn_dim=16, num_queries=4)  # fmt: skip
    config = MaskFormerConfig(backbone_config=backbone, decoder_config=decoder, fpn_feature_size=32,
                              mask_feature_size=8, num_labels=3)  # fmt: skip
    folder = _saved(tmp_path, config, "ModelForInstanceSegmentation")
    pixels = np.random.default_rng(1).standard_normal((1, 3, 64, 48)).astype(np.float32)
    report = compare_backends(folder, inputs={"pixel_values": pixels})
    assert not report.problems and not report.skipped, report.problems
    worst = {backend: max(diffs.values()) for backend, diffs in report.diffs.items()}
    assert set(worst) == {"tf", "flax"} and max(worst.values()) < 1e-4, worst


def test_maskformer_turns_a_swin_backbone_into_its_own_swin():
    """As transformers does: a plain Swin backbone_config is built as MaskFormer's Swin returning all four stages."""
    from autoload.models.maskformer import MaskFormerConfig
    from autoload.models.swin import SwinConfig

    config = MaskFormerConfig(backbone_config=SwinConfig(embed_dim=8, depths=[1, 1, 1, 1], num_heads=[1, 1, 2, 2],
                                                         window_size=3, out_features=["stage4"]))  # fmt: skip
    pixel = config.pixel_backbone_config
    assert pixel.model_type == "maskformer-swin" and pixel.window_size == 3
    assert pixel.out_features == ["stage1", "stage2", "stage3", "stage4"]
    assert config.backbone_channels == [8, 16, 32, 64]


@pytest.mark.parametrize("case", ["plain", "auxiliary"])
def test_maskformer_loss_matches_transformers(case):
    """The loss from mask_labels and class_labels as transformers 4.57.6 computes it (with and without
    use_auxiliary_loss; scripts/reference/maskformer_loss.py)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("scipy")
    folder = MODELS / "maskformer" / "MaskFormerForInstanceSegmentation"
    losses = np.load(MODELS.parent / "detr_loss" / "maskformer_losses.npz")
    model = autoload.AutoModelForInstanceSegmentation.from_pretrained(folder, use_auxiliary_loss=(case == "auxiliary"))
    pixels = torch.from_numpy(np.load(folder / "inputs.npz")["pixel_values"])
    masks = [torch.from_numpy(losses[f"{case}_{i}_mask_labels"]) for i in range(2)]
    classes = [torch.from_numpy(losses[f"{case}_{i}_class_labels"]) for i in range(2)]
    with torch.no_grad():
        output = model(pixel_values=pixels, mask_labels=masks, class_labels=classes)
    np.testing.assert_allclose(output.loss.numpy(), losses[f"{case}_loss"], atol=1e-4, rtol=0)
