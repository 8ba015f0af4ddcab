"""bfloat16 and float16 checkpoints of the GPT-style decoders forward in their own dtype in every framework:
PyTorch with torch_dtype="auto", Flax with dtype="auto", TensorFlow under the matching Keras dtype policy.

Tolerance against the float32 reference outputs (logits of magnitude ~1): 3e-2 for bfloat16 (8 bits of mantissa:
one rounding step at 1 is 2**-7 ≈ 8e-3, and a few layers add up), 5e-3 for float16 (11 bits). GPT-J's LM head
returns float32 logits whatever the dtype, as transformers' does."""

import importlib.util
import json

import numpy as np
import pytest
from conftest import MODELS, read_fixture

import autoload
from autoload.families import auto_class_name

FOLDERS = ["gpt2/GPT2LMHeadModel", "opt/OPTForCausalLM", "gpt_neox/GPTNeoXForCausalLM", "gptj/GPTJForCausalLM"]
TOLERANCE = {"bfloat16": 3e-2, "float16": 5e-3}
FRAMEWORK = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}


def half_checkpoint(folder, dtype: str, tmp_path):
    """The fixture's weights rounded to `dtype` and stored so, with config.dtype saying it."""
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file, save_file

    target = tmp_path / f"{folder.replace('/', '-')}-{dtype}"
    target.mkdir()
    config = json.loads((MODELS / folder / "config.json").read_text())
    (target / "config.json").write_text(json.dumps({**config, "dtype": dtype}))
    state = load_file(MODELS / folder / "model.safetensors")
    save_file({k: v.to(getattr(torch, dtype)) for k, v in state.items()}, target / "model.safetensors",
              metadata={"format": "pt"})  # fmt: skip
    return target


def forward(backend: str, folder, dtype: str, inputs: dict):
    """(the dtypes of the model's floating weights, logits as float32 numpy, the logits' dtype name)."""
    auto = getattr(autoload, auto_class_name("MODEL_FOR_CAUSAL_LM", backend))
    if backend == "torch":
        import torch

        model = auto.from_pretrained(folder, torch_dtype="auto")
        with torch.no_grad():
            logits = model(**{k: torch.from_numpy(v) for k, v in inputs.items()}).logits
        weights = {str(p.dtype).removeprefix("torch.") for p in model.parameters()}
        return weights, logits.float().numpy(), str(logits.dtype).removeprefix("torch.")
    if backend == "flax":
        import jax

        model = auto.from_pretrained(folder, dtype="auto")
        logits = model(**inputs).logits
        weights = {str(leaf.dtype) for leaf in jax.tree_util.tree_leaves(model.params)}
        return weights, np.asarray(logits, dtype=np.float32), str(logits.dtype)
    import keras

    keras.config.set_dtype_policy(dtype)
    try:
        model = auto.from_pretrained(folder)
        logits = model(**inputs).logits
    finally:
        keras.config.set_dtype_policy("float32")
    weights = {str(w.dtype) for w in model.weights if "float" in str(w.dtype)}
    return weights, np.asarray(logits).astype(np.float32), logits.dtype.name


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("folder", FOLDERS)
def test_half_precision_checkpoint_forwards_in_its_dtype(folder, dtype, backend, tmp_path):
    if importlib.util.find_spec(FRAMEWORK[backend]) is None:
        pytest.skip(f"{FRAMEWORK[backend]} is not installed")
    half = half_checkpoint(folder, dtype, tmp_path)
    _, inputs, expected = read_fixture(MODELS / folder)
    weights, logits, logits_dtype = forward(backend, half, dtype, inputs)
    assert weights == {dtype}
    assert logits_dtype == ("float32" if folder.startswith("gptj") else dtype)
    np.testing.assert_allclose(logits, expected["logits"], atol=TOLERANCE[dtype], rtol=0)
