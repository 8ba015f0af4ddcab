"""SpeechT5 beyond the forward fixtures (those run in test_parity.py / test_native_formats.py): spectrogram
generation in every return convention, transcription through the shared seq2seq generate(), and the speech
decoder pre-net's consistent dropout, against transformers 4.57.6 (scripts/reference/speecht5_generation.py)."""

import importlib.util
import json

import numpy as np
import pytest
from conftest import FIXTURES, MODELS

import autoload
from autoload.models.speecht5 import BACKENDS

FRAMEWORK = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}
PREFIX = {"torch": "", "tf": "TF", "flax": "Flax"}
GENERATION = FIXTURES / "speecht5_generation"
CASES = json.loads((GENERATION / "cases.json").read_text())
REFERENCE = dict(np.load(GENERATION / "reference.npz"))
TTS = MODELS / "speecht5" / "SpeechT5ForTextToSpeech"
S2T = MODELS / "speecht5" / "SpeechT5ForSpeechToText"
TTS_INPUTS = {"input_ids": "tts_input_ids", "attention_mask": "tts_attention_mask", "speakers": "tts_speakers"}


def needs(backend: str) -> None:
    if importlib.util.find_spec(FRAMEWORK[backend]) is None:
        pytest.skip(f"{FRAMEWORK[backend]} is not installed")


def tensor(backend: str, array: np.ndarray):
    if backend == "torch":
        import torch

        return torch.from_numpy(array)
    if backend == "tf":
        import tensorflow as tf

        return tf.constant(array)
    import jax.numpy as jnp

    return jnp.asarray(array)


def flatten_vocoder(backend: str):
    """A stand-in vocoder: each frame's bins become samples ([batch, frames, mel] -> [batch, frames * mel])."""
    if backend == "torch":
        return lambda spectrogram: spectrogram.flatten(1)
    if backend == "tf":
        import tensorflow as tf

        return lambda spectrogram: tf.reshape(spectrogram, (spectrogram.shape[0], -1))
    return lambda spectrogram: spectrogram.reshape(spectrogram.shape[0], -1)


def tts_model(backend: str, **kwargs):
    return getattr(autoload, PREFIX[backend] + "AutoModelForTextToSpectrogram").from_pretrained(TTS, **kwargs)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", sorted(CASES.keys() - {"s2t_greedy", "s2t_beam"}))
def test_generate_speech_matches_transformers(case, backend):
    needs(backend)
    model = tts_model(backend)
    call = {}
    for key, value in CASES[case]["call"].items():
        if isinstance(value, dict):
            value = tensor(backend, REFERENCE[TTS_INPUTS[value["input"]]][: value["rows"]])
        elif key == "vocoder":
            value = flatten_vocoder(backend)
        call[key] = value
    result = model.generate_speech(**call)
    result = result if isinstance(result, tuple) else (result,)
    expected = CASES[case]["result"]
    assert len(result) == len(expected)
    for got, want in zip(result, expected):
        if isinstance(want, list):
            assert list(got) == want
        else:
            np.testing.assert_allclose(np.asarray(got), REFERENCE[want["array"]], atol=1e-4, rtol=0)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", ["s2t_greedy", "s2t_beam"])
def test_speech_to_text_generate_matches_transformers(case, backend):
    needs(backend)
    model = getattr(autoload, PREFIX[backend] + "AutoModelForSpeechSeq2Seq").from_pretrained(S2T)
    tokens = model.generate(input_values=tensor(backend, REFERENCE["s2t_input_values"]),
                            attention_mask=tensor(backend, REFERENCE["s2t_attention_mask"]), do_sample=False,
                            **CASES[case]["call"])  # fmt: skip
    np.testing.assert_array_equal(np.asarray(tokens), REFERENCE[CASES[case]["tokens"]])


def test_prenet_dropout_draws_torch_masks_like_transformers():
    """With p > 0 the pre-net drops units in eval mode; under the same torch seed the masks are transformers'."""
    pytest.importorskip("torch")
    import torch

    model = tts_model("torch", speech_decoder_prenet_dropout=0.5)
    inputs = {"input_ids": "tts_input_ids", "attention_mask": "tts_attention_mask", "speaker_embeddings": "tts_speakers",
              "decoder_input_values": "dropout_decoder_input_values"}  # fmt: skip
    call = {k: torch.from_numpy(REFERENCE[v]) for k, v in inputs.items()}
    torch.manual_seed(1234)
    with torch.no_grad():
        first = model(**call).spectrogram
        second = model(**call).spectrogram
    np.testing.assert_allclose(first.numpy(), REFERENCE["dropout_spectrogram_seed1234"], atol=1e-4, rtol=0)
    assert not np.allclose(first.numpy(), second.numpy())  # fresh masks on every call, eval mode included
    generator = torch.Generator().manual_seed(7)
    with torch.no_grad():
        seeded = model(**call, generator=generator).spectrogram
        again = model(**call, generator=torch.Generator().manual_seed(7)).spectrogram
    np.testing.assert_array_equal(seeded.numpy(), again.numpy())
