"""SpeechT5's HiFi-GAN vocoder beyond the shared fixture tests (test_parity: batched spectrogram from safetensors,
pytorch_model.bin and weight-normalised checkpoints; test_native_formats: our tf_model.h5 / flax_model.msgpack):
an unbatched spectrogram gives transformers' 1-D waveform in every framework, Flax under jax.jit, weight-norm
folding along any axis, a torch model saved with weight norm on reloading, and the class-only loading."""


import numpy as np
import pytest
from conftest import MODELS
from model_checks import PREFIX, needs

import autoload
from autoload.weight_norm import fold

FOLDER = MODELS / "hifigan" / "SpeechT5HifiGan"


def vocode(model, backend: str, spectrogram: np.ndarray) -> np.ndarray:
    if backend == "torch":
        import torch

        with torch.no_grad():
            return model(torch.from_numpy(spectrogram)).numpy()
    return np.asarray(model(spectrogram))


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_unbatched_spectrogram_gives_a_1d_waveform(backend):
    needs(backend)
    reference = np.load(FOLDER / "unbatched.npz")
    model = getattr(autoload, PREFIX[backend] + "SpeechT5HifiGan").from_pretrained(FOLDER)
    waveform = vocode(model, backend, reference["spectrogram"])
    assert waveform.shape == reference["waveform"].shape == (31,)
    np.testing.assert_allclose(waveform, reference["waveform"], atol=1e-4, rtol=0)


def test_flax_vocoder_runs_under_jit():
    needs("flax")
    import jax

    model = autoload.FlaxSpeechT5HifiGan.from_pretrained(FOLDER)
    spectrogram = np.load(FOLDER / "inputs.npz")["spectrogram"]
    compiled = jax.jit(lambda params, x: model.module.apply({"params": params}, x))
    np.testing.assert_allclose(np.asarray(compiled(model.params, spectrogram)),
                               np.load(FOLDER / "expected.npz")["output"], atol=1e-4, rtol=0)  # fmt: skip


def test_fold_takes_the_norm_over_the_axes_g_does_not_keep():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(3, 4, 5)).astype(np.float32)
    g_out = rng.normal(size=(3, 1, 1)).astype(np.float32)  # dim=0 (torch's default)
    expected = g_out * v / np.sqrt((v.astype(np.float64) ** 2).sum(axis=(1, 2), keepdims=True))
    np.testing.assert_allclose(fold(g_out, v), expected, rtol=1e-6)
    g_kernel = rng.normal(size=(1, 1, 5)).astype(np.float32)  # dim=2 (wav2vec2's positional conv)
    expected = g_kernel * v / np.sqrt((v.astype(np.float64) ** 2).sum(axis=(0, 1), keepdims=True))
    np.testing.assert_allclose(fold(g_kernel, v), expected, rtol=1e-6)


def test_torch_model_saved_with_weight_norm_reloads_folded(tmp_path):
    needs("torch")
    model = autoload.SpeechT5HifiGan.from_pretrained(FOLDER)
    model.apply_weight_norm()
    model.save_pretrained(tmp_path)
    from safetensors.numpy import load_file

    saved = load_file(tmp_path / "model.safetensors")
    assert "conv_pre.parametrizations.weight.original0" in saved and "conv_pre.weight" not in saved
    reloaded, info = autoload.SpeechT5HifiGan.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    spectrogram = np.load(FOLDER / "inputs.npz")["spectrogram"]
    np.testing.assert_allclose(vocode(reloaded, "torch", spectrogram), np.load(FOLDER / "expected.npz")["output"],
                               atol=1e-4, rtol=0)  # fmt: skip


def test_no_auto_class_builds_the_vocoder_and_bad_sizes_are_refused():
    """As in transformers 4.57.6, whose Auto mappings do not list hifigan: the class loads it by name."""
    needs("torch")
    with pytest.raises(ValueError, match="SpeechT5HifiGanConfig for AutoModel"):
        autoload.AutoModel.from_pretrained(FOLDER)
    config = autoload.SpeechT5HifiGanConfig(upsample_rates=[2, 2], upsample_kernel_sizes=[4])
    with pytest.raises(ValueError, match="upsample_kernel_sizes"):
        autoload.SpeechT5HifiGan(config)
    config = autoload.SpeechT5HifiGanConfig(upsample_rates=[4], upsample_kernel_sizes=[2])
    with pytest.raises(ValueError, match="at least its rate"):
        autoload.SpeechT5HifiGan(config)


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_from_config_initialises_like_transformers(backend):
    """Convolution weights ~ N(0, initializer_range) and zero biases in every framework; mean 0, scale 1."""
    needs(backend)
    config = autoload.SpeechT5HifiGanConfig(model_in_dim=8, upsample_initial_channel=32, upsample_rates=[2],
                                            upsample_kernel_sizes=[4], resblock_kernel_sizes=[3],
                                            resblock_dilation_sizes=[[1, 2]], initializer_range=0.05)  # fmt: skip
    model = getattr(autoload, PREFIX[backend] + "SpeechT5HifiGan").from_config(config)
    if backend == "torch":
        state = {name: tensor.detach().numpy() for name, tensor in model.state_dict().items()}
    elif backend == "tf":
        state = {model.canonical_name(v.path): v.numpy() for v in model.weights}
    else:
        from autoload.convert.flax import flax_to_canonical_state

        state = flax_to_canonical_state(model.params)
    np.testing.assert_array_equal(state["mean"], np.zeros(8))
    np.testing.assert_array_equal(state["scale"], np.ones(8))
    for name in ("conv_pre", "upsampler.0", "resblocks.0.convs1.1", "resblocks.0.convs2.0"):
        assert 0.04 < state[f"{name}.weight"].std() < 0.06, (name, state[f"{name}.weight"].std())
        np.testing.assert_array_equal(state[f"{name}.bias"], 0)


def test_tf_vocoder_exports_a_saved_model_for_any_frame_count(tmp_path):
    needs("tf")
    import tensorflow as tf

    autoload.TFSpeechT5HifiGan.from_pretrained(FOLDER).export(tmp_path / "served")
    serve = tf.saved_model.load(str(tmp_path / "served")).signatures["serving_default"]
    unbatched = np.load(FOLDER / "unbatched.npz")
    cases = [(np.load(FOLDER / "inputs.npz")["spectrogram"], np.load(FOLDER / "expected.npz")["output"]),
             (unbatched["spectrogram"][None], unbatched["waveform"][None])]  # fmt: skip
    for spectrogram, waveform in cases:
        served = serve(spectrogram=tf.constant(spectrogram))["waveform"].numpy()
        np.testing.assert_allclose(served, waveform, atol=1e-4, rtol=0)


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_checkpoint_without_normalisation_buffers_divides_by_one(backend, tmp_path):
    needs(backend)
    import shutil

    from safetensors.numpy import load_file, save_file

    shutil.copy(FOLDER / "config.json", tmp_path / "config.json")
    state = {k: v for k, v in load_file(FOLDER / "model.safetensors").items() if k not in ("mean", "scale")}
    save_file(state, tmp_path / "model.safetensors", metadata={"format": "pt"})
    model, info = getattr(autoload, PREFIX[backend] + "SpeechT5HifiGan").from_pretrained(tmp_path,
                                                                                         output_loading_info=True)
    assert sorted(info["missing_keys"]) == ["mean", "scale"]
    spectrogram = np.load(FOLDER / "inputs.npz")["spectrogram"]
    reference = autoload.SpeechT5HifiGanConfig.from_pretrained(FOLDER)
    reference.normalize_before = False  # mean 0 and scale 1 leave the spectrogram as it is
    plain = getattr(autoload, PREFIX[backend] + "SpeechT5HifiGan").from_pretrained(tmp_path, config=reference)
    np.testing.assert_allclose(vocode(model, backend, spectrogram), vocode(plain, backend, spectrogram), atol=1e-6)
