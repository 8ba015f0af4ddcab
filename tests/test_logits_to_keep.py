"""logits_to_keep (transformers' keyword on causal LMs) in every framework: an int N scores the last N positions
(0: all), a 1-D index array those positions; the kept rows equal the reference fixture's logits from
transformers 4.57.6. generate() uses it to score only the prompt's last position."""

import importlib.util

import numpy as np
import pytest
from conftest import MODELS

import autoload

FRAMEWORK = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}
AUTO = {"torch": "AutoModelForCausalLM", "tf": "TFAutoModelForCausalLM", "flax": "FlaxAutoModelForCausalLM"}
FOLDERS = ["llama/LlamaForCausalLM", "gemma2/Gemma2ForCausalLM", "mixtral/MixtralForCausalLM", "phi3/Phi3ForCausalLM",
           "gpt2/GPT2LMHeadModel", "gpt_neox/GPTNeoXForCausalLM", "opt/OPTForCausalLM",
           "llava/LlavaForConditionalGeneration"]  # fmt: skip
LLAVA_AUTO = {"torch": "AutoModelForImageTextToText", "tf": "TFAutoModelForVision2Seq",
              "flax": "FlaxAutoModelForVision2Seq"}  # fmt: skip


def load(backend: str, folder: str):
    if importlib.util.find_spec(FRAMEWORK[backend]) is None:
        pytest.skip(f"{FRAMEWORK[backend]} is not installed")
    auto = LLAVA_AUTO if folder.startswith("llava/") else AUTO
    return getattr(autoload, auto[backend]).from_pretrained(MODELS / folder)


def fixture_inputs(folder: str) -> dict:
    """The fixture's inputs, token ids and masks as int64 (LLaVA's pixel_values stay float32)."""
    arrays = np.load(MODELS / folder / "inputs.npz").items()
    return {k: v.astype(np.int64) if v.dtype.kind in "iu" else v for k, v in arrays}


def run(backend: str, model, inputs: dict, **kwargs) -> np.ndarray:
    if backend == "torch":
        import torch

        with torch.no_grad():
            logits = model(**{k: torch.from_numpy(v) for k, v in inputs.items()}, **kwargs).logits
        return logits.numpy()
    return np.asarray(model(**inputs, **kwargs).logits)


def index(backend: str, rows: list):
    if backend == "torch":
        import torch

        return torch.tensor(rows)
    if backend == "tf":
        import tensorflow as tf

        return tf.constant(rows)
    return np.asarray(rows)


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
@pytest.mark.parametrize("folder", FOLDERS)
def test_kept_logits_are_the_references_rows(folder, backend):
    model = load(backend, folder)
    inputs = fixture_inputs(folder)
    expected = np.load(MODELS / folder / "expected.npz")["logits"]
    last = run(backend, model, inputs, logits_to_keep=1)
    assert last.shape == (expected.shape[0], 1, expected.shape[2])
    np.testing.assert_allclose(last, expected[:, -1:], atol=1e-4)
    np.testing.assert_allclose(run(backend, model, inputs, logits_to_keep=3), expected[:, -3:], atol=1e-4)
    np.testing.assert_allclose(run(backend, model, inputs, logits_to_keep=0), expected, atol=1e-4)
    picked = run(backend, model, inputs, logits_to_keep=index(backend, [0, 4]))
    np.testing.assert_allclose(picked, expected[:, [0, 4]], atol=1e-4)


@pytest.mark.parametrize("backend", ["torch", "tf"])
@pytest.mark.parametrize("folder", ["llama/LlamaForCausalLM", "llava/LlavaForConditionalGeneration"])
def test_labels_need_every_position(folder, backend):
    model = load(backend, folder)
    inputs = fixture_inputs(folder)
    with pytest.raises(ValueError, match="logits_to_keep"):
        run(backend, model, {**inputs, "labels": inputs["input_ids"]}, logits_to_keep=1)


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
@pytest.mark.parametrize("folder", ["gemma2/Gemma2ForCausalLM", "llava/LlavaForConditionalGeneration"])
def test_generation_scores_only_the_prompts_last_position(folder, backend, monkeypatch):
    model = load(backend, folder)
    widths = []
    call = type(model).__call__

    def recording(self, *args, **kwargs):
        result = call(self, *args, **kwargs)
        widths.append(result.logits.shape[1])
        return result

    monkeypatch.setattr(type(model), "__call__", recording)
    if folder.startswith("llava/"):  # the fixture's first row: text around one image's tokens, no padding
        inputs = {k: v[:1] for k, v in fixture_inputs(folder).items()}
    else:
        inputs = {"input_ids": np.array([[2, 5, 9, 14, 3]], np.int64)}
    if backend == "torch":
        import torch

        inputs = {k: torch.from_numpy(v) for k, v in inputs.items()}
    model.generate(**inputs, max_new_tokens=3, do_sample=False)
    assert widths == [1, 1, 1]
