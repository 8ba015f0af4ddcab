"""AutoImageProcessor against transformers' outputs, inputs of every kind, overrides, saving and bad images.

The reference arrays in fixtures/image_processors/ are a subset of the shared preprocessing set (transformers
4.57.6): per folder the unique arrays its kept cases need (`expected` in cases.json lists them; a batch is
their concatenation). LayoutLMv2's are stored as uint8, the type transformers returns there.
Folders written by scripts/reference/vision_image_processors.py map each output field to its arrays instead
(`expected` is a dict), may add per-case call arguments, segmentation maps, videos and crops of the test
images, and store large pixel_values only every `stride`-th row and column.
"""

import json
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import FIXTURES
from PIL import Image
from reference_data import IMAGES, assert_same, case_images, decode, label_map

from autoload import AutoFeatureExtractor, AutoImageProcessor, BatchFeature
from autoload.image_processing import transforms

PROCESSORS = FIXTURES / "image_processors"


def open_image(name: str) -> Image.Image:
    return Image.open(IMAGES / name)


def case_inputs(case: dict, convert: bool):
    if "videos" not in case:
        return [case_images(name, convert) for name in case["images"]]
    videos = case["videos"]
    if isinstance(videos, str):
        return case_images(videos, convert)
    return [[case_images(s, convert) for s in v] if isinstance(v, list) else case_images(v, convert) for v in videos]


def assert_matches(actual, expected: np.ndarray, stride, what: str):
    actual = np.asarray(actual)
    if stride and actual.ndim >= 3:
        actual = actual[..., ::stride, ::stride]
    assert_same(actual, expected, what, atol=1e-5)


def reference_cases():
    for folder in sorted(PROCESSORS.iterdir()):
        spec = json.loads((folder / "cases.json").read_text())
        for case in spec["cases"]:
            yield pytest.param(folder, spec, case, id=f"{folder.name}-{case['key']}")


@pytest.mark.parametrize("folder,spec,case", reference_cases())
def test_matches_transformers(folder, spec, case):
    processor = AutoImageProcessor.from_pretrained(folder)
    assert type(processor).__name__ == spec["class"]
    stored = np.load(folder / "expected.npz")
    if isinstance(case["expected"], dict):
        return check_fields(processor, spec, case, stored)
    expected = np.concatenate([stored[key] for key in case["expected"]])
    # Where transformers refused the raw image the reference is of the RGB-converted one; we convert it ourselves.
    for convert in {bool(case.get("converted_to_rgb_first")), False}:
        images = [case_images(name, convert) for name in case["images"]]
        pixels = processor(images, **spec["call"])["pixel_values"]
        assert pixels.dtype == expected.dtype and pixels.shape == expected.shape
        np.testing.assert_allclose(pixels, expected, atol=1e-5, rtol=0)


def check_fields(processor, spec: dict, case: dict, stored) -> None:
    call = {**spec["call"], **case.get("call", {})}
    if "segmentation_maps" in case:
        call["segmentation_maps"] = [label_map(name) for name in case["segmentation_maps"]]
    for convert in {bool(case.get("converted_to_rgb_first")), False}:
        out = processor(case_inputs(case, convert), **call)
        assert sorted(out) == sorted(case["expected"])
        for field, keys in case["expected"].items():
            stride = case.get("stride") if field in ("pixel_values", "labels") else None
            if isinstance(keys, list):  # return_tensors=None: one array per image
                assert len(out[field]) == len(keys), field
                for i, (value, key) in enumerate(zip(out[field], keys)):
                    assert_matches(value, stored[key], stride, f"{field}[{i}]")
            else:
                assert_matches(out[field], stored[keys], stride, field)


def saved_config_cases():
    for folder in sorted(PROCESSORS.iterdir()):
        spec = json.loads((folder / "cases.json").read_text())
        if "saved_config" in spec:
            yield pytest.param(folder, spec["saved_config"], id=folder.name)


@pytest.mark.parametrize("folder,saved_config", saved_config_cases())
def test_saves_the_config_transformers_saves(folder, saved_config, tmp_path):
    """A Hub-style config (older int sizes, feature_extractor_type, …) is written back as transformers writes it."""
    AutoImageProcessor.from_pretrained(folder).save_pretrained(tmp_path)
    assert json.loads((tmp_path / "preprocessor_config.json").read_text()) == saved_config


def vit():
    return AutoImageProcessor.from_pretrained(PROCESSORS / "vit")


def pixels(processor, images, **kwargs) -> np.ndarray:
    return processor(images, return_tensors="np", **kwargs)["pixel_values"]


def test_without_return_tensors_gives_one_array_per_image():
    out = vit()([open_image("rgb.png"), open_image("gray.png")])
    assert isinstance(out, BatchFeature) and isinstance(out.pixel_values, list)
    assert [p.shape for p in out.pixel_values] == [(3, 224, 224)] * 2
    np.testing.assert_array_equal(
        np.stack(out.pixel_values), pixels(vit(), [open_image("rgb.png"), open_image("gray.png")])
    )


@pytest.mark.parametrize("mode", ["P", "LA", "L", "RGBA", "CMYK"])
def test_any_pil_mode_is_converted_to_rgb(mode):
    image = open_image("rgb.png").convert(mode)
    np.testing.assert_array_equal(pixels(vit(), image), pixels(vit(), image.convert("RGB")))


def test_array_layouts_and_batches():
    processor = vit()
    hwc = np.asarray(open_image("rgb.png").convert("RGB"))
    reference = pixels(processor, hwc)
    np.testing.assert_array_equal(pixels(processor, np.transpose(hwc, (2, 0, 1))), reference)
    np.testing.assert_array_equal(pixels(processor, hwc[None])[0], reference[0])  # a 4-D batch array
    gray = np.asarray(open_image("gray.png"))
    np.testing.assert_array_equal(pixels(processor, gray), pixels(processor, gray[:, :, None]))
    np.testing.assert_array_equal(pixels(processor, gray), pixels(processor, open_image("gray.png").convert("RGB")))
    rgba = np.asarray(open_image("rgba.png"))
    np.testing.assert_array_equal(pixels(processor, rgba), pixels(processor, rgba[..., :3]))
    mixed = pixels(processor, [hwc, gray, open_image("rgba.png")])  # mixed sizes, kinds and channel counts
    assert mixed.shape == (3, 3, 224, 224)
    # A 3 x 4 x 4 array is taken as CHW unless told otherwise.
    tiny = np.arange(48, dtype=np.uint8).reshape(3, 4, 4)
    assert processor(tiny, do_resize=False, do_rescale=False, do_normalize=False).pixel_values[0][0, 0, 1] == 1
    as_hwc = processor(tiny, do_resize=False, input_data_format="channels_last").pixel_values[0]
    assert as_hwc.shape == (3, 3, 4)  # 4 channels (RGBA) -> 3


def test_float_arrays_follow_transformers():
    processor = vit()
    hwc = np.asarray(open_image("rgb.png").convert("RGB"))
    # Integral floats in 0-255 are pixel values like uint8.
    np.testing.assert_array_equal(pixels(processor, hwc.astype(np.float64)), pixels(processor, hwc))
    # Floats in [0, 1] are already rescaled: do_rescale=False, and Pillow sees them times 255 (truncated).
    scaled = hwc.astype(np.float32) / 255
    with pytest.warns(UserWarning, match="already in"):
        processor(scaled)
    np.testing.assert_allclose(pixels(processor, scaled, do_rescale=False), pixels(processor, hwc), atol=2 / 255 / 0.5)
    with pytest.raises(ValueError, match=r"values in \[-1.0, 2.5\]"):
        processor(np.full((8, 8, 3), 2.5, np.float32) - np.eye(8, dtype=np.float32)[:, :, None] * 3.5)


def test_overrides_at_load_and_call_time():
    processor = AutoImageProcessor.from_pretrained(PROCESSORS / "vit", size={"height": 64, "width": 48})
    image = open_image("rgb.png")
    assert processor.size == {"height": 64, "width": 48}
    assert pixels(processor, image).shape == (1, 3, 64, 48)
    assert pixels(processor, image, size={"height": 32, "width": 32}).shape == (1, 3, 32, 32)
    assert pixels(processor, image, size=16).shape == (1, 3, 16, 16)
    assert pixels(processor, image, data_format="channels_last").shape == (1, 64, 48, 3)
    unnormalised = pixels(processor, image, do_normalize=False)
    assert unnormalised.min() >= 0 and unnormalised.max() <= 1
    assert pixels(processor, image, do_rescale=False, do_normalize=False).dtype == np.uint8
    # None means "as configured", as in transformers.
    np.testing.assert_array_equal(pixels(processor, image, do_resize=None), pixels(processor, image))
    with pytest.warns(UserWarning, match="unknown arguments"):
        processor(image, do_normalise=False)
    clip = AutoImageProcessor.from_pretrained(PROCESSORS / "clip", crop_size=100, use_fast=True)
    assert pixels(clip, image).shape == (1, 3, 100, 100)
    assert pixels(clip, image, size={"height": 50, "width": 80}, do_center_crop=False).shape == (1, 3, 50, 80)


def test_convnext_warps_from_384_without_crop():
    processor = AutoImageProcessor.from_pretrained(PROCESSORS / "convnext", size={"shortest_edge": 384})
    image = open_image("rgb.png")
    resized = np.asarray(image.resize((384, 384), resample=Image.Resampling.BILINEAR), dtype=np.float64)
    expected = ((resized / 255 - 0.5) / 0.5).transpose(2, 0, 1)
    np.testing.assert_allclose(pixels(processor, image)[0], expected, atol=1e-5)


def test_center_crop_pads_small_images_as_transformers():
    image = np.full((3, 5, 1), 7, np.uint8)
    cropped = transforms.center_crop(image, 6, 4)  # 3 rows short: 2 zero rows above, 1 below
    assert cropped.shape == (6, 4, 1)
    assert cropped[:, 0, 0].tolist() == [0, 0, 7, 7, 7, 0]
    assert transforms.center_crop(np.arange(25).reshape(5, 5), 3, 3)[0].tolist() == [6, 7, 8]


def test_mixed_sizes_without_resize():
    processor = vit()
    images = [np.zeros((10, 12, 3), np.uint8), np.zeros((8, 8, 3), np.uint8)]
    out = processor(images, do_resize=False)
    assert [p.shape for p in out.pixel_values] == [(3, 10, 12), (3, 8, 8)]
    with pytest.raises(ValueError, match="different shapes"):
        processor(images, do_resize=False, return_tensors="np")


@pytest.mark.parametrize("kind,module", [("pt", "torch"), ("tf", "tensorflow"), ("jax", "jax")])
def test_return_tensors(kind, module):
    pytest.importorskip(module)
    out = AutoImageProcessor.from_pretrained(PROCESSORS / "clip")(open_image("rgb.png"), return_tensors=kind)
    tensor = out.pixel_values
    assert tuple(tensor.shape) == (1, 3, 224, 224)
    expected = np.load(PROCESSORS / "clip" / "expected.npz")["rgb"]
    np.testing.assert_allclose(np.asarray(tensor), expected, atol=1e-5)


def test_batch_feature_merges_and_moves():
    torch = pytest.importorskip("torch")
    features = BatchFeature({"pixel_values": [np.ones((3, 2, 2), np.float32)]})
    features.update({"input_ids": [[1, 2, 3]], "attention_mask": [[1, 1, 1]]})  # as a processor merges a tokenizer
    features.convert_to_tensors("pt")
    assert features.input_ids.dtype == torch.int64 and features.data.keys() == features.keys()
    features.to(torch.float16)
    assert features.pixel_values.dtype == torch.float16 and features.input_ids.dtype == torch.int64
    with pytest.raises(ValueError, match="return_tensors must be one of"):
        BatchFeature({"x": [1]}, tensor_type="torch")
    with pytest.raises(AttributeError, match="has no field 'missing'"):
        features.missing  # noqa: B018


def test_save_and_reload(tmp_path):
    source = PROCESSORS / "convnext"
    processor = AutoImageProcessor.from_pretrained(source, not_a_config_field=1)  # ignored, not saved
    processor.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "preprocessor_config.json").read_text())
    assert saved == json.loads((source / "preprocessor_config.json").read_text())  # same fields, as transformers writes
    again = AutoImageProcessor.from_pretrained(tmp_path)
    image = open_image("rgb.png")
    np.testing.assert_array_equal(pixels(again, image), pixels(processor, image))


def test_save_keeps_processor_class_and_unknown_fields(tmp_path):
    config = json.loads((PROCESSORS / "layoutlmv2" / "preprocessor_config.json").read_text())
    config.update(processor_class="LayoutLMv2Processor", some_future_field=[1, 2])
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(config))
    AutoImageProcessor.from_pretrained(tmp_path).save_pretrained(tmp_path / "saved")
    assert json.loads((tmp_path / "saved" / "preprocessor_config.json").read_text()) == config


def test_class_from_older_names_and_model_type(tmp_path):
    config = json.loads((PROCESSORS / "vit" / "preprocessor_config.json").read_text())
    del config["image_processor_type"]
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(config))
    for model_type, expected in [("swin", "ViTImageProcessor"), ("resnet", "ConvNextImageProcessor"),
                                 ("deit", "DeiTImageProcessor"), ("layoutlmv2", "LayoutLMv2ImageProcessor")]:  # fmt: skip
        (tmp_path / "config.json").write_text(json.dumps({"model_type": model_type}))
        assert type(AutoImageProcessor.from_pretrained(tmp_path)).__name__ == expected
    for stored, expected in [
        ("CLIPFeatureExtractor", "CLIPImageProcessor"),
        ("ViTImageProcessorFast", "ViTImageProcessor"),
    ]:
        key = "feature_extractor_type" if "Feature" in stored else "image_processor_type"
        (tmp_path / "preprocessor_config.json").write_text(json.dumps({**config, key: stored}))
        assert type(AutoImageProcessor.from_pretrained(tmp_path)).__name__ == expected
    # An older config with an int size: a square for ViT, the shortest edge for CLIP.
    (tmp_path / "preprocessor_config.json").write_text(
        json.dumps({"feature_extractor_type": "ViTFeatureExtractor", "size": 32})
    )
    assert AutoImageProcessor.from_pretrained(tmp_path).size == {"height": 32, "width": 32}
    (tmp_path / "preprocessor_config.json").write_text(
        json.dumps({"image_processor_type": "CLIPImageProcessor", "size": 32})
    )
    assert AutoImageProcessor.from_pretrained(tmp_path).size == {"shortest_edge": 32}


def test_auto_feature_extractor_loads_image_processors():
    processor = AutoFeatureExtractor.from_pretrained(PROCESSORS / "clip")
    assert type(processor).__name__ == "CLIPImageProcessor"


def test_register_and_unknown_type(tmp_path):
    from autoload.image_processing.vit import ViTImageProcessor

    class SquareProcessor(ViTImageProcessor):
        pass

    (tmp_path / "preprocessor_config.json").write_text(json.dumps({"image_processor_type": "SquareProcessor"}))
    with pytest.raises(ValueError, match=r"'SquareProcessor'.*Known: .*CLIPFeatureExtractor, CLIPImageProcessor"):
        AutoImageProcessor.from_pretrained(tmp_path)
    AutoImageProcessor.register("square-test", image_processor_class=SquareProcessor)
    assert type(AutoImageProcessor.from_pretrained(tmp_path)).__name__ == "SquareProcessor"
    (tmp_path / "preprocessor_config.json").write_text("{}")
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "square-test"}))
    assert type(AutoImageProcessor.from_pretrained(tmp_path)).__name__ == "SquareProcessor"
    with pytest.raises(ValueError, match="exist_ok=True"):
        AutoImageProcessor.register("vit", image_processor_class=SquareProcessor)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "mystery"}))
    with pytest.raises(ValueError, match="model type 'mystery'"):
        AutoImageProcessor.from_pretrained(tmp_path)


def test_layoutlmv2_ocr_is_refused_at_call_time():
    processor = AutoImageProcessor.from_pretrained(PROCESSORS / "layoutlmv2", apply_ocr=True)
    with pytest.raises(NotImplementedError, match="apply_ocr=False"):
        processor(open_image("rgb.png"))
    assert processor(open_image("rgb.png"), apply_ocr=False, return_tensors="np").pixel_values.dtype == np.uint8


@pytest.mark.parametrize(
    "image,error",
    [
        (np.zeros((10, 10, 2), np.uint8), "1 \\(gray\\), 3 \\(RGB\\) or 4 \\(RGBA\\) channels.*\\(10, 10, 2\\)"),
        (np.zeros((10, 10, 5), np.uint8), "channels.*\\(10, 10, 5\\)"),
        (np.zeros((2, 10, 10), np.uint8), "channels.*\\(2, 10, 10\\)"),
        (np.zeros((0, 10, 3), np.uint8), "zero size"),
        (np.zeros((10, 0), np.uint8), "zero size"),
        (Image.new("RGB", (0, 5)), "zero size"),
        (np.zeros((10, 10, 3), np.complex64), "dtype complex64"),
        (np.zeros((10, 10, 3), bool), "dtype bool"),
        (np.array([["a"]]), "dtype <U1"),
        (np.zeros(10, np.uint8), "2-D \\(gray\\) or 3-D"),
        ("rgb.png", "got str"),
        ([], "No images"),
    ],
)
def test_bad_images(image, error):
    with pytest.raises((ValueError, TypeError), match=error):
        vit()(image)


def test_bad_settings():
    image = open_image("rgb.png")
    with pytest.raises(ValueError, match="height and width"):
        vit()(image, size={"shortest_edge": 10})
    with pytest.raises(ValueError, match="shortest_edge"):
        AutoImageProcessor.from_pretrained(PROCESSORS / "convnext")(image, size={"height": 5, "width": 5})
    with pytest.raises(ValueError, match="size must have the keys"):
        vit()(image, size={"h": 5})
    with pytest.raises(ValueError, match="resample must be one of"):
        vit()(image, resample=9)
    with pytest.raises(ValueError, match="image_mean needs 3 values"):
        vit()(image, image_mean=[0.5, 0.5])
    with pytest.raises(ValueError, match="do_normalize=True needs image_std"):
        AutoImageProcessor.from_pretrained(PROCESSORS / "vit", image_std=None)(image)
    with pytest.raises(ValueError, match="data_format must be"):
        vit()(image, data_format="NCHW")


def test_import_needs_no_framework_or_pillow_until_used():
    code = (
        "import sys; from autoload import AutoImageProcessor, AutoFeatureExtractor; "
        f"p = AutoImageProcessor.from_pretrained({str(PROCESSORS / 'vit')!r}); "
        "assert 'PIL' not in sys.modules, 'PIL imported at load'; "
        "import numpy as np; p(np.zeros((4, 4, 3), np.uint8), return_tensors='np'); "
        "print(sorted(m for m in ('torch', 'tensorflow', 'jax', 'transformers') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# Post-processing against transformers, with the model outputs stored in post_processing.npz
# (scripts/reference/vision_post_processing.py: arrays by npz key, booleans as packed bits, quantised
# inputs as int8 eighths).


def post_processing_cases():
    for folder in sorted(PROCESSORS.iterdir()):
        path = folder / "post_processing.json"
        if path.exists():
            for case in json.loads(path.read_text())["cases"]:
                yield pytest.param(folder, case, id=f"{folder.name}-{case['key']}")


@pytest.mark.parametrize("folder,case", post_processing_cases())
def test_post_processing_matches_transformers(folder, case):
    stored = np.load(folder / "post_processing.npz")
    processor = AutoImageProcessor.from_pretrained(folder)
    result = getattr(processor, case["method"])(**decode(case["args"], stored))
    assert_same(result, decode(case["expected"], stored), case["method"])


@pytest.mark.parametrize(
    "model_type,expected",
    [("sam", "SamImageProcessor"), ("sam_hq", "SamImageProcessor"), ("owlvit", "OwlViTImageProcessor"),
     ("dpt", "DPTImageProcessor"), ("depth_anything", "DPTImageProcessor"), ("swin2sr", "Swin2SRImageProcessor"),
     ("superpoint", "SuperPointImageProcessor"), ("videomae", "VideoMAEImageProcessor"),
     ("timesformer", "VideoMAEImageProcessor")],
)  # fmt: skip
def test_vision_task_processors_by_model_type(tmp_path, model_type, expected):
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({"do_resize": True}))
    (tmp_path / "config.json").write_text(json.dumps({"model_type": model_type}))
    assert type(AutoImageProcessor.from_pretrained(tmp_path)).__name__ == expected


def test_videos_as_arrays_and_frame_lists():
    processor = AutoImageProcessor.from_pretrained(PROCESSORS / "videomae", size=16, crop_size=16)
    frames = [np.asarray(case_images(f"rgb.png crop {x},0,{x + 60},40", True)) for x in (0, 50, 100)]
    as_lists = processor([frames, frames[::-1]], return_tensors="np").pixel_values
    assert as_lists.shape == (2, 3, 3, 16, 16)
    np.testing.assert_array_equal(processor(np.stack([frames, frames[::-1]]), return_tensors="np").pixel_values, as_lists)
    np.testing.assert_array_equal(processor(np.stack(frames), return_tensors="np").pixel_values, as_lists[:1])
    np.testing.assert_array_equal(processor(frames[0], return_tensors="np").pixel_values, as_lists[:1, :1])
    assert processor(frames, data_format="channels_last", return_tensors="np").pixel_values.shape == (1, 3, 16, 16, 3)
    with pytest.raises(ValueError, match="3 \\(one frame\\), 4 or 5"):
        processor(np.zeros((1, 2, 3, 4, 5, 3), np.uint8))


def test_vision_task_processors_reject_bad_settings():
    image = case_images("rgb.png crop 0,0,40,30")
    sam = AutoImageProcessor.from_pretrained(PROCESSORS / "sam")
    with pytest.raises(ValueError, match="longest_edge"):
        sam(image, size={"height": 10, "width": 10})
    with pytest.raises(ValueError, match="each map must be the size of its image"):
        sam(image, segmentation_maps=np.zeros((30, 41), np.uint8))
    with pytest.raises(ValueError, match="smaller 64 x 64"):
        sam(image, pad_size=64, size=100)
    with pytest.raises(ValueError, match="needs size_divisor"):
        AutoImageProcessor.from_pretrained(PROCESSORS / "dpt")(image, do_pad=True)
    with pytest.raises(ValueError, match="size_divisor must be a positive int"):
        AutoImageProcessor.from_pretrained(PROCESSORS / "swin2sr")(image, size_divisor=0)
    with pytest.raises(ValueError, match="height and width"):
        AutoImageProcessor.from_pretrained(PROCESSORS / "dpt")(image, size={"shortest_edge": 10})


def test_post_processing_rejects_mismatched_sizes():
    dpt = AutoImageProcessor.from_pretrained(PROCESSORS / "dpt")
    depth = SimpleNamespace(predicted_depth=np.ones((2, 4, 4), np.float32))
    with pytest.raises(ValueError, match="1 target sizes for a batch of 2"):
        dpt.post_process_depth_estimation(depth, target_sizes=[(8, 8)])
    with pytest.raises(ValueError, match="no 'predicted_depth'"):
        dpt.post_process_depth_estimation(SimpleNamespace(logits=np.ones((2, 3, 4, 4))))
    owlvit = AutoImageProcessor.from_pretrained(PROCESSORS / "owlvit")
    boxes = SimpleNamespace(logits=np.zeros((2, 5, 1), np.float32), pred_boxes=np.full((2, 5, 4), 0.5, np.float32))
    with pytest.raises(ValueError, match="1 target sizes for a batch of 2"):
        owlvit.post_process_object_detection(boxes, target_sizes=[(10, 10)])
    sam = AutoImageProcessor.from_pretrained(PROCESSORS / "sam")
    with pytest.raises(ValueError, match="pad_size must be"):
        sam.post_process_masks([np.zeros((1, 1, 8, 8))], [(4, 4)], [(4, 4)], pad_size="big")


def test_post_processing_takes_framework_tensors_and_returns_them_on_request():
    torch = pytest.importorskip("torch")
    folder = PROCESSORS / "owlvit"
    stored = np.load(folder / "post_processing.npz")
    case = json.loads((folder / "post_processing.json").read_text())["cases"][0]
    args = decode(case["args"], stored)
    outputs = args.pop("outputs")
    as_tensors = SimpleNamespace(**{k: torch.from_numpy(v).requires_grad_() for k, v in vars(outputs).items()})
    processor = AutoImageProcessor.from_pretrained(folder)
    assert_same(processor.post_process_object_detection(as_tensors, **args), decode(case["expected"], stored), "pt")
    sam = AutoImageProcessor.from_pretrained(PROCESSORS / "sam")
    masks = [torch.randn(1, 3, 16, 16)]
    tensors = sam.post_process_masks(masks, [(20, 30)], [(683, 1024)], return_tensors="pt")
    assert isinstance(tensors[0], torch.Tensor) and tensors[0].dtype == torch.bool
    np.testing.assert_array_equal(tensors[0].numpy(), sam.post_process_masks(masks, [(20, 30)], [(683, 1024)])[0])


def test_mask_generation_suppresses_overlapping_boxes():
    from autoload.postprocessing.sam_mask_generation import non_max_suppression

    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 10]], np.float32)
    scores = np.array([0.8, 0.9, 0.7, 0.1], np.float32)
    # IoU([0, 0, 10, 10], [1, 1, 11, 11]) = 81 / 119 = 0.68; identical boxes 1.0
    assert non_max_suppression(boxes, scores, 0.5).tolist() == [1, 2]
    assert non_max_suppression(boxes, scores, 0.7).tolist() == [1, 0, 2]
    assert non_max_suppression(boxes, scores, 1.0).tolist() == [1, 0, 2, 3]


def test_post_processing_imports_no_framework():
    code = (
        "import sys, numpy as np; from types import SimpleNamespace as N; from autoload import AutoImageProcessor; "
        f"root = {str(PROCESSORS)!r}; get = lambda n: AutoImageProcessor.from_pretrained(root + '/' + n); "
        "get('sam').post_process_masks([np.ones((1, 3, 8, 8), np.float32)], [(5, 6)], [(853, 1024)]); "
        "get('dpt').post_process_depth_estimation(N(predicted_depth=np.ones((1, 4, 4))), [(6, 6)]); "
        "get('owlvit').post_process_image_guided_detection(N(logits=np.ones((1, 4, 1)), "
        "target_pred_boxes=np.full((1, 4, 4), 0.5))); "
        "get('superpoint').post_process_keypoint_detection(N(mask=np.ones((1, 2)), keypoints=np.ones((1, 2, 2)), "
        "scores=np.ones((1, 2)), descriptors=np.ones((1, 2, 4))), [(4, 4)]); "
        "print(sorted(m for m in ('torch', 'tensorflow', 'jax', 'transformers') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("kind,module", [("pt", "torch"), ("tf", "tensorflow"), ("jax", "jax")])
def test_sam_sizes_and_videos_as_framework_tensors(kind, module):
    pytest.importorskip(module)
    image = case_images("rgb.png crop 200,100,270,145")
    sam = AutoImageProcessor.from_pretrained(PROCESSORS / "sam", size=32, pad_size=32)(image, return_tensors=kind)
    assert tuple(sam.pixel_values.shape) == (1, 3, 32, 32)
    assert np.asarray(sam.original_sizes).tolist() == [[45, 70]] and np.asarray(sam.reshaped_input_sizes).dtype.kind == "i"
    videomae = AutoImageProcessor.from_pretrained(PROCESSORS / "videomae", size=8, crop_size=8)
    assert tuple(videomae([[image, image]], return_tensors=kind).pixel_values.shape) == (1, 2, 3, 8, 8)
