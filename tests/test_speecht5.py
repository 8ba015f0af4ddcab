"""SpeechT5 beyond the forward fixtures (those run in test_parity.py / test_native_formats.py): spectrogram
generation in every return convention, transcription through the shared seq2seq generate(), and the speech
decoder pre-net's consistent dropout, against transformers 4.57.6 (scripts/reference/speecht5_generation.py)."""

import json

import numpy as np
import pytest
from conftest import FIXTURES, MODELS
from model_checks import PREFIX, needs

import autoload
from autoload.models.speecht5 import BACKENDS

GENERATION = FIXTURES / "speecht5_generation"
CASES = json.loads((GENERATION / "cases.json").read_text())
REFERENCE = dict(np.load(GENERATION / "reference.npz"))
TTS = MODELS / "speecht5" / "SpeechT5ForTextToSpeech"
S2T = MODELS / "speecht5" / "SpeechT5ForSpeechToText"
TTS_INPUTS = {"input_ids": "tts_input_ids", "attention_mask": "tts_attention_mask", "speakers": "tts_speakers"}


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


def as_numpy(value) -> np.ndarray:
    return value.detach().numpy() if hasattr(value, "detach") else np.asarray(value)


def seeded(backend: str, seed: int) -> dict:
    """The keyword that fixes the pre-net's dropout masks in each framework."""
    if backend == "torch":
        import torch

        return {"generator": torch.Generator().manual_seed(seed)}
    if backend == "tf":
        return {"seed": seed}
    import jax

    return {"rng": jax.random.PRNGKey(seed)}


@pytest.mark.parametrize("backend", BACKENDS)
def test_prenet_dropout_is_seeded_and_shared_by_the_batch(backend):
    """p > 0: the same seed gives the same masks, another seed others; one mask serves every example."""
    needs(backend)
    model = tts_model(backend, speech_decoder_prenet_dropout=0.5)
    rows = [0, 0]  # the same example twice
    call = {"input_ids": REFERENCE["tts_input_ids"][rows], "attention_mask": REFERENCE["tts_attention_mask"][rows],
            "speaker_embeddings": REFERENCE["tts_speakers"][rows],
            "decoder_input_values": REFERENCE["dropout_decoder_input_values"][rows]}  # fmt: skip
    call = {k: tensor(backend, v) for k, v in call.items()}

    def spectrogram(seed):
        return as_numpy(model(**call, **seeded(backend, seed)).spectrogram)

    first, again, other = spectrogram(3), spectrogram(3), spectrogram(4)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)
    np.testing.assert_allclose(first[0], first[1], atol=1e-6)
    steps = tts_model(backend, speech_decoder_prenet_dropout=0.5).generate_speech(
        call["input_ids"][:1], call["speaker_embeddings"][:1], threshold=1.1, maxlenratio=1.0, **seeded(backend, 5))
    repeat = tts_model(backend, speech_decoder_prenet_dropout=0.5).generate_speech(
        call["input_ids"][:1], call["speaker_embeddings"][:1], threshold=1.1, maxlenratio=1.0, **seeded(backend, 5))
    np.testing.assert_array_equal(as_numpy(steps), as_numpy(repeat))


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "flax"])  # Flax heads return no loss
def test_speech_to_text_loss_matches_transformers(backend):
    """labels are shifted into decoder inputs (decoder_start_token_id first) and -100 is ignored."""
    needs(backend)
    model = getattr(autoload, PREFIX[backend] + "AutoModelForSpeechSeq2Seq").from_pretrained(S2T)
    call = {k: tensor(backend, REFERENCE[f"s2t_{k}"]) for k in ("input_values", "attention_mask", "labels")}
    np.testing.assert_allclose(as_numpy(model(**call).loss), REFERENCE["s2t_loss"], atol=1e-4, rtol=0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_text_to_speech_loss(backend):
    """PyTorch: transformers' loss (L1 + stop BCE + guided attention) from -100-padded labels; TF and Flax refuse
    labels with an error naming the missing feature."""
    needs(backend)
    model = tts_model(backend)
    inputs = {"input_ids": "tts_input_ids", "attention_mask": "tts_attention_mask", "speaker_embeddings": "tts_speakers",
              "labels": "tts_labels"}  # fmt: skip
    call = {k: tensor(backend, REFERENCE[v]) for k, v in inputs.items()}
    if backend != "torch":
        with pytest.raises(NotImplementedError, match="training loss"):
            model(**call)
        return
    np.testing.assert_allclose(as_numpy(model(**call).loss), REFERENCE["tts_loss"], atol=1e-4, rtol=0)
