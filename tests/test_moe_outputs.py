"""Mixtral's router outputs in every framework against transformers 4.57.6: router_logits per layer, aux_loss
(load balancing over the non-padding tokens) and, with labels, loss = next-token loss + router_aux_loss_coef *
aux_loss (tests/fixtures/decoder_extras/moe_loss.json, scripts/reference/decoder_moe_loss.py)."""

import importlib.util
import json

import numpy as np
import pytest
from conftest import FIXTURES, MODELS

import autoload

FRAMEWORK = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}
AUTO = {"torch": "AutoModelForCausalLM", "tf": "TFAutoModelForCausalLM", "flax": "FlaxAutoModelForCausalLM"}
FOLDER = MODELS / "mixtral" / "MixtralForCausalLM"
REFERENCE = json.loads((FIXTURES / "decoder_extras" / "moe_loss.json").read_text())


def run(backend: str, model, inputs: dict, **kwargs):
    if backend == "torch":
        import torch

        with torch.no_grad():
            return model(**{k: torch.from_numpy(v) for k, v in inputs.items()}, **kwargs)
    return model(**inputs, **kwargs)


def load(backend: str, **overrides):
    if importlib.util.find_spec(FRAMEWORK[backend]) is None:
        pytest.skip(f"{FRAMEWORK[backend]} is not installed")
    return getattr(autoload, AUTO[backend]).from_pretrained(FOLDER, **overrides)


def inputs() -> dict:
    return {k: v.astype(np.int64) for k, v in np.load(FOLDER / "inputs.npz").items()}


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
@pytest.mark.parametrize("case", REFERENCE["cases"], ids=["fixture-coef", "coef-0.5"])
def test_loss_adds_the_router_loss(case, backend):
    model = load(backend, **case["config_overrides"])
    labels = np.asarray(REFERENCE["labels"], np.int64)
    out = run(backend, model, {**inputs(), "labels": labels}, output_router_logits=True)
    np.testing.assert_allclose(float(out.aux_loss), case["aux_loss"], atol=1e-4)
    np.testing.assert_allclose(float(out.loss), case["loss"], atol=1e-4)


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_router_logits_follow_the_flag(backend):
    model = load(backend)  # the fixture's config has output_router_logits=True
    expected = np.load(FOLDER / "expected.npz")
    out = run(backend, model, inputs())
    assert len(out.router_logits) == 2
    for i, logits in enumerate(out.router_logits):
        np.testing.assert_allclose(np.asarray(logits), expected[f"router_logits_{i}"], atol=1e-4)
    np.testing.assert_allclose(float(out.aux_loss), float(expected["aux_loss"]), atol=1e-4)
    off = run(backend, model, inputs(), output_router_logits=False)
    assert off.router_logits is None and off.aux_loss is None
    np.testing.assert_allclose(np.asarray(off.logits), expected["logits"], atol=1e-4)
