"""GPT-2 in PyTorch, TensorFlow and Flax: every head against transformers' outputs, every weight format,
the KV cache, the position limit, the double-heads model and last-token pooling."""

import functools
import importlib
import importlib.util

import numpy as np
import pytest
from conftest import MODELS, assert_matches_expected, read_fixture

import autoload
from autoload import AutoConfig
from autoload.families import auto_class_name
from autoload.loading import fit_shape, read_canonical_weights, same_up_to_unit_axes
from autoload.models.gpt2 import GPT2Config

GPT2 = MODELS / "gpt2"
HEADS = sorted(p.name for p in GPT2.iterdir() if p.is_dir() and p.name != "formats")
FORMATS = sorted(p.name for p in (GPT2 / "formats").iterdir())
BACKENDS = ["torch", "tf", "flax"]
FRAMEWORK = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}
PREFIX = {"torch": "", "tf": "TF", "flax": "Flax"}
FOREIGN_FORMAT_FLAGS = {  # the flag a framework needs to read a file that is not its own format
    "tf_h5": {"torch": {"from_tf": True}, "flax": {"from_tf": True}},
    "flax_msgpack": {"torch": {"from_flax": True}, "tf": {"from_flax": True}},
    "pt_bin": {"tf": {"from_pt": True}, "flax": {"from_pt": True}},
}


def needs(backend: str) -> None:
    pytest.importorskip(FRAMEWORK[backend])


def auto(family: str, backend: str):
    return getattr(autoload, auto_class_name(family, backend))


@functools.cache
def load(folder_name: str, backend: str, family: str):
    return auto(family, backend).from_pretrained(GPT2 / folder_name)


def call(model, backend: str, **inputs):
    """Run a model in inference mode on numpy inputs (None values are passed as they are)."""
    if backend == "torch":
        import torch

        with torch.no_grad():
            tensors = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in inputs.items()}
            return model(**tensors)
    return model(**inputs)


def numpy(x) -> np.ndarray:
    return x.detach().numpy() if hasattr(x, "detach") else np.asarray(x)


def double_heads_class(backend: str):
    module = importlib.import_module(f"autoload.backends.{backend}.models.gpt2")
    return getattr(module, f"{PREFIX[backend]}GPT2DoubleHeadsModel")


# --- configuration (no framework needed) -------------------------------------------------------------


def test_config_defaults_and_aliases():
    config = GPT2Config()
    assert (config.vocab_size, config.n_positions, config.n_embd, config.n_layer, config.n_head) == (
        50257, 1024, 768, 12, 12)  # fmt: skip
    assert config.activation_function == "gelu_new" and config.n_inner is None
    assert (config.bos_token_id, config.eos_token_id) == (50256, 50256)
    assert config.summary_type == "cls_index" and config.summary_use_proj and config.summary_proj_to_labels
    assert config.scale_attn_weights and config.use_cache and not config.reorder_and_upcast_attn
    assert (config.hidden_size, config.max_position_embeddings) == (768, 1024)
    assert (config.num_attention_heads, config.num_hidden_layers) == (12, 12)
    config.hidden_size = 64
    assert config.n_embd == 64
    loaded = AutoConfig.from_pretrained(GPT2 / "GPT2Model")
    assert isinstance(loaded, GPT2Config) and loaded.n_inner == 37


def test_config_rejects_heads_that_do_not_divide_the_width():
    with pytest.raises(ValueError, match="multiple of n_head"):
        GPT2Config(n_embd=30, n_head=4)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_reads_as_the_hub_state_dict(fmt):
    """Conv1D weights stay [in, out] whatever the file: TF stores them as `weight` [in, out] (no transpose),
    Flax as a `kernel` [out, in] that the generic kernel rule transposes back."""
    reference, _ = read_canonical_weights(GPT2 / "GPT2Model", None, backend="torch", config=None)
    folder = GPT2 / "formats" / fmt
    flags = FOREIGN_FORMAT_FLAGS.get(fmt, {}).get("torch", {})
    state, _ = read_canonical_weights(folder, None, backend="torch", config=AutoConfig.from_pretrained(folder), **flags)
    strip = {name.removeprefix("transformer."): name for name in state}
    buffers = {name for name in strip if name.endswith((".attn.bias", ".attn.masked_bias"))}
    assert set(strip) - buffers == set(reference)
    for name in reference:
        want, got = np.asarray(reference[name]), np.asarray(state[strip[name]])
        # TF keeps Conv1D biases as [1, out]; the loaders' generic unit-axis rule fits them to [out].
        assert same_up_to_unit_axes(got.shape, want.shape), (name, got.shape, want.shape)
        np.testing.assert_array_equal(fit_shape(got, want.shape), want, err_msg=name)


# --- every head, every format, in every framework ----------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("head", HEADS)
def test_head_matches_transformers(head, backend):
    needs(backend)
    meta, inputs, expected = read_fixture(GPT2 / head)
    model = load(head, backend, meta["family"])
    assert type(model).__name__ == PREFIX[backend] + meta["pt_class"]
    assert_matches_expected(call(model, backend, **inputs, **meta["call_kwargs"]), expected, meta["atol"])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_weight_format_loads(fmt, backend):
    needs(backend)
    folder = GPT2 / "formats" / fmt
    meta, inputs, expected = read_fixture(folder)
    flags = FOREIGN_FORMAT_FLAGS.get(fmt, {}).get(backend, {})
    model, info = auto("MODEL", backend).from_pretrained(folder, output_loading_info=True, **flags)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == [], info
    assert_matches_expected(call(model, backend, **inputs, **meta["call_kwargs"]), expected, meta["atol"])


# --- KV cache ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_cache_decoding_matches_full_forward(backend):
    """Prompt first, then one token at a time with past_key_values: the logits of a single full pass."""
    needs(backend)
    model = load("GPT2LMHeadModel", backend, "MODEL_FOR_CAUSAL_LM")
    config = model.config
    ids = np.array([[5, 17, 3, 44, 9, 12, 30, 7, 21], [8, 2, 61, 33, 90, 4, 4, 15, 70]])
    full = numpy(call(model, backend, input_ids=ids, use_cache=False).logits)
    step = call(model, backend, input_ids=ids[:, :6], use_cache=True)
    past = step.past_key_values
    assert len(past) == config.n_layer and all(len(layer) == 2 for layer in past)
    logits = [numpy(step.logits)]
    for i in range(6, ids.shape[1]):
        step = call(model, backend, input_ids=ids[:, i : i + 1], past_key_values=past, use_cache=True)
        logits.append(numpy(step.logits))
        past = step.past_key_values
    np.testing.assert_allclose(np.concatenate(logits, axis=1), full, atol=1e-4, rtol=0)
    assert ids.shape[1] in numpy(past[0][0]).shape  # the cache holds every position fed so far


@pytest.mark.parametrize("backend", BACKENDS)
def test_cache_decoding_with_left_padding(backend):
    """Padding masked out in the prompt stays masked out in the cached steps."""
    needs(backend)
    model = load("GPT2LMHeadModel", backend, "MODEL_FOR_CAUSAL_LM")
    ids = np.array([[0, 0, 5, 17, 3, 44, 9], [8, 2, 61, 33, 90, 4, 15]])
    mask = np.array([[0, 0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1]])
    full = numpy(call(model, backend, input_ids=ids, attention_mask=mask).logits)
    past = call(model, backend, input_ids=ids[:, :5], attention_mask=mask[:, :5], use_cache=True).past_key_values
    for i in (5, 6):
        step = call(model, backend, input_ids=ids[:, i : i + 1], attention_mask=mask[:, : i + 1], past_key_values=past,
                    use_cache=True)  # fmt: skip
        np.testing.assert_allclose(numpy(step.logits)[:, 0], full[:, i], atol=1e-4, rtol=0)
        past = step.past_key_values


# --- limits ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_inputs_longer_than_the_positions_are_refused(backend):
    needs(backend)
    model = load("GPT2LMHeadModel", backend, "MODEL_FOR_CAUSAL_LM")
    limit = model.config.n_positions
    with pytest.raises(ValueError, match="longer than n_positions"):
        call(model, backend, input_ids=np.ones((1, limit + 1), dtype=np.int64))
    past = call(model, backend, input_ids=np.ones((1, limit), dtype=np.int64), use_cache=True).past_key_values
    with pytest.raises(ValueError, match="longer than n_positions"):
        call(model, backend, input_ids=np.ones((1, 1), dtype=np.int64), past_key_values=past, use_cache=True)


# --- heads without their own fixture / with head-specific behaviour ----------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_double_heads_loads_the_lm_checkpoint(backend):
    """GPT2DoubleHeadsModel from the LM-head checkpoint: only the multiple-choice head is missing, and its
    lm_logits equal the LM head's logits choice by choice."""
    needs(backend)
    folder = GPT2 / "GPT2LMHeadModel"
    double, info = double_heads_class(backend).from_pretrained(folder, output_loading_info=True)
    assert sorted(info["missing_keys"]) == ["multiple_choice_head.summary.bias", "multiple_choice_head.summary.weight"]
    assert info["unexpected_keys"] == []
    _, inputs, expected = read_fixture(folder)
    choices = inputs["input_ids"][None]  # [batch 1, 2 choices, seq]
    result = call(double, backend, input_ids=choices, attention_mask=inputs["attention_mask"][None],
                  mc_token_ids=np.array([[6, 4]]))  # fmt: skip
    np.testing.assert_allclose(numpy(result.logits)[0], expected["logits"], atol=1e-4, rtol=0)
    assert numpy(result.mc_logits).shape == (1, 2)


@pytest.mark.parametrize("backend", BACKENDS)
def test_sequence_classification_pools_the_last_real_token(backend):
    needs(backend)
    model = load("GPT2ForSequenceClassification", backend, "MODEL_FOR_SEQUENCE_CLASSIFICATION")
    pad = model.config.pad_token_id
    ids = np.array([[5, 17, 3, 44, pad, pad], [9, 12, 30, 7, 21, 8]])
    mask = (ids != pad).astype(np.int64)
    batched = numpy(call(model, backend, input_ids=ids, attention_mask=mask).logits)
    alone = numpy(call(model, backend, input_ids=ids[:1, :4]).logits)
    np.testing.assert_allclose(batched[:1], alone, atol=1e-5, rtol=0)
    assert batched.shape == (2, model.config.num_labels)


@pytest.mark.parametrize("backend", BACKENDS)
def test_sequence_classification_of_a_batch_needs_a_pad_token(backend):
    needs(backend)
    folder = GPT2 / "GPT2ForSequenceClassification"
    model = auto("MODEL_FOR_SEQUENCE_CLASSIFICATION", backend).from_pretrained(folder, pad_token_id=None)
    assert numpy(call(model, backend, input_ids=np.array([[5, 17, 3]])).logits).shape == (1, 3)
    with pytest.raises(ValueError, match="pad_token_id"):
        call(model, backend, input_ids=np.array([[5, 17, 3], [9, 12, 30]]))
