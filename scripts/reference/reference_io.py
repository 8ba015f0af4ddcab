"""Shared by the reference generators: test images by spec, and writing results as JSON plus npz arrays.

An image spec is "<file in tests/fixtures/images>" optionally followed by " crop L,T,R,B" (a PIL crop box)
and " as numpy" (an HWC uint8 RGB array); tests/reference_data.py reads the same specs.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
from PIL import Image

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"
IMAGES = FIXTURES / "images"


def load(spec: str, convert_to_rgb: bool = False):
    name, *steps = spec.split(" ")
    image = Image.open(IMAGES / name)
    image.load()
    as_numpy = "numpy" in steps
    if "crop" in steps:
        image = image.crop(tuple(int(v) for v in steps[steps.index("crop") + 1].split(",")))
    if convert_to_rgb or as_numpy:
        image = image.convert("RGB")
    return np.asarray(image) if as_numpy else image


def label_map(spec: str) -> np.ndarray:
    """A segmentation map made from an image: its gray levels in 6 bands (labels 0-5), uint8, 2-D."""
    return (np.asarray(load(spec).convert("L")) // 43).astype(np.uint8)


class Writer:
    """Results as JSON with the arrays in an npz: an array is {"array": key}; booleans are packed bits
    ({"bits": key, "shape"}); float32 multiples of 1/8 below 16 in magnitude (quantised inputs) are int8
    eighths ({"eighths": key}); a model output is {"model_outputs": {field: ...}}. Equal arrays share a key."""

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}
        self.seen: dict[tuple, str] = {}

    def store(self, value: np.ndarray, key: str) -> dict:
        if value.dtype == bool:
            kind, stored = "bits", np.packbits(value.reshape(-1))
        elif (value.dtype == np.float32 and value.size and np.abs(value).max() < 16
              and np.array_equal(value * 8, np.round(value * 8))):  # fmt: skip
            kind, stored = "eighths", (value * 8).astype(np.int8)
        else:
            kind, stored = "array", value
        fingerprint = (kind, stored.dtype.str, stored.shape, stored.tobytes())
        key = self.seen.setdefault(fingerprint, key)
        self.arrays[key] = stored
        return {kind: key, "shape": list(value.shape)} if kind == "bits" else {kind: key}

    def encode(self, value, key: str):
        if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
            value = value.numpy()
        if isinstance(value, np.ndarray):
            return self.store(value, key)
        if isinstance(value, SimpleNamespace):
            return {"model_outputs": {k: self.encode(v, f"{key}.{k}") for k, v in vars(value).items()}}
        if isinstance(value, dict):
            return {k: self.encode(v, f"{key}.{k}") for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.encode(v, f"{key}.{i}") for i, v in enumerate(value)]
        if isinstance(value, np.generic):
            return value.item()
        return value

    def save(self, path: Path) -> None:
        np.savez_compressed(path, **self.arrays)
