"""generate() reproduces transformers' greedy and beam-search tokens (generate.json) in every framework."""

import importlib.util
import json

import numpy as np
import pytest
from conftest import MODELS

import autoload
from autoload import registry
from autoload.families import auto_class_name

FRAMEWORK = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}


def cases():
    for path in sorted(MODELS.glob("*/*/generate.json")):
        folder = path.parent
        meta = json.loads((folder / "fixture.json").read_text())
        for backend in registry.arch_spec(meta["model_type"]).BACKENDS:
            for run in json.loads(path.read_text())["runs"]:
                yield pytest.param(folder, backend, run, id=f"{folder.name}-{backend}-{run}")


@pytest.mark.parametrize("folder,backend,run", cases())
def test_generate_matches_transformers(folder, backend, run):
    if importlib.util.find_spec(FRAMEWORK[backend]) is None:
        pytest.skip(f"{FRAMEWORK[backend]} is not installed")
    meta = json.loads((folder / "fixture.json").read_text())
    reference = json.loads((folder / "generate.json").read_text())
    model = getattr(autoload, auto_class_name(meta["family"], backend)).from_pretrained(folder)
    inputs = {k: np.asarray(v, dtype=np.float32 if k == "input_features" else np.int64)
              for k, v in reference["inputs"].items()}  # fmt: skip
    if backend == "torch":
        import torch

        inputs = {k: torch.from_numpy(v) for k, v in inputs.items()}
    sequences = model.generate(**inputs, **reference["runs"][run]["kwargs"])
    assert np.asarray(sequences).tolist() == reference["runs"][run]["sequences"]
