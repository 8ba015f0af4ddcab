"""Flax decoding with the fixed-capacity key/value cache gives the logits of the growing one, step by step,
for every Flax decoder (sliding window and encoder-decoders included), through beam reordering too; the
causal LMs' steps into it are traced once for all steps of several generate() calls."""

import numpy as np
import pytest

pytest.importorskip("flax")

from conftest import MODELS, read_fixture  # noqa: E402

import autoload  # noqa: E402
from autoload.backends.flax.attention import StaticCache  # noqa: E402
from autoload.backends.flax.generation import FlaxStepper  # noqa: E402
from autoload.families import auto_class_name  # noqa: E402

DECODERS = ["gpt2/GPT2LMHeadModel", "llama/LlamaForCausalLM", "mistral/MistralForCausalLM", "qwen2/Qwen2ForCausalLM",
            "gemma2/Gemma2ForCausalLM", "gemma3_text/Gemma3ForCausalLM", "mixtral/MixtralForCausalLM",
            "opt/OPTForCausalLM", "gpt_neox/GPTNeoXForCausalLM", "gptj/GPTJForCausalLM",
            "bart/BartForConditionalGeneration", "t5/T5ForConditionalGeneration",
            "whisper/WhisperForConditionalGeneration"]  # fmt: skip


def start_inputs(folder, model):
    _, inputs, _ = read_fixture(MODELS / folder)
    if model.config.is_encoder_decoder:
        encoder = {k: v for k, v in inputs.items() if not k.startswith("decoder_")}
        return encoder, np.full((inputs[model.main_input_name].shape[0], 1), model.config.decoder_start_token_id)
    return {"attention_mask": inputs.get("attention_mask")}, inputs["input_ids"]


@pytest.mark.parametrize("folder", DECODERS)
def test_static_cache_steps_match_the_growing_cache(folder):
    meta, _, _ = read_fixture(MODELS / folder)
    model = getattr(autoload, auto_class_name(meta["family"], "flax")).from_pretrained(MODELS / folder)
    inputs, tokens = start_inputs(folder, model)
    runs = {}
    for capacity in (None, 64):
        stepper = FlaxStepper(model, model.config.is_encoder_decoder, static=capacity is not None)
        state, fed, logits = stepper.start(inputs, max_length=24), tokens, []
        for step in range(5):
            out, state = stepper.step(fed, state)
            logits.append(out)
            if step == 2:  # a beam-style reorder: rows swapped
                state = stepper.select(state, np.array([1, 0]))
                logits[-1] = logits[-1][[1, 0]]
            fed = np.full((tokens.shape[0], 1), 3 + step)
        runs[capacity] = np.stack(logits)
        if capacity is not None:
            assert isinstance(state["past"][0][0], StaticCache) and state["past"][0][0].capacity == capacity
    np.testing.assert_allclose(runs[64], runs[None], atol=1e-5)


def test_a_full_static_cache_says_so():
    import jax.numpy as jnp

    cache = StaticCache(jnp.zeros((1, 4, 2, 8)), 3)
    assert cache.shape == (1, 3, 2, 8) and cache.append(jnp.ones((1, 1, 2, 8))).shape == (1, 4, 2, 8)
    with pytest.raises(ValueError, match="holds 4 positions; 5 needed"):
        cache.append(jnp.ones((1, 2, 2, 8)))


# soft-capping and sliding windows (Gemma 2), experts, interleaved partial rotary (GPT-J, a GPT-style decoder)
COMPILED = ["gemma2/Gemma2ForCausalLM", "mixtral/MixtralForCausalLM", "gptj/GPTJForCausalLM"]


@pytest.mark.parametrize("folder", COMPILED)
def test_decoding_steps_are_traced_once(folder):
    meta, inputs, _ = read_fixture(MODELS / folder)
    # (Mixtral's config asks for router logits: generate() turns them off, so its steps compile too)
    model = getattr(autoload, auto_class_name(meta["family"], "flax")).from_pretrained(MODELS / folder)
    traces = []
    step = model._step_function

    def counted(*args):
        traces.append(args[1].shape)  # runs only while JAX traces
        return step(*args)

    model._step_function = counted
    ids, mask = inputs["input_ids"], inputs.get("attention_mask")
    options = {"max_new_tokens": 4, "do_sample": False}
    compiled = model.generate(ids, attention_mask=mask, **options)
    shorter = model.generate(ids[:, :-1], attention_mask=None if mask is None else mask[:, :-1], **options)
    assert len(traces) == 1 and compiled.shape[1] == ids.shape[1] + 4 and shorter.shape[1] == ids.shape[1] + 3
    # (the compiled steps' logits equal the growing cache's above; their tokens transformers' in the generation
    # tests)
