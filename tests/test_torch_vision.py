"""Vision specifics in PyTorch: backbone stage selection, image sizes, bad pixel inputs."""

import pytest

torch = pytest.importorskip("torch")

from conftest import MODELS  # noqa: E402

import autoload  # noqa: E402
from autoload import AutoBackbone, AutoConfig  # noqa: E402

SWIN_TINY = dict(embed_dim=96, depths=[2, 2, 6, 2], num_heads=[3, 6, 12, 24], window_size=7, image_size=224)


def test_swin_tiny_backbone_stage1_shape():
    config = AutoConfig.for_model("swin", **SWIN_TINY, out_indices=(1,))
    assert config.out_features == ["stage1"]
    backbone = AutoBackbone.from_config(config).eval()
    with torch.no_grad():
        maps = backbone(torch.randn(1, 3, 224, 224)).feature_maps
    assert len(maps) == 1 and maps[0].shape == (1, 96, 56, 56)


@pytest.mark.parametrize("model_type", ["resnet", "convnext", "swin"])
def test_out_indices_and_out_features_at_load_time(model_type):
    folder = MODELS / model_type / f"{ {'resnet': 'ResNet', 'convnext': 'ConvNext', 'swin': 'Swin'}[model_type]}Backbone"
    by_index = AutoBackbone.from_pretrained(folder, out_indices=(1,))
    by_name = AutoBackbone.from_pretrained(folder, out_features=["stage1"])
    both = AutoBackbone.from_pretrained(folder, out_features=["stage2"], out_indices=[2])
    assert by_index.config.out_features == ["stage1"] and by_name.config.out_indices == [1]
    assert both.config.out_indices == [2]
    pixels = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(by_index(pixels).feature_maps[0], by_name(pixels).feature_maps[0])
    with pytest.raises(ValueError, match="different stages"):
        AutoBackbone.from_pretrained(folder, out_features=["stage1"], out_indices=[2])
    with pytest.raises(ValueError, match="out of range"):
        AutoBackbone.from_pretrained(folder, out_indices=[7])
    with pytest.raises(ValueError, match="stage9"):
        AutoBackbone.from_pretrained(folder, out_features=["stage9"])


def test_backbone_defaults_to_last_stage():
    config = AutoConfig.for_model("resnet", embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1])
    assert config.out_features == ["stage2"] and config.out_indices == [2]


@pytest.mark.parametrize("channels", [2, 5])
@pytest.mark.parametrize("model_type", ["vit", "resnet", "convnext", "swin"])
def test_wrong_channel_count_is_refused(model_type, channels):
    folder = next(p for p in (MODELS / model_type).iterdir() if p.name.endswith("Model"))
    model = autoload.AutoModel.from_pretrained(folder)
    with pytest.raises(ValueError, match="channels-first|num_channels|\\[batch, 3"):
        model(torch.randn(1, channels, 32, 32))


def test_swin_pads_sizes_that_are_not_window_multiples():
    model = autoload.AutoModel.from_pretrained(MODELS / "swin" / "SwinModel")
    with torch.no_grad():
        output = model(torch.randn(1, 3, 30, 26))
    assert output.last_hidden_state.shape == (1, 16, 64)


def test_vit_interpolates_position_embeddings():
    model = autoload.AutoModel.from_pretrained(MODELS / "vit" / "ViTModel")
    with pytest.raises(ValueError, match="interpolate_pos_encoding"):
        model(torch.randn(1, 3, 48, 48))
    with torch.no_grad():
        same = model(torch.ones(1, 3, 32, 32), interpolate_pos_encoding=True).last_hidden_state
        plain = model(torch.ones(1, 3, 32, 32)).last_hidden_state
        bigger = model(torch.randn(1, 3, 48, 48), interpolate_pos_encoding=True).last_hidden_state
    torch.testing.assert_close(same, plain)
    assert bigger.shape == (1, 1 + 12 * 12, 32)


def test_resnet_keeps_batch_norm_statistics():
    model = autoload.AutoModel.from_pretrained(MODELS / "resnet" / "ResNetModel")
    norm = model.embedder.embedder.normalization
    assert not torch.allclose(norm.running_mean, torch.zeros_like(norm.running_mean))
    assert not torch.allclose(norm.running_var, torch.ones_like(norm.running_var))
