"""GPT-style decoders (GPT-2, OPT, GPT-NeoX, GPT-J) beyond the reference fixtures: what real Hub checkpoints carry
(legacy attention-mask buffers and rotary tables), native files named exactly as transformers' TF / Flax classes
write them, GPT-NeoX's native formats across frameworks (no transformers TF/Flax class wrote any), GPT-2
cross-attention with its cache in every framework, and the config values that are refused."""

import importlib.util
import json
import shutil

import numpy as np
import pytest
from conftest import MODELS, assert_matches_expected, read_fixture

import autoload
from autoload import AutoConfig
from autoload.families import auto_class_name

FRAMEWORK = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}
NATIVE = {"torch": ("pytorch_model.bin", {"safe_serialization": False}), "tf": ("tf_model.h5", {}),
          "flax": ("flax_model.msgpack", {})}  # fmt: skip
FROM = {"torch": "from_pt", "tf": "from_tf", "flax": "from_flax"}


def needs(backend: str) -> None:
    if importlib.util.find_spec(FRAMEWORK[backend]) is None:
        pytest.skip(f"{FRAMEWORK[backend]} is not installed")


def auto(family: str, backend: str):
    return getattr(autoload, auto_class_name(family, backend))


def call(model, backend: str, **inputs):
    if backend == "torch":
        import torch

        with torch.no_grad():
            return model(**{k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in inputs.items()})
    return model(**inputs)


def numpy(x) -> np.ndarray:
    return x.detach().numpy() if hasattr(x, "detach") else np.asarray(x)


# --- what real checkpoints carry -----------------------------------------------------------------------------

LEGACY_BUFFERS = {  # buffers older transformers versions saved (EleutherAI/gpt-j-6b, Pythia, openai-community/gpt2)
    "gpt2/GPT2Model": ["h.0.attn.bias", "h.0.attn.masked_bias", "h.1.attn.bias"],
    "gptj/GPTJModel": ["h.0.attn.bias", "h.0.attn.masked_bias", "h.1.attn.masked_bias"],
    "gpt_neox/GPTNeoXModel": ["layers.0.attention.bias", "layers.0.attention.masked_bias",
                              "layers.1.attention.rotary_emb.inv_freq"],
}  # fmt: skip


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
@pytest.mark.parametrize("folder", sorted(LEGACY_BUFFERS))
def test_legacy_attention_buffers_are_neither_loaded_nor_reported(folder, backend, tmp_path):
    needs(backend)
    from safetensors.numpy import load_file, save_file

    copy = tmp_path / "checkpoint"
    shutil.copytree(MODELS / folder, copy)
    state = load_file(copy / "model.safetensors")
    for name in LEGACY_BUFFERS[folder]:
        state[name] = np.tril(np.ones((1, 1, 64, 64), dtype=np.float32)) if name.endswith(".bias") else \
            np.array(-1e4, dtype=np.float32)  # fmt: skip
    save_file(state, copy / "model.safetensors", metadata={"format": "pt"})
    meta, inputs, expected = read_fixture(copy)
    model, info = auto("MODEL", backend).from_pretrained(copy, output_loading_info=True)
    assert info["unexpected_keys"] == [] and info["missing_keys"] == [], info
    assert_matches_expected(call(model, backend, **inputs, **meta["call_kwargs"]), expected)


# --- native files: transformers' names, and GPT-NeoX across frameworks ----------------------------------------


def stored_names(path) -> list:
    if path.suffix == ".h5":
        import h5py

        names = []
        with h5py.File(path) as f:
            f.visititems(lambda n, o: names.append((n, o.shape)) if isinstance(o, h5py.Dataset) else None)
        return sorted(names)
    import jax
    from flax.serialization import msgpack_restore

    tree = msgpack_restore(path.read_bytes())
    return sorted(("/".join(key.key for key in keys), leaf.shape)
                  for keys, leaf in jax.tree_util.tree_flatten_with_path(tree)[0])  # fmt: skip


@pytest.mark.parametrize("backend", ["tf", "flax"])
@pytest.mark.parametrize("model_type", ["gpt2", "opt", "gptj"])
def test_native_files_use_transformers_names(model_type, backend, tmp_path):
    """A tf_model.h5 / flax_model.msgpack we write holds exactly the datasets / parameters transformers' TF / Flax
    class writes (same names, same shapes), so the files interchange."""
    needs(backend)
    fmt = {"tf": "tf_h5", "flax": "flax_msgpack"}[backend]
    source = MODELS / model_type / "formats" / fmt
    model = auto("MODEL", backend).from_pretrained(source)
    model.save_pretrained(tmp_path)
    filename = NATIVE[backend][0]
    assert stored_names(tmp_path / filename) == stored_names(source / filename)


# a framework reading its own format is covered by the config-space round trips
@pytest.mark.parametrize(("writer", "reader"), [(w, r) for w in ("torch", "tf", "flax") for r in ("torch", "tf", "flax")
                                                if w != r])  # fmt: skip
def test_gpt_neox_native_formats_cross_load(writer, reader, tmp_path):
    """query_key_value's per-head layout survives every framework's own format and every other framework's reader."""
    needs(writer)
    needs(reader)
    folder = MODELS / "gpt_neox" / "GPTNeoXForCausalLM"
    meta, inputs, expected = read_fixture(folder)
    filename, options = NATIVE[writer]
    auto("MODEL_FOR_CAUSAL_LM", writer).from_pretrained(folder).save_pretrained(tmp_path, **options)
    assert (tmp_path / filename).is_file()
    model, info = auto("MODEL_FOR_CAUSAL_LM", reader).from_pretrained(tmp_path, output_loading_info=True,
                                                                      **{FROM[writer]: True})  # fmt: skip
    assert info["missing_keys"] == [] and info["unexpected_keys"] == [], info
    assert_matches_expected(call(model, reader, **inputs, **meta["call_kwargs"]), expected)


# --- GPT-2 cross-attention ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cross_attention_checkpoint(tmp_path_factory):
    """A random GPT-2 with add_cross_attention, saved by PyTorch, and encoder states to attend to."""
    torch = pytest.importorskip("torch")
    config = AutoConfig.for_model("gpt2", vocab_size=50, n_positions=32, n_embd=16, n_layer=2, n_head=2,
                                  add_cross_attention=True, pad_token_id=0)  # fmt: skip
    torch.manual_seed(0)
    model = auto("MODEL_FOR_CAUSAL_LM", "torch").from_config(config).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
    folder = tmp_path_factory.mktemp("gpt2-cross")
    model.save_pretrained(folder)
    rng = np.random.default_rng(0)
    states = rng.standard_normal((2, 5, 16)).astype(np.float32)
    encoder_mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    return folder, {"encoder_hidden_states": states, "encoder_attention_mask": encoder_mask}


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_gpt2_cross_attention_in_every_framework_with_its_cache(cross_attention_checkpoint, backend):
    needs(backend)
    folder, encoder = cross_attention_checkpoint
    ids = np.array([[5, 17, 3, 44, 9, 12], [8, 2, 31, 33, 40, 4]])
    reference = call(auto("MODEL_FOR_CAUSAL_LM", "torch").from_pretrained(folder), "torch", input_ids=ids,
                     output_attentions=True, **encoder)  # fmt: skip
    assert len(reference.cross_attentions) == 2 and tuple(reference.cross_attentions[0].shape) == (2, 2, 6, 5)
    model = auto("MODEL_FOR_CAUSAL_LM", backend).from_pretrained(folder)
    full = call(model, backend, input_ids=ids, output_attentions=True, **encoder)
    for name in ("logits", "attentions", "cross_attentions"):
        want, got = getattr(reference, name), getattr(full, name)
        for w, g in zip(want if isinstance(want, tuple) else [want], got if isinstance(got, tuple) else [got]):
            np.testing.assert_allclose(numpy(g), numpy(w), atol=1e-5, rtol=0, err_msg=name)
    step = call(model, backend, input_ids=ids[:, :4], use_cache=True, **encoder)
    past, logits = step.past_key_values, [numpy(step.logits)]
    assert all(len(layer) == 4 for layer in past)  # self-attention keys/values, then cross-attention's
    for i in (4, 5):
        step = call(model, backend, input_ids=ids[:, i : i + 1], past_key_values=past, use_cache=True, **encoder)
        past = step.past_key_values
        logits.append(numpy(step.logits))
    np.testing.assert_allclose(np.concatenate(logits, axis=1), numpy(full.logits), atol=1e-5, rtol=0)


CROSS = MODELS.parent / "decoder_extras" / "gpt2_cross"  # scripts/reference/gpt2_cross_attention.py


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_gpt2_cross_attention_matches_transformers(backend):
    """transformers 4.57.6's GPT2LMHeadModel with add_cross_attention: logits and cross-attention probabilities
    with padded decoder and encoder rows, the same logits through the cache, and greedy generate() tokens. A
    left-padding position sees no key at all, so what it outputs is arbitrary: only real positions compare."""
    needs(backend)
    inputs, expected = dict(np.load(CROSS / "inputs.npz")), dict(np.load(CROSS / "expected.npz"))
    real = inputs["attention_mask"].astype(bool)
    model = auto("MODEL_FOR_CAUSAL_LM", backend).from_pretrained(CROSS)
    full = call(model, backend, **inputs, output_attentions=True)
    np.testing.assert_allclose(numpy(full.logits)[real], expected["logits"][real], atol=1e-4, rtol=0)
    for i, probs in enumerate(full.cross_attentions):
        want = expected[f"cross_attentions_{i}"].transpose(0, 2, 1, 3)[real]  # [batch, heads, query, key] by query
        np.testing.assert_allclose(numpy(probs).transpose(0, 2, 1, 3)[real], want, atol=1e-4, rtol=0)
    encoder = {k: inputs[k] for k in ("encoder_hidden_states", "encoder_attention_mask")}
    ids, mask = inputs["input_ids"], inputs["attention_mask"]
    step = call(model, backend, input_ids=ids[:, :4], attention_mask=mask[:, :4], use_cache=True, **encoder)
    past, logits = step.past_key_values, [numpy(step.logits)]
    for i in (4, 5):
        step = call(model, backend, input_ids=ids[:, i : i + 1], attention_mask=mask[:, : i + 1], past_key_values=past,
                    use_cache=True, **encoder)  # fmt: skip
        past = step.past_key_values
        logits.append(numpy(step.logits))
    np.testing.assert_allclose(np.concatenate(logits, axis=1)[real], expected["cached_logits"][real], atol=1e-4, rtol=0)
    if backend == "torch":
        import torch

        inputs = {k: torch.from_numpy(v) for k, v in inputs.items()}
    generated = model.generate(**inputs, do_sample=False, max_new_tokens=6, min_new_tokens=6, pad_token_id=0)
    np.testing.assert_array_equal(numpy(generated), expected["generated"])


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_encoder_states_need_cross_attention_layers(backend):
    needs(backend)
    model = auto("MODEL", backend).from_pretrained(MODELS / "gpt2" / "GPT2Model")
    with pytest.raises(ValueError, match="add_cross_attention=True"):
        call(model, backend, input_ids=np.array([[5, 17]]), encoder_hidden_states=np.zeros((1, 3, 32), np.float32))


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_head_mask_is_refused_not_ignored(backend):
    needs(backend)
    model = auto("MODEL", backend).from_pretrained(MODELS / "opt" / "OPTModel")
    with pytest.raises(NotImplementedError, match="head_mask"):
        call(model, backend, input_ids=np.array([[5, 17]]), head_mask=np.ones((2, 4), np.float32))


# --- configs ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model_type,values,match", [
    ("gptj", {"n_embd": 32, "n_head": 4, "rotary_dim": None}, "only fits a single head"),
    ("gptj", {"n_embd": 32, "n_head": 4, "rotary_dim": 3}, "rotary_dim must be an even number"),
    ("gptj", {"n_embd": 32, "n_head": 4, "rotary_dim": 16}, "rotary_dim must be an even number"),
    ("gpt_neox", {"hidden_size": 24, "num_attention_heads": 2, "rotary_pct": 0.25}, "must be even"),
    ("gpt_neox", {"rope_scaling": {"rope_type": "su"}}, "Unknown rope_scaling type"),
    ("opt", {"activation_function": "prelu"}, "learned weights"),
    ("opt", {"vocab_size": 10, "pad_token_id": 12}, "padding row"),
    ("gpt2", {"n_embd": 30, "n_head": 4}, "multiple of n_head"),
    ("gpt2", {"attn_pdrop": 1.5}, "probability"),
    ("gpt2", {"pruned_heads": {0: [1]}}, "pruned_heads"),
])  # fmt: skip
def test_unsupported_config_values_are_refused(model_type, values, match):
    with pytest.raises((ValueError, NotImplementedError), match=match):
        AutoConfig.for_model(model_type, **values)


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_gpt2_double_heads_refuses_the_attn_summary(backend):
    needs(backend)
    import importlib

    module = importlib.import_module(f"autoload.backends.{backend}.models.gpt2")
    double = getattr(module, {"torch": "", "tf": "TF", "flax": "Flax"}[backend] + "GPT2DoubleHeadsModel")
    config = AutoConfig.from_pretrained(MODELS / "gpt2" / "GPT2LMHeadModel", summary_type="attn")
    with pytest.raises(NotImplementedError, match="summary_type='attn'"):
        double.from_pretrained(MODELS / "gpt2" / "GPT2LMHeadModel", config=config)


def test_opt_config_keeps_the_final_norm_switch(tmp_path):
    """_remove_final_layer_norm (checkpoints fine-tuned before transformers 4.20) survives a save, as
    transformers writes it, and removes the final norm."""
    config = AutoConfig.for_model("opt", hidden_size=16, num_attention_heads=2, _remove_final_layer_norm=True)
    config.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["_remove_final_layer_norm"] is True
    again = AutoConfig.from_pretrained(tmp_path)
    assert again._remove_final_layer_norm and not again.gpt_options().final_norm


def test_gpt_neox_rope_fields_follow_transformers():
    """The rope reads partial_rotary_factor / rope_theta, set from rotary_pct / rotary_emb_base when the config is
    built; overrides given after that must name them (as in transformers)."""
    config = AutoConfig.from_pretrained(MODELS / "gpt_neox" / "GPTNeoXModel", partial_rotary_factor=1.0,
                                        rope_theta=500.0)  # fmt: skip
    options = config.gpt_options()
    assert (options.rotary_dim, config.rope_theta, config.rotary_pct) == (8, 500.0, 0.25)
    assert AutoConfig.for_model("gpt_neox", rotary_pct=0.5, rotary_emb_base=100).rope_theta == 100
