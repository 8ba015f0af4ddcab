"""Reading the reference data scripts/reference/ writes: test images by spec, and results stored as JSON
with their arrays in an npz (see reference_io.Writer there)."""

from types import SimpleNamespace

import numpy as np
from conftest import FIXTURES
from PIL import Image

IMAGES = FIXTURES / "images"
AUDIO = FIXTURES / "audio"


def case_images(spec: str, convert: bool = False):
    """An image by its spec: a file name in fixtures/images, then optionally "crop L,T,R,B" (a PIL crop box)
    and "as numpy" (an HWC uint8 RGB array); "converted" or convert=True converts it to RGB."""
    name, *steps = spec.split(" ")
    image = Image.open(IMAGES / name)
    if "crop" in steps:
        image = image.crop(tuple(int(v) for v in steps[steps.index("crop") + 1].split(",")))
    if "numpy" in steps:
        return np.asarray(image.convert("RGB"))
    return image.convert("RGB") if convert or "converted" in spec else image


def load_audio(spec: str) -> np.ndarray:
    """An audio file of fixtures/audio by spec: "a1.npy", or a slice of it, "a1.npy[1000:5000]"."""
    name, _, piece = spec.partition("[")
    audio = np.load(AUDIO / name)
    if piece:
        start, stop = (int(v) if v else None for v in piece.rstrip("]").split(":"))
        audio = audio[start:stop]
    return audio


def label_map(spec: str) -> np.ndarray:
    """The segmentation map the generators make from an image: gray levels in six bands (0-5)."""
    return (np.asarray(case_images(spec).convert("L")) // 43).astype(np.uint8)


def decode(value, stored):
    """A stored value with its arrays, booleans, quantised arrays and model outputs restored."""
    if isinstance(value, list):
        return [decode(v, stored) for v in value]
    if not isinstance(value, dict):
        return value
    if "array" in value:
        return stored[value["array"]]
    if "eighths" in value:
        return stored[value["eighths"]].astype(np.float32) / 8
    if "bits" in value:
        shape = value["shape"]
        return np.unpackbits(stored[value["bits"]], count=int(np.prod(shape))).astype(bool).reshape(shape)
    if "model_outputs" in value:
        return SimpleNamespace(**decode(value["model_outputs"], stored))
    return {k: decode(v, stored) for k, v in value.items()}


def assert_same(actual, expected, where: str, atol: float = 1e-4) -> None:
    """Equal structure, dtypes and shapes; floats within atol (and 1e-5 relative), everything else exact.
    Framework tensors are compared as numpy arrays."""
    if isinstance(expected, np.ndarray):
        if not isinstance(actual, np.ndarray):
            assert hasattr(actual, "shape") and hasattr(actual, "dtype"), f"{where}: {type(actual).__name__}"
            actual = np.asarray(actual)
        assert actual.dtype == expected.dtype and actual.shape == expected.shape, (
            f"{where}: {actual.dtype} {actual.shape} != {expected.dtype} {expected.shape}"
        )
        if expected.dtype.kind == "f":
            np.testing.assert_allclose(actual, expected, atol=atol, rtol=1e-5, err_msg=where)
        else:
            np.testing.assert_array_equal(actual, expected, err_msg=where)
    elif isinstance(expected, dict):
        assert isinstance(actual, dict) and sorted(actual) == sorted(expected), where
        for key in expected:
            assert_same(actual[key], expected[key], f"{where}.{key}", atol)
    elif isinstance(expected, list):
        assert isinstance(actual, (list, tuple)) and len(actual) == len(expected), where
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_same(a, e, f"{where}[{i}]", atol)
    else:
        assert actual == expected, where
