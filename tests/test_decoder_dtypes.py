"""Half-precision decoder checkpoints load and run in their own dtype in every framework: PyTorch with
torch_dtype="auto", Flax with dtype=jnp.bfloat16 (or "auto": bfloat16 parameters too), TensorFlow under a
Keras dtype policy ("bfloat16" / "float16"). The bfloat16 checkpoints (tests/fixtures/bf16, written by
transformers 4.57.6 with its own bfloat16 logits: scripts/reference/decoder_bfloat16.py) must give logits
within HALF_ATOL of the float32 reference and of transformers' bfloat16 logits; float16 copies are made
here from the float32 fixtures."""

import contextlib
import importlib.util
import json

import numpy as np
import pytest
from conftest import FIXTURES, MODELS

import autoload

# Logits of these models are of magnitude ~1, where one bfloat16 step is 2**-7 ≈ 0.008: transformers' own
# bfloat16 logits differ from its float32 ones by up to 0.014; we allow 0.03 (about four steps).
HALF_ATOL = 0.03
CAUSAL = {"llama": "LlamaForCausalLM", "gemma2": "Gemma2ForCausalLM", "phi3": "Phi3ForCausalLM",
          "mixtral": "MixtralForCausalLM", "qwen3": "Qwen3ForCausalLM", "gemma3_text": "Gemma3ForCausalLM",
          "gemma": "GemmaForCausalLM"}  # fmt: skip
# every pre-norm decoder in float16 (copies of the float32 fixtures; no bfloat16 fixture for the last two)
FLOAT16 = {**CAUSAL, "qwen2": "Qwen2ForCausalLM", "mistral": "MistralForCausalLM"}
FRAMEWORK = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}


def needs(backend: str) -> None:
    if importlib.util.find_spec(FRAMEWORK[backend]) is None:
        pytest.skip(f"{FRAMEWORK[backend]} is not installed")


@contextlib.contextmanager
def keras_policy(name: str):
    import keras

    previous = keras.config.dtype_policy().name
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def half_logits(backend: str, folder, dtype: str, inputs: dict, flax_dtype=None) -> tuple[str, np.ndarray]:
    """(dtype name of the logits, logits as float32) of the half-precision checkpoint in `folder`."""
    if backend == "torch":
        import torch

        model = autoload.AutoModelForCausalLM.from_pretrained(folder, torch_dtype="auto")
        assert model.dtype == getattr(torch, dtype)
        with torch.no_grad():
            logits = model(**{k: torch.from_numpy(v) for k, v in inputs.items()}).logits
        return str(logits.dtype).removeprefix("torch."), logits.float().numpy()
    if backend == "flax":
        import jax.numpy as jnp

        model = autoload.FlaxAutoModelForCausalLM.from_pretrained(folder, dtype=flax_dtype or getattr(jnp, dtype))
        logits = model(**inputs).logits
        return str(logits.dtype), np.asarray(logits, dtype=np.float32)
    with keras_policy(dtype):
        model = autoload.TFAutoModelForCausalLM.from_pretrained(folder)
        logits = model(**inputs).logits
    return logits.dtype.name, logits.numpy().astype(np.float32)


def reference(model_type: str) -> tuple[dict, np.ndarray, np.ndarray]:
    folder = MODELS / model_type / FLOAT16[model_type]
    inputs = dict(np.load(folder / "inputs.npz"))
    return inputs, np.load(folder / "expected.npz")["logits"], inputs["attention_mask"].astype(bool)


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
@pytest.mark.parametrize("model_type", list(CAUSAL))
def test_bfloat16_checkpoints_run_in_bfloat16(model_type, backend):
    needs(backend)
    inputs, float32, real = reference(model_type)
    transformers_bf16 = np.load(FIXTURES / "bf16" / model_type / "logits.npz")["logits"]
    dtype, logits = half_logits(backend, FIXTURES / "bf16" / model_type, "bfloat16", inputs)
    assert dtype == "bfloat16"
    np.testing.assert_allclose(logits[real], float32[real], atol=HALF_ATOL)
    np.testing.assert_allclose(logits[real], transformers_bf16[real], atol=HALF_ATOL)


def test_flax_auto_dtype_keeps_bfloat16_parameters():
    needs("flax")
    import jax
    import jax.numpy as jnp

    model = autoload.FlaxAutoModelForCausalLM.from_pretrained(FIXTURES / "bf16" / "gemma2", dtype="auto")
    assert {leaf.dtype for leaf in jax.tree_util.tree_leaves(model.params)} == {jnp.dtype(jnp.bfloat16)}
    inputs, float32, real = reference("gemma2")
    logits = model(**inputs).logits
    assert logits.dtype == jnp.bfloat16
    np.testing.assert_allclose(np.asarray(logits, np.float32)[real], float32[real], atol=HALF_ATOL)


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
@pytest.mark.parametrize("model_type", list(FLOAT16))
def test_float16_checkpoints_run_in_float16(model_type, backend, tmp_path):
    needs(backend)
    from safetensors.numpy import load_file, save_file

    source = MODELS / model_type / FLOAT16[model_type]
    save_file({k: v.astype(np.float16) for k, v in load_file(source / "model.safetensors").items()},
              tmp_path / "model.safetensors", metadata={"format": "pt"})  # fmt: skip
    config = json.loads((source / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "dtype": "float16"}))
    inputs, float32, real = reference(model_type)
    dtype, logits = half_logits(backend, tmp_path, "float16", inputs)
    assert dtype == "float16"
    np.testing.assert_allclose(logits[real], float32[real], atol=HALF_ATOL / 4)  # 8 times finer steps than bf16
