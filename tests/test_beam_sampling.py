"""Beam sampling (num_beams > 1 with do_sample=True) against transformers 4.57.6 in every framework. The
reference (scripts/reference/beam_sampling.py) replaced transformers' torch.multinomial with the draws autoload
makes from generate(seed=...), so the tokens must be equal. One plain beam search case checks what the two
share: hypotheses ending with any of several end tokens, short ones filled as transformers fills them."""

import json

import pytest
from conftest import FIXTURES, MODELS
from model_checks import PREFIX, needs
from model_checks import generate_ids as generate

import autoload

CASES = json.loads((FIXTURES / "generation" / "beam_sampling.json").read_text())["cases"]


def load(backend: str, folder: str):
    needs(backend)
    head = "ForCausalLM" if folder.endswith("ForCausalLM") else "ForSeq2SeqLM"
    return getattr(autoload, f"{PREFIX[backend]}AutoModel{head}").from_pretrained(MODELS / folder)


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_beam_sampling_matches_transformers(case, backend):
    model = load(backend, case["folder"])
    assert generate(model, backend, case["inputs"], **case["kwargs"]) == case["sequences"]
