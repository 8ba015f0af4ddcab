"""TF and Flax decoders: incremental decoding with the KV cache equals a full forward pass, and inputs
longer than the positions are refused."""

import importlib.util

import numpy as np
import pytest
from conftest import MODELS

import autoload

CAUSAL = ["gpt2/GPT2LMHeadModel", "llama/LlamaForCausalLM", "mistral/MistralForCausalLM", "qwen2/Qwen2ForCausalLM",
          "gemma2/Gemma2ForCausalLM", "gemma3_text/Gemma3ForCausalLM", "phi3/Phi3ForCausalLM", "mixtral/MixtralForCausalLM",
          "opt/OPTForCausalLM", "gpt_neox/GPTNeoXForCausalLM", "gptj/GPTJForCausalLM"]
FRAMEWORK = {"tf": "tensorflow", "flax": "flax"}


def _auto(backend):
    if importlib.util.find_spec(FRAMEWORK[backend]) is None:
        pytest.skip(f"{FRAMEWORK[backend]} is not installed")
    return {"tf": autoload.TFAutoModelForCausalLM, "flax": autoload.FlaxAutoModelForCausalLM}[backend]


@pytest.mark.parametrize("backend", ["tf", "flax"])
@pytest.mark.parametrize("folder", CAUSAL)
def test_incremental_decoding_matches_full_forward(folder, backend):
    model = _auto(backend).from_pretrained(MODELS / folder)
    ids = np.array([[5, 17, 3, 44, 9, 12, 30, 7, 21]])
    full = np.asarray(model(input_ids=ids).logits)
    step = model(input_ids=ids[:, :4], use_cache=True)
    logits, past = [np.asarray(step.logits)], step.past_key_values
    for i in range(4, ids.shape[1]):
        step = model(input_ids=ids[:, i : i + 1], past_key_values=past, use_cache=True)
        logits.append(np.asarray(step.logits))
        past = step.past_key_values
    np.testing.assert_allclose(np.concatenate(logits, axis=1), full, atol=1e-4)


@pytest.mark.parametrize("backend", ["tf", "flax"])
def test_sampling_is_seeded_and_stays_in_top_k(backend):
    model = _auto(backend).from_pretrained(MODELS / "gpt2/GPT2LMHeadModel")
    ids = np.array([[10, 95, 38]])
    first = np.asarray(model.generate(ids, do_sample=True, top_k=3, max_new_tokens=6, seed=3))
    again = np.asarray(model.generate(ids, do_sample=True, top_k=3, max_new_tokens=6, seed=3))
    np.testing.assert_array_equal(first, again)
    sequence = first[0].tolist()
    for t in range(3, len(sequence)):
        logits = np.asarray(model(input_ids=np.array([sequence[:t]])).logits)[0, -1]
        assert sequence[t] in np.argsort(-logits)[:3]


@pytest.mark.parametrize("backend", ["tf", "flax"])
@pytest.mark.parametrize("folder", ["gpt2/GPT2Model", "llama/LlamaModel", "distilbert/DistilBertModel", "opt/OPTModel",
                                    "gpt_neox/GPTNeoXModel", "gptj/GPTJModel"])
def test_too_long_inputs_are_refused(folder, backend):
    if importlib.util.find_spec(FRAMEWORK[backend]) is None:
        pytest.skip(f"{FRAMEWORK[backend]} is not installed")
    auto = {"tf": autoload.TFAutoModel, "flax": autoload.FlaxAutoModel}[backend]
    model = auto.from_pretrained(MODELS / folder)
    with pytest.raises(ValueError, match="longer than"):
        model(input_ids=np.ones((1, 200), dtype=np.int64))


@pytest.mark.parametrize("backend", ["tf", "flax"])
def test_gpt2_double_heads_in_every_framework(backend):
    if importlib.util.find_spec(FRAMEWORK[backend]) is None:
        pytest.skip(f"{FRAMEWORK[backend]} is not installed")
    module = {"tf": "autoload.backends.tf.models.gpt2", "flax": "autoload.backends.flax.models.gpt2"}[backend]
    prefix = {"tf": "TF", "flax": "Flax"}[backend]
    double_class = getattr(importlib.import_module(module), f"{prefix}GPT2DoubleHeadsModel")
    double, info = double_class.from_pretrained(MODELS / "gpt2/GPT2LMHeadModel", output_loading_info=True)
    assert sorted(info["missing_keys"]) == ["multiple_choice_head.summary.bias", "multiple_choice_head.summary.weight"]
    lm = _auto(backend).from_pretrained(MODELS / "gpt2/GPT2LMHeadModel")
    ids = np.array([[[5, 17, 3, 44], [9, 12, 30, 7]]])
    out = double(input_ids=ids, mc_token_ids=np.array([[3, 2]]))
    np.testing.assert_allclose(np.asarray(out.logits)[0], np.asarray(lm(input_ids=ids[0]).logits), atol=1e-5)
    assert np.asarray(out.mc_logits).shape == (1, 2)
