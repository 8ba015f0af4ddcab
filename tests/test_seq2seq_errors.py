"""An encoder-decoder model called without decoder inputs says what it needs, in every framework (BART
builds them from input_ids, as transformers' does, and runs)."""

import numpy as np
import pytest
from conftest import MODELS, read_fixture

import autoload
from autoload.families import auto_class_name

FRAMEWORK = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}


def call(model, backend, inputs):
    if backend == "torch":
        import torch

        with torch.no_grad():
            return model(**{k: torch.from_numpy(v) for k, v in inputs.items()})
    return model(**inputs)


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
@pytest.mark.parametrize("folder", ["t5/T5Model", "t5/T5ForConditionalGeneration", "whisper/WhisperModel",
                                    "whisper/WhisperForConditionalGeneration"])  # fmt: skip
def test_missing_decoder_inputs_are_named(folder, backend):
    pytest.importorskip(FRAMEWORK[backend])
    meta, inputs, _ = read_fixture(MODELS / folder)
    encoder_only = {k: v for k, v in inputs.items() if not k.startswith("decoder_")}
    model = getattr(autoload, auto_class_name(meta["family"], backend)).from_pretrained(MODELS / folder)
    with pytest.raises(ValueError, match="decoder_input_ids"):
        call(model, backend, encoder_only)


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_bart_builds_decoder_inputs_from_input_ids(backend):
    pytest.importorskip(FRAMEWORK[backend])
    _, inputs, _ = read_fixture(MODELS / "bart/BartModel")
    model = autoload.AutoModel.from_pretrained(MODELS / "bart/BartModel", backend=backend)
    out = call(model, backend, {k: v for k, v in inputs.items() if not k.startswith("decoder_")})
    assert np.asarray(out.last_hidden_state).shape[:2] == inputs["input_ids"].shape
