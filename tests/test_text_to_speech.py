"""Text to waveform end to end, against transformers 4.57.6 (tests/fixtures/text_to_speech, written by
scripts/reference/text_to_speech.py): AutoTokenizer -> AutoModelForTextToWaveform (VITS) -> waveform, and
AutoProcessor -> AutoModelForTextToSpectrogram (SpeechT5).generate_speech(vocoder=SpeechT5HifiGan) -> waveform.

How VITS outputs compare: with the checkpoint's noise_scale and noise_scale_duration at 0, synthesis is deterministic
and every framework gives transformers' waveform. With noise, PyTorch draws the same noise as transformers after
the same torch.manual_seed, so its waveform is transformers'; TensorFlow (tf.random.set_seed) and Flax (the "noise"
RNG stream) draw their own, so their waveforms are only reproducible, not equal to PyTorch's."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest
from conftest import FIXTURES
from model_checks import PREFIX, needs

import autoload

REFERENCE = FIXTURES / "text_to_speech" / "vits"
SPEC = json.loads((REFERENCE / "cases.json").read_text())
CASES = {case["key"]: case for case in SPEC["cases"]}


def expected(key: str) -> dict:
    stored = np.load(REFERENCE / "expected.npz")
    return {name.split(".", 1)[1]: stored[name] for name in stored.files if name.startswith(key + ".")}


@functools.cache
def tokenizer():
    return autoload.AutoTokenizer.from_pretrained(FIXTURES / SPEC["tokenizer"])


@functools.cache
def load(backend: str, noise: tuple = ()):
    auto = getattr(autoload, PREFIX[backend] + "AutoModelForTextToWaveform")
    return auto.from_pretrained(FIXTURES / SPEC["model"], **dict(noise))


def synthesise(backend: str, case: dict, seed: int | None = None):
    """Tokenizer -> model -> (input ids, waveform, sequence lengths) in one framework."""
    model = load(backend, tuple(sorted(case["load"].items())))
    if backend == "torch":
        import torch

        inputs = tokenizer()(case["text"], return_tensors="pt", **case["call"])
        if seed is not None:
            torch.manual_seed(seed)
        with torch.no_grad():
            out = model(**inputs)
    elif backend == "tf":
        import tensorflow as tf

        inputs = tokenizer()(case["text"], return_tensors="tf", **case["call"])
        if seed is not None:
            tf.random.set_seed(seed)
        out = model(**inputs)
    else:
        import jax

        inputs = tokenizer()(case["text"], return_tensors="np", **case["call"])
        rngs = {"noise": jax.random.PRNGKey(seed)} if seed is not None else {}
        out = model.module.apply({"params": model.params}, inputs["input_ids"], inputs["attention_mask"], rngs=rngs)
    return np.asarray(inputs["input_ids"]), np.asarray(out.waveform), np.asarray(out.sequence_lengths)


# Flax runs VITS eagerly and compiles each operation for each new shape (tens of seconds on a small CPU): one case.
@pytest.mark.parametrize("backend,key", [("torch", "batch"), ("torch", "one"), ("tf", "batch"), ("tf", "one"),
                                         ("flax", "batch")])  # fmt: skip
def test_noiseless_synthesis_matches_transformers_in_every_framework(backend, key):
    needs(backend)
    want = expected(key)
    ids, waveform, lengths = synthesise(backend, CASES[key])
    np.testing.assert_array_equal(ids, want["input_ids"])
    np.testing.assert_array_equal(lengths, want["sequence_lengths"])
    assert waveform.shape == want["waveform"].shape
    np.testing.assert_allclose(waveform, want["waveform"], atol=1e-4, rtol=0)


@pytest.mark.parametrize("key", ["seeded_batch", "seeded_one"])
def test_seeded_torch_synthesis_draws_transformers_noise(key):
    needs("torch")
    want = expected(key)
    _, waveform, lengths = synthesise("torch", CASES[key], seed=CASES[key]["seed"])
    np.testing.assert_array_equal(lengths, want["sequence_lengths"])
    np.testing.assert_allclose(waveform, want["waveform"], atol=1e-4, rtol=0)
    noiseless = expected(key.removeprefix("seeded_"))["waveform"]
    assert waveform.shape != noiseless.shape or np.abs(waveform - noiseless).max() > 1e-2  # the noise did act


@pytest.mark.parametrize("backend", ["tf", "flax"])
def test_seeded_synthesis_is_reproducible_in_tf_and_flax(backend):
    """Latent noise only (durations, and so every shape, as without noise): same seed, same waveform."""
    needs(backend)
    case = {**CASES["batch"], "load": {"noise_scale": 0.667}}
    _, first, _ = synthesise(backend, case, seed=3)
    _, again, _ = synthesise(backend, case, seed=3)
    _, other, _ = synthesise(backend, case, seed=4)
    np.testing.assert_array_equal(first, again)
    assert first.shape != other.shape or np.abs(first - other).max() > 1e-3


# -- SpeechT5: processor -> generate_speech(vocoder=SpeechT5HifiGan) -> waveform --------------------------------------
SPEECHT5 = FIXTURES / "text_to_speech" / "speecht5"
SPEECHT5_SPEC = json.loads((SPEECHT5 / "cases.json").read_text())


def speecht5_backends() -> list[str]:
    from autoload import registry

    return list(registry.arch_spec("speecht5").BACKENDS)


@pytest.mark.parametrize("key", [case["key"] for case in SPEECHT5_SPEC["cases"]])
@pytest.mark.parametrize("backend", speecht5_backends())
def test_speecht5_with_hifigan_vocoder_matches_transformers(backend, key):
    """The checkpoint's pre-net dropout is 0, so generation is deterministic in every framework."""
    needs(backend)
    case = next(case for case in SPEECHT5_SPEC["cases"] if case["key"] == key)
    stored = np.load(SPEECHT5 / "expected.npz")
    want = {name.split(".", 1)[1]: stored[name] for name in stored.files if name.startswith(key + ".")}
    processor = autoload.AutoProcessor.from_pretrained(FIXTURES / SPEECHT5_SPEC["processor"])
    model = getattr(autoload, PREFIX[backend] + "AutoModelForTextToSpectrogram").from_pretrained(
        FIXTURES / SPEECHT5_SPEC["model"])  # fmt: skip
    vocoder_class = getattr(autoload, PREFIX[backend] + "SpeechT5HifiGan")
    vocoder = vocoder_class.from_pretrained(FIXTURES / SPEECHT5_SPEC["vocoder"])
    tensors = {"torch": "pt", "tf": "tf", "flax": "np"}[backend]
    inputs = processor(text=case["text"], return_tensors=tensors, **case["call"])
    np.testing.assert_array_equal(np.asarray(inputs["input_ids"]), want["input_ids"])
    speakers = want["speaker_embeddings"]
    if backend == "torch":
        import torch

        speakers = torch.from_numpy(speakers)
    result = model.generate_speech(inputs["input_ids"], speakers, attention_mask=inputs.get("attention_mask"),
                                   vocoder=vocoder, **case["generate"])  # fmt: skip
    waveform, lengths = result if isinstance(result, tuple) else (result, None)
    waveform = np.asarray(waveform.detach() if hasattr(waveform, "detach") else waveform)
    assert waveform.shape == want["waveform"].shape
    np.testing.assert_allclose(waveform, want["waveform"], atol=1e-4, rtol=0)
    if "waveform_lengths" in want:
        assert [int(n) for n in lengths] == want["waveform_lengths"].tolist()


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_synthesis_settings_set_on_the_model_after_loading_apply(backend):
    """transformers copies speaking_rate / noise_scale / noise_scale_duration into VitsModel attributes when it builds
    the model, and users set those after loading: a model told speaking_rate=2 after loading speaks as one loaded with
    it (half the frames of the checkpoint's rate)."""
    needs(backend)
    case = CASES["batch"]
    auto = getattr(autoload, PREFIX[backend] + "AutoModelForTextToWaveform")
    model = auto.from_pretrained(FIXTURES / SPEC["model"])
    model.speaking_rate = model.speaking_rate * 2
    inputs = tokenizer()(case["text"], return_tensors={"torch": "pt", "tf": "tf", "flax": "np"}[backend], **case["call"])
    if backend == "torch":
        import torch

        with torch.no_grad():
            out = model(**inputs)
    else:
        out = model(**inputs)
    reference = load(backend, (("speaking_rate", model.speaking_rate),))
    if backend == "torch":
        with torch.no_grad():
            want = reference(**inputs)
    else:
        want = reference(**inputs)
    np.testing.assert_array_equal(np.asarray(out.sequence_lengths), np.asarray(want.sequence_lengths))
    np.testing.assert_allclose(np.asarray(out.waveform), np.asarray(want.waveform), atol=1e-5, rtol=0)
    assert np.asarray(out.sequence_lengths).max() < expected("batch")["sequence_lengths"].max()


def test_noise_set_on_the_torch_model_after_loading_draws_transformers_noise():
    needs("torch")
    import torch

    case = CASES["seeded_batch"]
    model = autoload.AutoModelForTextToWaveform.from_pretrained(FIXTURES / SPEC["model"])
    for name, value in case["load"].items():
        setattr(model, name, value)
    inputs = tokenizer()(case["text"], return_tensors="pt", **case["call"])
    torch.manual_seed(case["seed"])
    with torch.no_grad():
        out = model(**inputs)
    np.testing.assert_allclose(out.waveform.numpy(), expected("seeded_batch")["waveform"], atol=1e-4, rtol=0)
