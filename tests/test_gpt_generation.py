"""generate() of the GPT-style decoders against transformers 4.57.6 beyond the per-fixture generate.json: left-padded
batches (positions counted from the attention mask), several returned beams, OPT post-norm and an OPT-350m-shaped
model (word_embed_proj_dim, post-norm), GPT-NeoX's sequential residual, another rotary base with linear scaling
and dynamic scaling past max_position_embeddings, GPT-J with tied embeddings; references from
scripts/reference/gpt_generation.py. Flax decodes into the fixed-capacity cache: its steps must not grow it."""

import importlib.util
import json

import numpy as np
import pytest
from conftest import FIXTURES
from model_checks import generate_ids as generate

import autoload

FRAMEWORK = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}
AUTO = {"torch": "AutoModelForCausalLM", "tf": "TFAutoModelForCausalLM", "flax": "FlaxAutoModelForCausalLM"}
CASES = json.loads((FIXTURES / "generation" / "gpt_decoders.json").read_text())["cases"]


def load(backend: str, folder: str, **overrides):
    if importlib.util.find_spec(FRAMEWORK[backend]) is None:
        pytest.skip(f"{FRAMEWORK[backend]} is not installed")
    return getattr(autoload, AUTO[backend]).from_pretrained(FIXTURES / folder, **overrides)


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_generate_matches_transformers(case, backend):
    model = load(backend, case["folder"], **case["config_overrides"])
    assert generate(model, backend, case["inputs"], **case["kwargs"]) == case["sequences"]


@pytest.mark.parametrize("folder", ["models/opt/OPTForCausalLM", "models/gptj/GPTJForCausalLM"])
def test_flax_decoding_keeps_one_cache_shape(folder, monkeypatch):
    """After the prompt, every Flax step feeds the model a cache of the same capacity (StaticCache), so JAX reuses
    the operations compiled for the first step."""
    pytest.importorskip("flax")
    from autoload.backends.flax.attention import StaticCache

    model = load("flax", folder)
    shapes, call = [], type(model).__call__

    def recording(self, *args, **kwargs):
        past = kwargs.get("past_key_values")
        if past is not None:
            assert isinstance(past[0][0], StaticCache)
            shapes.append(past[0][0].buffer.shape)
        return call(self, *args, **kwargs)

    monkeypatch.setattr(type(model), "__call__", recording)
    model.generate(np.array([[5, 17, 3, 44]]), max_new_tokens=6, min_new_tokens=6, do_sample=False)
    assert len(shapes) == 5 and len(set(shapes)) == 1
