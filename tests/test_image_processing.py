"""AutoImageProcessor against transformers' outputs, overrides, tensors, saving and bad images."""

import json

import numpy as np
import pytest
from conftest import FIXTURES
from PIL import Image

from autoload import AutoImageProcessor

PROCESSORS = FIXTURES / "image_processors"
IMAGES = FIXTURES / "images"


def load_case_images(case):
    images = []
    for spec in case["images"]:
        image = Image.open(IMAGES / spec.split(" ")[0])
        if "numpy" in spec:
            image = np.asarray(image.convert("RGB"))
        elif case.get("converted_to_rgb_first") or "converted" in spec:
            image = image.convert("RGB")
        images.append(image)
    return images


def cases():
    for folder in sorted(PROCESSORS.iterdir()):
        for case in json.loads((folder / "cases.json").read_text())["cases"]:
            yield pytest.param(folder, case, id=f"{folder.name}-{case['key']}")


@pytest.mark.parametrize("folder,case", cases())
def test_matches_transformers(folder, case):
    processor = AutoImageProcessor.from_pretrained(folder)
    assert type(processor).__name__ == json.loads((folder / "cases.json").read_text())["class"]
    pixels = processor(load_case_images(case), return_tensors="np")["pixel_values"]
    expected = np.load(folder / "expected.npz")[case["key"]]
    np.testing.assert_allclose(pixels.astype(np.float32), expected, atol=1e-5)


def test_gray_rgba_and_palette_images_become_rgb():
    processor = AutoImageProcessor.from_pretrained(PROCESSORS / "vit")
    palette = Image.open(IMAGES / "rgb.png").convert("P")
    for image in (Image.open(IMAGES / "gray.png"), Image.open(IMAGES / "rgba.png"), palette):
        assert processor(image).pixel_values.shape == (1, 3, 224, 224)


def test_channels_first_arrays_floats_and_mixed_sizes():
    processor = AutoImageProcessor.from_pretrained(PROCESSORS / "vit")
    hwc = np.asarray(Image.open(IMAGES / "rgb.png").convert("RGB"))
    from_hwc = processor(hwc).pixel_values
    from_chw = processor(np.transpose(hwc, (2, 0, 1))).pixel_values
    from_float = processor(hwc.astype(np.float32) / 255).pixel_values
    np.testing.assert_allclose(from_chw, from_hwc)
    np.testing.assert_allclose(from_float, from_hwc, atol=1e-5)
    batch = processor([hwc, np.asarray(Image.open(IMAGES / "gray.png"))]).pixel_values
    assert batch.shape == (2, 3, 224, 224)


def test_overrides_at_load_and_call_time():
    processor = AutoImageProcessor.from_pretrained(PROCESSORS / "vit", size={"height": 64, "width": 48})
    image = Image.open(IMAGES / "rgb.png")
    assert processor(image).pixel_values.shape == (1, 3, 64, 48)
    assert processor(image, size={"height": 32, "width": 32}).pixel_values.shape == (1, 3, 32, 32)
    assert processor(image, data_format="channels_last").pixel_values.shape == (1, 64, 48, 3)
    unnormalised = processor(image, do_normalize=False).pixel_values
    assert unnormalised.min() >= 0 and unnormalised.max() <= 1


@pytest.mark.parametrize("kind", ["pt", "tf", "jax"])
def test_return_tensors(kind):
    pytest.importorskip({"pt": "torch", "tf": "tensorflow", "jax": "jax"}[kind])
    processor = AutoImageProcessor.from_pretrained(PROCESSORS / "clip")
    pixels = processor(Image.open(IMAGES / "rgb.png"), return_tensors=kind)["pixel_values"]
    assert tuple(pixels.shape) == (1, 3, 224, 224) and type(pixels).__module__.split(".")[0] in (
        "torch", "tensorflow", "jax", "jaxlib")  # fmt: skip


def test_save_and_reload(tmp_path):
    processor = AutoImageProcessor.from_pretrained(PROCESSORS / "convnext")
    processor.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "preprocessor_config.json").read_text())
    assert saved["image_processor_type"] == "ConvNextImageProcessor" and saved["crop_pct"] == 0.875
    again = AutoImageProcessor.from_pretrained(tmp_path)
    image = Image.open(IMAGES / "rgb.png")
    np.testing.assert_array_equal(again(image).pixel_values, processor(image).pixel_values)


def test_model_type_fallback_and_feature_extractor_type(tmp_path):
    config = json.loads((PROCESSORS / "vit" / "preprocessor_config.json").read_text())
    config.pop("image_processor_type")
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(config))
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "swin"}))
    assert type(AutoImageProcessor.from_pretrained(tmp_path)).__name__ == "ViTImageProcessor"
    config["feature_extractor_type"] = "CLIPFeatureExtractor"
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(config))
    assert type(AutoImageProcessor.from_pretrained(tmp_path)).__name__ == "CLIPImageProcessor"


def test_register_and_unknown_type(tmp_path):
    from autoload.image_processing.vit import ViTImageProcessor

    class SquareProcessor(ViTImageProcessor):
        pass

    (tmp_path / "preprocessor_config.json").write_text(json.dumps({"image_processor_type": "SquareProcessor"}))
    with pytest.raises(ValueError, match="AutoImageProcessor.register"):
        AutoImageProcessor.from_pretrained(tmp_path)
    AutoImageProcessor.register("square-test", SquareProcessor)
    assert type(AutoImageProcessor.from_pretrained(tmp_path)).__name__ == "SquareProcessor"


@pytest.mark.parametrize(
    "image,error",
    [
        (np.zeros((10, 10, 2), np.uint8), "channels"),
        (np.zeros((10, 10, 5), np.uint8), "channels"),
        (np.zeros((0, 10, 3), np.uint8), "zero size"),
        (np.zeros((10, 10, 3), np.complex64), "dtype"),
        ("not an image", "PIL images or numpy arrays"),
    ],
)
def test_bad_images(image, error):
    processor = AutoImageProcessor.from_pretrained(PROCESSORS / "vit")
    with pytest.raises((ValueError, TypeError), match=error):
        processor(image)
