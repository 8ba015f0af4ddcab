"""generate() of the Llama-family decoders against transformers 4.57.6 beyond the per-fixture generate.json:
left-padded batches (positions counted from the attention mask), several returned beams, windows crossed
many times, Phi-3 long-rope crossing its original context (the cache is recomputed there), Mixtral with
its fixture's output_router_logits on (transformers generated without: with them, 4.57.6 fails); references
from scripts/reference/decoder_generation.py."""

import importlib.util
import json

import pytest
from conftest import FIXTURES, MODELS
from model_checks import generate_ids as generate

import autoload

FRAMEWORK = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}
AUTO = {"torch": "AutoModelForCausalLM", "tf": "TFAutoModelForCausalLM", "flax": "FlaxAutoModelForCausalLM"}
CASES = json.loads((FIXTURES / "generation" / "decoders.json").read_text())["cases"]


def load(backend: str, folder: str, **overrides):
    if importlib.util.find_spec(FRAMEWORK[backend]) is None:
        pytest.skip(f"{FRAMEWORK[backend]} is not installed")
    return getattr(autoload, AUTO[backend]).from_pretrained(MODELS / folder, **overrides)


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_generate_matches_transformers(case, backend):
    model = load(backend, case["folder"], **case["config_overrides"])
    assert generate(model, backend, case["inputs"], **case["kwargs"]) == case["sequences"]



LENGTH_DEPENDENT = [c for c in CASES if c["name"].startswith(("phi3-longrope", "llama-dynamic"))]


@pytest.mark.parametrize("backend", ["tf", "flax"])
@pytest.mark.parametrize("case", LENGTH_DEPENDENT, ids=[c["name"] for c in LENGTH_DEPENDENT])
def test_length_dependent_rope_decodes_in_one_compiled_step(case, backend):
    """Long-rope's factors and dynamic NTK's base are picked from the positions inside the compiled step, which
    is traced once for the whole generate() (the long-rope cache recomputation is the one eager call)."""
    model = load(backend, case["folder"], **case["config_overrides"])
    traces, compiled = [], []
    trace, step = model._step_function, model._compiled_step

    def traced(*args):
        traces.append(1)  # runs only while TF / JAX trace
        return trace(*args)

    def counted(*args):
        compiled.append(1)
        return step(*args)

    model._step_function, model._compiled_step = traced, counted
    assert generate(model, backend, case["inputs"], **case["kwargs"]) == case["sequences"]
    assert len(traces) == 1 and len(compiled) >= case["kwargs"]["max_new_tokens"] - 2
