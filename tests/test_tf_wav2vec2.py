"""Wav2Vec2 in TF beyond the reference fixtures: the other feat_extract_norm / stable-layer-norm variant against
PyTorch, padding, bad inputs, the transformers h5 layout, and training with CTC labels."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
torch = pytest.importorskip("torch")

from conftest import MODELS, read_fixture  # noqa: E402

import autoload  # noqa: E402
from autoload.models.wav2vec2 import Wav2Vec2Config  # noqa: E402
from autoload.testing import assert_backends_agree  # noqa: E402

WAV2VEC2 = MODELS / "wav2vec2"


def small_config(**overrides) -> Wav2Vec2Config:
    settings = dict(
        hidden_size=24, num_hidden_layers=2, num_attention_heads=4, intermediate_size=40, conv_dim=(16, 24, 24),
        conv_stride=(4, 3, 2), conv_kernel=(8, 5, 3), conv_bias=True, num_conv_pos_embeddings=15,
        num_conv_pos_embedding_groups=4, feat_extract_norm="layer", do_stable_layer_norm=True,
        use_weighted_layer_sum=True, classifier_proj_size=8, num_labels=3, tdnn_dim=(16, 16, 20),
        tdnn_kernel=(3, 3, 1), tdnn_dilation=(1, 2, 1), xvector_output_dim=12, vocab_size=20,
    )  # fmt: skip
    settings.update(overrides)
    return Wav2Vec2Config(**settings)


def save_torch_model(folder, auto_class: str, config: Wav2Vec2Config, seed: int = 0, noise: float = 0.3):
    """A randomly initialised PyTorch model, every tensor nudged off its init values, saved as safetensors."""
    torch.manual_seed(seed)
    model = getattr(autoload, auto_class).from_config(config).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * noise)
    model.save_pretrained(folder)
    return model


def audio(batch=2, samples=1500, valid=(1500, 1100), seed=0):
    rng = np.random.default_rng(seed)
    values = rng.standard_normal((batch, samples), dtype=np.float32)
    mask = (np.arange(samples)[None, :] < np.array(valid)[:, None]).astype(np.int64)
    return {"input_values": values * mask, "attention_mask": mask}


@pytest.fixture(scope="module")
def layer_norm_classifier(tmp_path_factory):
    folder = tmp_path_factory.mktemp("w2v2-layer")
    save_torch_model(folder, "AutoModelForAudioClassification", small_config())
    return folder


def test_layer_norm_stable_variant_matches_torch(layer_norm_classifier):
    assert_backends_agree(layer_norm_classifier, backends=("torch", "tf"), atol=1e-4, inputs=audio())


@pytest.mark.parametrize("norm,stable", [("group", True), ("layer", False)])
def test_xvector_in_other_variants_matches_torch(tmp_path, norm, stable):
    config = small_config(feat_extract_norm=norm, do_stable_layer_norm=stable, num_conv_pos_embeddings=8)
    save_torch_model(tmp_path, "AutoModelForAudioXVector", config, seed=1)
    _, info = autoload.TFAutoModelForAudioXVector.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == [], info
    assert_backends_agree(tmp_path, backends=("torch", "tf"), atol=1e-4, inputs=audio())


def test_padded_batch_matches_the_unpadded_example(layer_norm_classifier):
    model = autoload.TFAutoModelForAudioClassification.from_pretrained(layer_norm_classifier)
    batch = audio()
    padded = model(**batch, output_hidden_states=True)
    alone = model(input_values=batch["input_values"][1:, :1100], output_hidden_states=True)
    frames = alone.hidden_states[-1].shape[1]
    assert frames < padded.hidden_states[-1].shape[1]
    np.testing.assert_allclose(padded.hidden_states[-1][1, :frames], alone.hidden_states[-1][0], atol=1e-5)
    np.testing.assert_allclose(padded.logits[1], alone.logits[0], atol=1e-5)
    unmasked = model(input_values=batch["input_values"])  # the padding counts as audio without the mask
    assert np.abs(unmasked.logits[1] - alone.logits[0]).max() > 1e-4


def test_bad_audio_input_is_refused_clearly():
    model = autoload.TFAutoModel.from_pretrained(WAV2VEC2 / "Wav2Vec2Model")
    with pytest.raises(ValueError, match=r"mono audio of shape \[batch, samples\]"):
        model(input_values=np.zeros((1, 2, 1024), np.float32))
    with pytest.raises(ValueError, match="needs at least 148"):
        model(input_values=np.zeros((1, 100), np.float32))
    with pytest.raises(ValueError, match="needs at least"):
        model(input_values=np.zeros((2, 0), np.float32))


def test_saved_h5_matches_transformers_layout(tmp_path):
    import h5py

    model = autoload.TFAutoModel.from_pretrained(WAV2VEC2 / "formats/tf_h5")
    model.save_pretrained(tmp_path)
    with h5py.File(tmp_path / "tf_model.h5") as ours, h5py.File(WAV2VEC2 / "formats/tf_h5/tf_model.h5") as theirs:
        names = lambda f: sorted(str(n) for n in f["wav2vec2"].attrs["weight_names"])  # noqa: E731
        assert names(ours) == names(theirs)
        for name in names(theirs):
            assert ours["wav2vec2"][name].shape == theirs["wav2vec2"][name].shape, name
    torch_model = autoload.AutoModel.from_pretrained(tmp_path, from_tf=True)
    meta, inputs, expected = read_fixture(WAV2VEC2 / "formats/tf_h5")
    with torch.no_grad():
        hidden = torch_model(**{k: torch.from_numpy(v) for k, v in inputs.items()}).last_hidden_state.numpy()
    np.testing.assert_allclose(hidden, expected["last_hidden_state"], atol=1e-4)


CTC_LABELS = np.array([[3, 7, 7, 12, 5, 9], [4, 4, 11, -100, -100, -100]])


def test_ctc_loss_matches_torch_and_fit_lowers_it():
    folder = WAV2VEC2 / "Wav2Vec2ForCTC"
    _, inputs, _ = read_fixture(folder)
    reference = autoload.AutoModelForCTC.from_pretrained(folder).eval()
    with torch.no_grad():
        want = reference(**{k: torch.from_numpy(v) for k, v in inputs.items()},
                         labels=torch.from_numpy(CTC_LABELS)).loss.item()  # fmt: skip
    model = autoload.TFAutoModelForCTC.from_pretrained(folder)
    batch = {**inputs, "labels": CTC_LABELS}
    before = float(model(batch).loss)
    np.testing.assert_allclose(before, want, rtol=1e-4)
    with pytest.raises(ValueError, match="vocab_size"):
        model({**inputs, "labels": np.full((2, 3), 40)})

    import keras

    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(batch, epochs=4, batch_size=2, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert float(model(batch).loss) < before


def test_pretraining_with_masked_time_steps_matches_torch():
    folder = WAV2VEC2 / "Wav2Vec2ForPreTraining"
    _, inputs, _ = read_fixture(folder)
    masked = np.random.default_rng(0).random((2, 14)) < 0.4
    reference = autoload.AutoModelForPreTraining.from_pretrained(folder).eval()
    with torch.no_grad():
        tensors = {k: torch.from_numpy(v) for k, v in inputs.items()}
        want = reference(**tensors, mask_time_indices=torch.from_numpy(masked))
    got = autoload.TFAutoModelForPreTraining.from_pretrained(folder)(**inputs, mask_time_indices=masked)
    for key in ("projected_states", "projected_quantized_states", "codevector_perplexity"):
        np.testing.assert_allclose(np.asarray(got[key]), want[key].numpy(), atol=1e-4, err_msg=key)


def test_xvector_runs_under_xla():
    folder = WAV2VEC2 / "Wav2Vec2ForXVector"
    _, inputs, expected = read_fixture(folder)
    model = autoload.TFAutoModelForAudioXVector.from_pretrained(folder)
    compiled = tf.function(lambda batch: model(batch).embeddings, jit_compile=True)
    got = compiled({k: tf.constant(v) for k, v in inputs.items()}).numpy()
    np.testing.assert_allclose(got, expected["embeddings"], atol=1e-4)



@pytest.mark.parametrize("batch_norm", [False, True])  # wav2vec2's weight-normed conv; HuBERT's BatchNorm + conv
def test_grouped_positional_conv_trains_on_cpu(batch_norm):
    """TensorFlow has no CPU gradient for a grouped convolution (Keras 3.15 no longer fits under XLA on CPU):
    while training each group is convolved alone, giving what the grouped op gives."""
    from autoload.backends.tf.blocks.speech import grouped_conv1d

    config = autoload.AutoConfig.from_pretrained(MODELS / "hubert" / "HubertModel")
    config.conv_pos_batch_norm = batch_norm
    layer = autoload.TFAutoModel.from_config(config).hubert.encoder.pos_conv_embed
    hidden = tf.constant(np.random.default_rng(0).standard_normal((2, 9, config.hidden_size)), tf.float32)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(hidden, training=True) ** 2)
    gradients = tape.gradient(loss, layer.conv.trainable_weights)
    assert len(gradients) >= 2 and all(g is not None for g in gradients)
    kernel = tf.constant(np.random.default_rng(1).standard_normal((5, config.hidden_size // 2, config.hidden_size)),
                         tf.float32)  # fmt: skip
    np.testing.assert_allclose(grouped_conv1d(hidden, kernel, 2, training=True).numpy(),
                               grouped_conv1d(hidden, kernel, 2, training=False).numpy(), atol=1e-4)  # fmt: skip
