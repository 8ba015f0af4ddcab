"""Llama, Mistral and Qwen2 beyond the reference fixtures: config validation, the rope_scaling frequencies,
and random checkpoints with the options the fixtures leave off (q/k/v/o and MLP biases, tied embeddings,
head_dim != hidden / heads, every rope_scaling type, tiny sliding windows, Qwen2's per-layer windows),
written by PyTorch and loaded in TensorFlow and Flax: every framework gives PyTorch's outputs, and
incremental decoding with the cache gives the full forward pass."""

import importlib.util
import math

import numpy as np
import pytest
from conftest import MODELS

import autoload
from autoload import AutoConfig
from autoload.rope import inverse_frequencies

FRAMEWORK = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}
AUTO_CAUSAL = {"torch": "AutoModelForCausalLM", "tf": "TFAutoModelForCausalLM", "flax": "FlaxAutoModelForCausalLM"}
AUTO_CLASSIFY = {"torch": "AutoModelForSequenceClassification", "tf": "TFAutoModelForSequenceClassification",
                 "flax": "FlaxAutoModelForSequenceClassification"}  # fmt: skip
TINY = {"vocab_size": 99, "hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "max_position_embeddings": 16, "pad_token_id": 0}  # fmt: skip
LLAMA3 = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
          "original_max_position_embeddings": 16}  # fmt: skip

VARIANTS = {
    "llama-biases-tied-head-dim-16": ("llama", {"attention_bias": True, "mlp_bias": True, "tie_word_embeddings": True,
                                                "head_dim": 16, "rope_theta": 500.0}),
    "llama-rope-linear": ("llama", {"rope_scaling": {"rope_type": "linear", "factor": 2.0}}),
    "llama-rope-dynamic": ("llama", {"rope_scaling": {"type": "dynamic", "factor": 2.0}}),
    "llama-rope-llama3": ("llama", {"rope_scaling": LLAMA3}),
    "mistral-window-2": ("mistral", {"sliding_window": 2}),
    "qwen2-tied-window-from-layer-1": ("qwen2", {"use_sliding_window": True, "sliding_window": 3, "max_window_layers": 1,
                                                 "tie_word_embeddings": True}),
}  # fmt: skip
IDS = np.array([[5, 17, 3, 44, 9, 12, 30, 7, 21, 50, 61, 2], [8, 4, 90, 33, 71, 6, 0, 0, 0, 0, 0, 0]])
MASK = (np.arange(IDS.shape[1]) < np.array([[12], [6]])).astype(np.int64)


def needs(backend: str) -> None:
    if importlib.util.find_spec(FRAMEWORK[backend]) is None:
        pytest.skip(f"{FRAMEWORK[backend]} is not installed")


def numpy_out(value) -> np.ndarray:
    return value.detach().numpy() if hasattr(value, "detach") else np.asarray(value)


def call(model, backend: str, ids: np.ndarray, **kwargs):
    if backend == "torch":
        import torch

        tensors = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        with torch.no_grad():
            return model(torch.from_numpy(ids), **tensors)
    return model(input_ids=ids, **kwargs)


# -- config ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("overrides,message", [
    ({"hidden_size": 30}, "not a multiple"),
    ({"num_key_value_heads": 3}, "must divide"),
    ({"rope_scaling": {"rope_type": "yarnish", "factor": 2.0}}, "Unknown rope_scaling"),
    ({"rope_scaling": {"type": "ntk", "factor": 2.0}}, "Unknown rope_scaling"),
    ({"rope_scaling": {"type": "linear"}}, "needs a 'factor'"),
    ({"rope_scaling": {"rope_type": "llama3", "factor": 8.0}}, "low_freq_factor"),
])  # fmt: skip
@pytest.mark.parametrize("model_type", ["llama", "mistral", "qwen2"])
def test_inconsistent_configs_are_refused(model_type, overrides, message):
    with pytest.raises(ValueError, match=message):
        AutoConfig.for_model(model_type, **{**TINY, **overrides})


def test_head_dim_may_differ_from_hidden_over_heads():
    config = AutoConfig.for_model("llama", **{**TINY, "hidden_size": 30, "head_dim": 16})
    assert config.head_dim == 16
    assert AutoConfig.for_model("llama", **TINY).head_dim == 8


def test_defaults_follow_transformers():
    llama, mistral, qwen2 = (AutoConfig.for_model(t) for t in ("llama", "mistral", "qwen2"))
    sizes = (llama.vocab_size, llama.hidden_size, llama.intermediate_size, llama.num_key_value_heads)
    assert sizes == (32000, 4096, 11008, 32)
    rope_and_norm = (llama.max_position_embeddings, llama.rms_norm_eps, llama.rope_theta, llama.hidden_act)
    assert rope_and_norm == (2048, 1e-6, 10000.0, "silu")
    tokens = (llama.pad_token_id, llama.bos_token_id, llama.eos_token_id, llama.tie_word_embeddings)
    assert tokens == (None, 1, 2, False)
    assert not llama.attention_bias and not llama.mlp_bias and llama.rope_scaling is None and llama.head_dim == 128
    assert (mistral.sliding_window, mistral.num_key_value_heads, mistral.intermediate_size) == (4096, 8, 14336)
    assert mistral.max_position_embeddings == 4096 * 32
    assert (qwen2.vocab_size, qwen2.max_position_embeddings, qwen2.max_window_layers) == (151936, 32768, 28)
    assert qwen2.sliding_window is None and qwen2.layer_types == ["full_attention"] * 32
    assert qwen2.bos_token_id is None and qwen2.eos_token_id is None
    windowed = AutoConfig.for_model("qwen2", num_hidden_layers=4, use_sliding_window=True, max_window_layers=2)
    assert windowed.sliding_window == 4096
    assert windowed.layer_types == ["full_attention"] * 2 + ["sliding_attention"] * 2


# -- rotary frequencies, against values worked out by hand ---------------------------------------------


def _frequencies(rope_scaling, seq_len=None):
    config = AutoConfig.for_model("llama", **{**TINY, "rope_scaling": rope_scaling})  # head_dim 8, theta 10000
    return inverse_frequencies(config, seq_len)


def test_plain_and_linear_frequencies():
    plain = np.array([1.0, 0.1, 0.01, 0.001])
    np.testing.assert_allclose(_frequencies(None), plain, rtol=1e-6)
    np.testing.assert_allclose(_frequencies({"type": "linear", "factor": 4.0}), plain / 4, rtol=1e-6)


def test_dynamic_frequencies_change_only_past_the_limit():
    scaling = {"rope_type": "dynamic", "factor": 2.0}
    np.testing.assert_allclose(_frequencies(scaling, 16), _frequencies(None), rtol=1e-6)
    base = 10000.0 * (2.0 * 32 / 16 - 1.0) ** (8 / 6)  # seq_len 32 = twice max_position_embeddings
    np.testing.assert_allclose(_frequencies(scaling, 32), base ** (-np.arange(0, 8, 2) / 8), rtol=1e-5)


def test_llama3_frequencies():
    # wavelengths 2*pi*[1, 10, 100, 1000]; with context 16 the first (6.28) lies between 16/4 and 16/1, the
    # rest are longer than 16 and are slowed down by the full factor.
    smooth = (16 / (2 * math.pi) - 1.0) / (4.0 - 1.0)
    want = [(1 - smooth) / 8 + smooth, 0.1 / 8, 0.01 / 8, 0.001 / 8]
    np.testing.assert_allclose(_frequencies(LLAMA3), want, rtol=1e-6)


# -- random checkpoints written by PyTorch, read by every framework ------------------------------------


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """variant name → folder holding a CausalLM and a SequenceClassification checkpoint with noisy weights."""
    torch = pytest.importorskip("torch")
    folders = {}
    for name, (model_type, overrides) in VARIANTS.items():
        config = AutoConfig.for_model(model_type, **{**TINY, "num_labels": 3, **overrides})
        for auto, kind in ((autoload.AutoModelForCausalLM, "causal"),
                           (autoload.AutoModelForSequenceClassification, "classify")):  # fmt: skip
            torch.manual_seed(len(folders))
            model = auto.from_config(config)
            with torch.no_grad():  # non-trivial biases and norm scales
                for param in model.parameters():
                    param.add_(torch.randn_like(param) * 0.1)
            folder = tmp_path_factory.mktemp(f"{name}-{kind}")
            model.save_pretrained(folder)
            folders[name, kind] = folder
    return folders


@pytest.fixture(scope="module")
def torch_outputs(checkpoints):
    """PyTorch's logits for IDS / MASK (and a too-long input for dynamic rope) for every checkpoint."""
    outputs = {}
    for (name, kind), folder in checkpoints.items():
        auto = getattr(autoload, AUTO_CAUSAL["torch"] if kind == "causal" else AUTO_CLASSIFY["torch"])
        model = auto.from_pretrained(folder)
        outputs[name, kind] = numpy_out(call(model, "torch", IDS, attention_mask=MASK).logits)
        if name == "llama-rope-dynamic" and kind == "causal":
            long_ids = np.arange(24)[None] % 90 + 3
            outputs[name, "long"] = numpy_out(call(model, "torch", long_ids).logits)
    return outputs


def test_torch_checkpoints_load_cleanly(checkpoints):
    for (name, kind), folder in checkpoints.items():
        auto = getattr(autoload, AUTO_CAUSAL["torch"] if kind == "causal" else AUTO_CLASSIFY["torch"])
        _, info = auto.from_pretrained(folder, output_loading_info=True)
        assert not info["missing_keys"] and not info["unexpected_keys"], (name, kind, info)


def test_options_change_the_outputs(torch_outputs):
    """Each variant really exercises its option: without it the outputs differ."""
    import torch

    for name in ("mistral-window-2", "qwen2-tied-window-from-layer-1", "llama-rope-linear", "llama-rope-llama3"):
        model_type, overrides = VARIANTS[name]
        config = AutoConfig.for_model(model_type, **{**TINY, "num_labels": 3, **overrides})
        without = {"mistral": {"sliding_window": None}, "qwen2": {"layer_types": ["full_attention"] * 2}}
        plain = without.get(model_type, {"rope_scaling": None})
        torch.manual_seed(0)
        model = autoload.AutoModelForCausalLM.from_config(config)
        other = autoload.AutoModelForCausalLM.from_config(config, **plain)
        other.load_state_dict(model.state_dict())
        with torch.no_grad():
            ids = torch.from_numpy(IDS[:1])
            assert not torch.allclose(model(ids).logits, other(ids).logits, atol=1e-4), name


@pytest.mark.parametrize("backend", ["tf", "flax"])
@pytest.mark.parametrize("name", list(VARIANTS))
def test_frameworks_agree_with_torch(name, backend, checkpoints, torch_outputs):
    needs(backend)
    for kind, auto_names in (("causal", AUTO_CAUSAL), ("classify", AUTO_CLASSIFY)):
        model, info = getattr(autoload, auto_names[backend]).from_pretrained(checkpoints[name, kind],
                                                                              output_loading_info=True)  # fmt: skip
        assert not info["missing_keys"] and not info["unexpected_keys"], (kind, info)
        logits = numpy_out(call(model, backend, IDS, attention_mask=MASK).logits)
        np.testing.assert_allclose(logits, torch_outputs[name, kind], atol=1e-4, err_msg=kind)
        if (name, "long") in torch_outputs and kind == "causal":  # dynamic rope goes past max_position_embeddings
            long_ids = np.arange(24)[None] % 90 + 3
            np.testing.assert_allclose(numpy_out(call(model, backend, long_ids).logits), torch_outputs[name, "long"],
                                       atol=1e-4)  # fmt: skip


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
@pytest.mark.parametrize("name", ["llama-biases-tied-head-dim-16", "llama-rope-llama3", "mistral-window-2",
                                  "qwen2-tied-window-from-layer-1"])  # fmt: skip
def test_incremental_decoding_matches_full_forward(name, backend, checkpoints):
    """Prompt of 3, then 4 single tokens: past every sliding window."""
    needs(backend)
    model = getattr(autoload, AUTO_CAUSAL[backend]).from_pretrained(checkpoints[name, "causal"])
    ids = IDS[:1, :7]
    full = numpy_out(call(model, backend, ids, use_cache=False).logits)
    step = call(model, backend, ids[:, :3], use_cache=True)
    logits, past = [numpy_out(step.logits)], step.past_key_values
    for i in range(3, ids.shape[1]):
        step = call(model, backend, ids[:, i : i + 1], past_key_values=past, use_cache=True)
        logits.append(numpy_out(step.logits))
        past = step.past_key_values
    np.testing.assert_allclose(np.concatenate(logits, axis=1), full, atol=1e-4)


# -- fixture checkpoints ---------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
@pytest.mark.parametrize("model_type", ["llama", "mistral", "qwen2"])
def test_classification_pools_the_last_real_token(model_type, backend):
    needs(backend)
    prefix = {"llama": "Llama", "mistral": "Mistral", "qwen2": "Qwen2"}[model_type]
    folder = MODELS / model_type / f"{prefix}ForSequenceClassification"
    model = getattr(autoload, AUTO_CLASSIFY[backend]).from_pretrained(folder)
    ids, padded = np.array([[5, 17, 3, 44]]), np.array([[5, 17, 3, 44, 0, 0]])
    alone = numpy_out(call(model, backend, ids).logits)
    np.testing.assert_allclose(numpy_out(call(model, backend, padded, attention_mask=(padded != 0).astype(np.int64))
                                         .logits), alone, atol=1e-5)  # fmt: skip


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_cache_cannot_grow_past_the_positions(backend):
    needs(backend)
    limit = 8
    model = getattr(autoload, AUTO_CAUSAL[backend]).from_pretrained(MODELS / "llama" / "LlamaForCausalLM",
                                                                    max_position_embeddings=limit)  # fmt: skip
    step = call(model, backend, np.ones((1, limit - 1), dtype=np.int64), use_cache=True)
    step = call(model, backend, np.ones((1, 1), dtype=np.int64), past_key_values=step.past_key_values, use_cache=True)
    with pytest.raises(ValueError, match="longer than max_position_embeddings"):
        call(model, backend, np.ones((1, 1), dtype=np.int64), past_key_values=step.past_key_values, use_cache=True)
