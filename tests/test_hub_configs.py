"""Configs as real Hub checkpoints write them (tests/fixtures/hub_configs: ELECTRA's discriminator and its narrower
generator, ALBERT's factorised embeddings, DeBERTa-v3's relative-attention options, ModernBERT's local/global
pattern, XLM-R, sentence-transformers' MPNet, Marian, mBART-50, Pegasus, mT5), with every field and legacy name
kept and only the sizes shrunk, load unchanged in every framework and reproduce transformers 4.57.6's outputs;
the encoder-decoders' generate() takes its settings (beams, length penalty, bad words, forced EOS) from
config.json as transformers does. scripts/reference/hub_configs.py wrote the folders."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_matches_expected, read_fixture

import autoload
from autoload.families import auto_class_name

HUB = Path(__file__).parent / "fixtures" / "hub_configs"
FRAMEWORK = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}


def as_backend(arrays: dict, backend: str) -> dict:
    if backend != "torch":
        return arrays
    import torch

    return {k: torch.from_numpy(np.asarray(v)) for k, v in arrays.items()}


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
@pytest.mark.parametrize("name", sorted(p.name for p in HUB.iterdir() if p.is_dir()))
def test_hub_config_loads_unchanged_and_matches_transformers(name, backend):
    if importlib.util.find_spec(FRAMEWORK[backend]) is None:
        pytest.skip(f"{FRAMEWORK[backend]} is not installed")
    folder = HUB / name
    meta, inputs, expected = read_fixture(folder)
    auto = getattr(autoload, auto_class_name(meta["family"], backend))
    model, info = auto.from_pretrained(folder, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == [], info
    assert type(model).__name__.removeprefix("TF").removeprefix("Flax") == meta["pt_class"]
    if backend == "torch":
        import torch

        with torch.no_grad():
            output = model.eval()(**as_backend(inputs, backend))
    else:
        output = model(**inputs)
    assert_matches_expected(output, expected, meta["atol"])
    if (folder / "generate.json").is_file():
        reference = json.loads((folder / "generate.json").read_text())
        source = {k: np.asarray(v, dtype=np.int64) for k, v in reference["inputs"].items()}
        sequences = model.generate(**as_backend(source, backend), **reference["kwargs"])
        assert np.asarray(sequences).tolist() == reference["sequences"]
