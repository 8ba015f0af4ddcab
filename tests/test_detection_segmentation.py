"""DETR's COCO annotations -> labels, and the numpy post-processing of DETR, MaskFormer, SegFormer and BEiT, against
transformers 4.57.6 (fixtures written by scripts/reference/detection_segmentation_references.py)."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import FIXTURES
from PIL import Image

from autoload import AutoImageProcessor
from autoload.image_processing import (
    BeitImageProcessor,
    DetrImageProcessor,
    MaskFormerImageProcessor,
    SegformerImageProcessor,
)
from autoload.postprocessing.arrays import resize_bilinear, resize_nearest

ANNOTATIONS = FIXTURES / "detr_annotations"
POST = FIXTURES / "segmentation_postprocessing"
PROCESSOR_CLASSES = {"detr": DetrImageProcessor, "maskformer": MaskFormerImageProcessor,
                     "segformer": SegformerImageProcessor, "beit": BeitImageProcessor}  # fmt: skip


def load_image(spec: str) -> Image.Image:
    """An image by the reference generator's spec: "<file>" or "<file> crop L,T,R,B"."""
    name, *steps = spec.split(" ")
    image = Image.open(FIXTURES / "images" / name)
    return image.crop(tuple(int(v) for v in steps[1].split(","))) if steps else image


def assert_same(actual, expected: np.ndarray, what: str) -> None:
    actual = np.asarray(actual)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != {expected.dtype}"
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(actual, expected, atol=1e-5, rtol=1e-6, err_msg=what)
    else:
        np.testing.assert_array_equal(actual, expected, err_msg=what)


def annotation_cases():
    spec = json.loads((ANNOTATIONS / "cases.json").read_text())
    return [pytest.param(spec["call"], case, id=case["key"]) for case in spec["cases"]]


@pytest.mark.parametrize("common_call,case", annotation_cases())
def test_detr_annotations_match_transformers(common_call, case):
    processor = AutoImageProcessor.from_pretrained(ANNOTATIONS)
    stored = np.load(ANNOTATIONS / "expected.npz")
    call = {**common_call, **case["call"]}
    if case.get("panoptic"):
        call["masks_path"] = ANNOTATIONS / "panoptic"
    out = processor([load_image(s) for s in case["images"]], annotations=case["annotations"], **call)
    for field in ("pixel_values", "pixel_mask"):
        keys = case["expected"][field]
        if not keys:
            assert field not in out
            continue
        values = out[field] if isinstance(out[field], list) else [out[field]]
        for i, (value, key) in enumerate(zip(values, keys, strict=True)):
            assert_same(value, stored[key], f"{field}[{i}]")
    assert len(out["labels"]) == len(case["expected"]["labels"])
    for i, (labels, keys) in enumerate(zip(out["labels"], case["expected"]["labels"])):
        assert sorted(labels) == sorted(keys), f"labels[{i}] fields"
        for field, key in keys.items():
            assert_same(labels[field], stored[key], f"labels[{i}][{field!r}]")


def test_detr_annotation_errors(tmp_path):
    processor = AutoImageProcessor.from_pretrained(ANNOTATIONS)
    image = load_image("rgb.png crop 0,0,40,30")
    with pytest.raises(ValueError, match="image_id, annotations"):
        processor(image, annotations={"annotations": []})
    with pytest.raises(ValueError, match="number of images \\(1\\) and annotations \\(2\\)"):
        processor(image, annotations=[{"image_id": 1, "annotations": []}] * 2)
    with pytest.raises(NotImplementedError, match="polygons"):
        processor(image, annotations={"image_id": 1, "annotations": []}, return_segmentation_masks=True)
    panoptic = {"image_id": 1, "file_name": "missing.png", "segments_info": [{"id": 1}]}
    with pytest.raises(FileNotFoundError, match="missing.png"):
        processor(image, annotations=panoptic, format="coco_panoptic", masks_path=tmp_path)
    # Without annotations there are no labels; an empty annotation list gives empty, well-typed ones.
    labels = processor(image, annotations={"image_id": 3, "annotations": []}, return_tensors="np")["labels"][0]
    assert labels["boxes"].shape == (0, 4) and labels["class_labels"].dtype == np.int64
    assert "labels" not in processor(image)


def postprocessing_cases():
    spec = json.loads((POST / "cases.json").read_text())
    return [pytest.param(case, id=case["key"]) for case in spec["cases"]]


def model_outputs(name: str, kind: str):
    inputs = np.load(POST / "inputs.npz")
    fields = {k.split("__")[1]: inputs[k].astype(np.float32) for k in inputs.files if k.startswith(name + "__")}
    if kind == "dict":
        return fields
    if kind == "torch":
        torch = pytest.importorskip("torch")
        return SimpleNamespace(**{k: torch.from_numpy(v) for k, v in fields.items()})
    return SimpleNamespace(**fields)


@pytest.mark.parametrize("case", postprocessing_cases())
def test_postprocessing_matches_transformers(case):
    processor = PROCESSOR_CLASSES[case["processor"]]()  # post-processing reads no config field
    stored = np.load(POST / "expected.npz")
    kwargs = dict(case["kwargs"])
    if isinstance(kwargs.get("target_sizes"), str):  # a tensor in the reference call: an array here
        kwargs["target_sizes"] = np.asarray(json.loads(kwargs["target_sizes"].removeprefix("tensor:")))
    kind = "dict" if int(case["key"][:2]) % 2 else "namespace"
    results = getattr(processor, case["method"])(model_outputs(case["outputs"], kind), **kwargs)
    assert len(results) == len(case["results"])
    for i, (result, expected) in enumerate(zip(results, case["results"])):
        if "map" in expected:
            assert_same(result, stored[expected["map"]], f"image {i}")
            continue
        assert sorted(result) == sorted(expected)
        for field, value in expected.items():
            if field == "segments_info":
                assert_same_segments(result[field], value["json"], f"image {i}")
            elif isinstance(value, dict):  # run-length encodings
                assert result[field] == value["json"], f"image {i} {field}"
            else:
                assert_same(result[field], stored[value], f"image {i} {field}")


def assert_same_segments(segments: list[dict], expected: list[dict], what: str) -> None:
    """Ids, labels and fusing exactly; scores (rounded to 6 decimals) up to a last-digit flip, as numpy's and
    PyTorch's float32 softmax differ in the last bit."""
    assert [{**s, "score": None} for s in segments] == [{**s, "score": None} for s in expected], what
    np.testing.assert_allclose([s["score"] for s in segments], [s["score"] for s in expected], atol=1.5e-6, rtol=0)


def test_postprocessing_takes_framework_tensors():
    processor = MaskFormerImageProcessor()
    from_torch = processor.post_process_panoptic_segmentation(model_outputs("maskformer_ade", "torch"))
    from_numpy = processor.post_process_panoptic_segmentation(model_outputs("maskformer_ade", "namespace"))
    assert [r["segments_info"] for r in from_torch] == [r["segments_info"] for r in from_numpy]
    np.testing.assert_array_equal(from_torch[0]["segmentation"], from_numpy[0]["segmentation"])
    with pytest.raises(ValueError, match="no 'pred_boxes'"):
        AutoImageProcessor.from_pretrained(ANNOTATIONS).post_process_object_detection({"logits": np.zeros((1, 2, 3))})
    with pytest.raises(ValueError, match="2 target sizes for a batch of 1"):
        processor.post_process_semantic_segmentation(
            {"class_queries_logits": np.zeros((1, 2, 3)), "masks_queries_logits": np.zeros((1, 2, 4, 4))},
            target_sizes=[(4, 4), (5, 5)],
        )


@pytest.mark.parametrize("size", [(7, 9), (16, 16), (3, 40), (33, 1)])
def test_resizing_equals_torch_interpolate(size):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).normal(size=(2, 3, 16, 12)).astype(np.float32)
    expected = torch.nn.functional.interpolate(torch.from_numpy(x), size=size, mode="bilinear", align_corners=False)
    np.testing.assert_allclose(resize_bilinear(x, size), expected.numpy(), atol=1e-6, rtol=0)  # last-bit rounding
    expected = torch.nn.functional.interpolate(torch.from_numpy(x), size=size, mode="nearest")
    np.testing.assert_array_equal(resize_nearest(x, size), expected.numpy())
