"""Checks shared by the per-architecture test files."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest
from conftest import MODELS, assert_matches_expected, read_fixture

import autoload

FRAMEWORK_MODULE = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}
PREFIX = {"torch": "", "tf": "TF", "flax": "Flax"}  # of the class names in each framework
BASE_AUTO_CLASS = {"torch": "AutoModel", "tf": "TFAutoModel", "flax": "FlaxAutoModel"}


def largest_fixture_per_architecture(prefix: str) -> list:
    """Per architecture, the fixture folder of its largest checkpoint that has a `prefix` ("TF", "Flax") class:
    the most weights to check with one class."""
    chosen = {}
    for folder in sorted(f.parent for f in MODELS.glob("*/*/fixture.json")):
        size = sum(f.stat().st_size for f in folder.iterdir())
        if hasattr(autoload, prefix + folder.name) and size > chosen.get(folder.parent.name, (0,))[0]:
            chosen[folder.parent.name] = (size, folder)
    return [pytest.param(folder, id=prefix + folder.name) for _, folder in chosen.values()]


def needs(backend: str) -> None:
    """Skip when the backend's framework is not installed."""
    pytest.importorskip(FRAMEWORK_MODULE[backend])


def check_every_listed_family(folder: Path, backend: str) -> None:
    """Each Auto class the fixture lists for this backend (not only its first) builds the same class."""
    pytest.importorskip(FRAMEWORK_MODULE[backend])
    meta, inputs, expected = read_fixture(folder)
    key = {"torch": "auto_class", "tf": "tf_auto_class", "flax": "flax_auto_class"}[backend]
    names = [f[key] for f in meta["families"] if f[key] and hasattr(autoload, f[key])]
    assert len(names) >= 2, names
    for name in names:
        model = getattr(autoload, name).from_pretrained(folder)
        assert type(model).__name__.removeprefix("TF").removeprefix("Flax") == meta["pt_class"], name
        if backend == "torch":
            import torch

            with torch.no_grad():
                output = model(**{k: torch.from_numpy(v) for k, v in inputs.items()}, **meta["call_kwargs"])
        else:
            output = model(**inputs, **meta["call_kwargs"])
        assert_matches_expected(output, expected, meta["atol"])


@cache
def _base_model(auto_class: str, folder: Path):
    return getattr(autoload, auto_class).from_pretrained(folder)


def last_hidden_state(folder: Path, backend: str, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The base model's last hidden state for ids under an attention mask, in the given framework."""
    pytest.importorskip(FRAMEWORK_MODULE[backend])
    model = _base_model(BASE_AUTO_CLASS[backend], folder)
    if backend == "torch":
        import torch

        with torch.no_grad():
            return model(torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).last_hidden_state.numpy()
    return np.asarray(model(ids, attention_mask=mask).last_hidden_state)


def generate_ids(model, backend: str, inputs: dict, **kwargs) -> list:
    """model.generate on integer inputs given as lists (torch tensors for PyTorch), the tokens as lists."""
    arrays = {k: np.asarray(v, dtype=np.int64) for k, v in inputs.items()}
    if backend == "torch":
        import torch

        arrays = {k: torch.from_numpy(v) for k, v in arrays.items()}
    return np.asarray(model.generate(**arrays, **kwargs)).tolist()
