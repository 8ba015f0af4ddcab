"""Speech encoders (Wav2Vec2, HuBERT, WavLM) in PyTorch and TensorFlow beyond the reference fixtures: heads that
refuse the adapter, bad audio, legacy weight-norm names, and every head's loss (CTC with each reduction and
zero_infinity, classification, frame classification, x-vector, pre-training) agreeing between the two. PyTorch's
losses match transformers 4.57.6 (checked with AUTOLOAD_PARITY config-space runs and by hand)."""

import shutil

import numpy as np
import pytest
from conftest import MODELS, assert_matches_expected, flatten_output, read_fixture

import autoload
from autoload import AutoConfig

torch = pytest.importorskip("torch")


def tensors(inputs: dict) -> dict:
    return {k: torch.from_numpy(v) for k, v in inputs.items()}


@pytest.mark.parametrize("auto_class", ["AutoModelForAudioClassification", "AutoModelForAudioFrameClassification"])
def test_classification_heads_refuse_the_adapter(auto_class):
    config = AutoConfig.for_model("wavlm", hidden_size=16, num_attention_heads=2, num_hidden_layers=1,
                                  conv_dim=[8], conv_kernel=[4], conv_stride=[2], add_adapter=True)  # fmt: skip
    with pytest.raises(ValueError, match="does not support the adapter"):
        getattr(autoload, auto_class).from_config(config)


def test_xvector_refuses_an_adapter_of_another_width():
    config = AutoConfig.for_model("wav2vec2", hidden_size=16, num_attention_heads=2, num_hidden_layers=1,
                                  conv_dim=[8], conv_kernel=[4], conv_stride=[2], add_adapter=True,
                                  output_hidden_size=12)  # fmt: skip
    with pytest.raises(ValueError, match="output_hidden_size=12"):
        autoload.AutoModelForAudioXVector.from_config(config)


def test_mask_time_indices_without_a_learned_mask_vector_is_refused():
    folder = MODELS / "hubert" / "HubertModel"
    _, inputs, _ = read_fixture(folder)
    model = autoload.AutoModel.from_pretrained(folder, mask_time_prob=0.0).eval()
    with pytest.raises(ValueError, match="masked_spec_embed"):
        model(**tensors(inputs), mask_time_indices=torch.ones(2, 14, dtype=torch.bool))


def test_short_or_stereo_audio_is_refused():
    model = autoload.AutoModel.from_pretrained(MODELS / "wavlm" / "WavLMModel").eval()
    with pytest.raises(ValueError, match=r"mono audio of shape \[batch, samples\]"):
        model(input_values=torch.zeros(1, 2, 4000))
    with pytest.raises(ValueError, match="needs at least 148"):
        model(input_values=torch.zeros(1, 147))


def test_legacy_weight_norm_names_load_everywhere(tmp_path):
    """Hub HuBERT / Wav2Vec2 checkpoints saved before torch's parametrizations name the positional conv's
    weight norm `weight_g` / `weight_v`; every framework loads them."""
    from safetensors.numpy import load_file, save_file

    source = MODELS / "hubert" / "HubertModel"
    state = load_file(source / "model.safetensors")
    legacy = {k.replace("parametrizations.weight.original0", "weight_g").replace("parametrizations.weight.original1",
                                                                                 "weight_v"): v
              for k, v in state.items()}  # fmt: skip
    assert any(k.endswith("weight_g") for k in legacy)
    for name in ("config.json", "inputs.npz", "expected.npz", "fixture.json"):
        shutil.copy(source / name, tmp_path / name)
    save_file(legacy, tmp_path / "model.safetensors", metadata={"format": "pt"})
    meta, inputs, expected = read_fixture(tmp_path)
    model, info = autoload.AutoModel.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    with torch.no_grad():
        assert_matches_expected(model.eval()(**tensors(inputs), **meta["call_kwargs"]), expected)
    pytest.importorskip("tensorflow")
    tf_model, info = autoload.TFAutoModel.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    assert_matches_expected(tf_model(**inputs, **meta["call_kwargs"]), expected)


# -- losses: PyTorch against TensorFlow -----------------------------------------------------------------------

CTC_LABELS = np.array([[3, 7, 7, 12, 5, 9], [4, 4, 11, -100, -100, -100]])
TOO_LONG = np.arange(1, 21).reshape(1, 20).repeat(2, axis=0) % 30 + 1  # more labels than frames: infinite loss


@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
@pytest.mark.parametrize("zero_infinity", [False, True])
@pytest.mark.parametrize("arch,name", [("hubert", "HubertForCTC"), ("wavlm", "WavLMForCTC")])
def test_ctc_loss_settings_agree(arch, name, reduction, zero_infinity):
    folder = MODELS / arch / name
    _, inputs, _ = read_fixture(folder)
    settings = {"ctc_loss_reduction": reduction, "ctc_zero_infinity": zero_infinity}
    model = autoload.AutoModelForCTC.from_pretrained(folder, **settings).eval()
    tf_model = autoload.TFAutoModelForCTC.from_pretrained(folder, **settings)
    for labels in (CTC_LABELS, TOO_LONG):
        with torch.no_grad():
            want = model(**tensors(inputs), labels=torch.from_numpy(labels)).loss.numpy()
        got = np.asarray(tf_model(**inputs, labels=labels).loss)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-4)  # inf where PyTorch gives inf
    assert np.isinf(want).any() != zero_infinity


@pytest.mark.parametrize("arch,name,auto_class,labels", [
    ("hubert", "HubertForSequenceClassification", "AutoModelForAudioClassification", np.array([1, 2])),
    ("wavlm", "WavLMForAudioFrameClassification", "AutoModelForAudioFrameClassification",
     np.eye(3, dtype=np.int64)[np.arange(28).reshape(2, 14) % 3]),
    ("wavlm", "WavLMForXVector", "AutoModelForAudioXVector", np.array([0, 2])),
])  # fmt: skip
def test_head_losses_agree(arch, name, auto_class, labels):
    folder = MODELS / arch / name
    _, inputs, _ = read_fixture(folder)
    with torch.no_grad():
        want = getattr(autoload, auto_class).from_pretrained(folder).eval()(**tensors(inputs),
                                                                            labels=torch.from_numpy(labels)).loss  # fmt: skip
    got = getattr(autoload, "TF" + auto_class).from_pretrained(folder)(**inputs, labels=labels).loss
    assert float(want) > 0
    np.testing.assert_allclose(float(got), float(want), rtol=1e-4)


def test_pretraining_loss_agrees():
    folder = MODELS / "wav2vec2" / "Wav2Vec2ForPreTraining"
    _, inputs, _ = read_fixture(folder)
    rng = np.random.default_rng(3)
    masked = rng.random((2, 14)) < 0.4
    masked[:, 0] = True
    # distractors from the same example, as transformers samples them: 100 (num_negatives) per step
    negatives = rng.integers(0, 14, (2, 14, 100)) + np.arange(2)[:, None, None] * 14
    model = autoload.AutoModelForPreTraining.from_pretrained(folder).eval()
    with torch.no_grad():
        want = model(**tensors(inputs), mask_time_indices=torch.from_numpy(masked),
                     sampled_negative_indices=torch.from_numpy(negatives))  # fmt: skip
    got = autoload.TFAutoModelForPreTraining.from_pretrained(folder)(**inputs, mask_time_indices=masked,
                                                                      sampled_negative_indices=negatives)  # fmt: skip
    for field in ("loss", "contrastive_loss", "diversity_loss"):
        assert np.isfinite(float(want[field]))
        np.testing.assert_allclose(float(got[field]), float(want[field]), rtol=1e-4, err_msg=field)


@pytest.mark.parametrize("arch,name", [("hubert", "HubertModel"), ("wavlm", "WavLMModel")])
def test_training_spec_augment_agrees_across_frameworks(arch, name):
    """While training, random time spans take the learned vector and random feature channels are zeroed (numpy's
    generator, as transformers draws them): from one seed every framework masks the same steps."""
    folder = MODELS / arch / name
    _, inputs, _ = read_fixture(folder)
    settings = dict(hidden_dropout=0.0, activation_dropout=0.0, attention_dropout=0.0, feat_proj_dropout=0.0,
                    layerdrop=0.0, mask_time_prob=0.5, mask_time_length=2, mask_feature_prob=0.3, mask_feature_length=3)  # fmt: skip
    model = autoload.AutoModel.from_pretrained(folder, **settings)
    with torch.no_grad():
        evaluated = model.eval()(**tensors(inputs)).last_hidden_state.numpy()
        np.random.seed(5)
        trained = model.train()(**tensors(inputs)).last_hidden_state.numpy()
    assert np.abs(trained - evaluated).max() > 1e-2
    tf_model = autoload.TFAutoModel.from_pretrained(folder, **settings)  # built before seeding: loading draws too
    np.random.seed(5)
    np.testing.assert_allclose(np.asarray(tf_model(**inputs, training=True).last_hidden_state), trained, atol=1e-4)
    pytest.importorskip("flax")
    flax_model = autoload.FlaxAutoModel.from_pretrained(folder, **settings)
    np.random.seed(5)
    np.testing.assert_allclose(np.asarray(flax_model(**inputs, train=True).last_hidden_state), trained, atol=1e-4)
    off = autoload.AutoModel.from_pretrained(folder, **settings, apply_spec_augment=False).train()
    with torch.no_grad():
        np.testing.assert_allclose(off(**tensors(inputs)).last_hidden_state.numpy(), evaluated, atol=1e-5)


def small_speech_model(model_type: str, auto_class: str, **fields):
    config = AutoConfig.for_model(model_type, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                  intermediate_size=20, conv_dim=[8, 8], conv_kernel=[5, 3], conv_stride=[3, 2],
                                  num_conv_pos_embeddings=6, num_conv_pos_embedding_groups=2, vocab_size=12,
                                  **fields)  # fmt: skip
    torch.manual_seed(0)
    model = getattr(autoload, auto_class).from_config(config).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.1)
        for name, buffer in model.named_buffers():
            if name.endswith("running_var"):
                buffer.uniform_(0.5, 1.5)
            elif name.endswith("running_mean"):
                buffer.normal_(0.0, 0.1)
    return model


@pytest.mark.parametrize("model_type,auto_class,fields", [
    ("hubert", "AutoModelForCTC", {"conv_pos_batch_norm": True, "feat_proj_layer_norm": False}),
    ("wavlm", "AutoModelForAudioXVector", {"num_buckets": 8, "max_bucket_distance": 12, "tdnn_dim": [8, 8],
                                           "tdnn_kernel": [3, 1], "tdnn_dilation": [1, 1], "xvector_output_dim": 6}),
    ("wav2vec2", "AutoModelForCTC", {"add_adapter": True, "output_hidden_size": 12, "num_adapter_layers": 2,
                                     "do_stable_layer_norm": True, "adapter_attn_dim": 4}),
])  # fmt: skip
def test_every_weight_format_crosses_frameworks(tmp_path, model_type, auto_class, fields):
    """PyTorch .bin -> TF (from_pt) -> tf_model.h5 -> PyTorch and Flax (from_tf); Flax -> flax_model.msgpack ->
    PyTorch and TF (from_flax): each load complete and every output the same."""
    pytest.importorskip("flax")
    model = small_speech_model(model_type, auto_class, **fields)
    rng = np.random.default_rng(0)
    inputs = {"input_values": rng.standard_normal((2, 700)).astype(np.float32),
              "attention_mask": (np.arange(700)[None] < np.array([[700], [520]])).astype(np.int64)}  # fmt: skip
    with torch.no_grad():
        want = model(**tensors(inputs), output_hidden_states=True)
    model.save_pretrained(tmp_path / "pt", safe_serialization=False)
    classes = {backend: getattr(autoload, prefix + auto_class) for backend, prefix in (("tf", "TF"), ("flax", "Flax"))}
    classes["torch"] = getattr(autoload, auto_class)

    def check(backend, folder, **flags):
        loaded, info = classes[backend].from_pretrained(folder, output_loading_info=True, **flags)
        assert info["missing_keys"] == [] and info["unexpected_keys"] == [], (backend, folder.name, info)
        if backend == "torch":
            with torch.no_grad():
                got = loaded.eval()(**tensors(inputs), output_hidden_states=True)
        else:
            got = loaded(**inputs, output_hidden_states=True)
        assert_matches_expected(got, flatten_output(want))
        return loaded

    tf_model = check("tf", tmp_path / "pt", from_pt=True)
    tf_model.save_pretrained(tmp_path / "tf")
    assert (tmp_path / "tf" / "tf_model.h5").is_file()
    check("torch", tmp_path / "tf", from_tf=True)
    flax_model = check("flax", tmp_path / "tf", from_tf=True)
    flax_model.save_pretrained(tmp_path / "flax")
    assert (tmp_path / "flax" / "flax_model.msgpack").is_file()
    check("torch", tmp_path / "flax", from_flax=True)
    check("tf", tmp_path / "flax", from_flax=True)
    check("flax", tmp_path / "pt", from_pt=True)



@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_transformers_flax_checkpoint_loads(backend):
    """flax_model.msgpack as transformers' FlaxWav2Vec2ForCTC writes it (layer-norm, stable variant: the only one
    its Flax classes support), against its PyTorch outputs (scripts/reference/speech_flax_msgpack.py)."""
    from conftest import FIXTURES

    folder = FIXTURES / "speech_preprocessing" / "wav2vec2_flax_ctc"
    inputs, expected = dict(np.load(folder / "inputs.npz")), dict(np.load(folder / "expected.npz"))
    if backend == "torch":
        model, info = autoload.AutoModelForCTC.from_pretrained(folder, from_flax=True, output_loading_info=True)
        with torch.no_grad():
            output = model.eval()(**tensors(inputs), output_hidden_states=True)
    else:
        pytest.importorskip("flax" if backend == "flax" else "tensorflow")
        auto = autoload.FlaxAutoModelForCTC if backend == "flax" else autoload.TFAutoModelForCTC
        model, info = auto.from_pretrained(folder, output_loading_info=True, **({"from_flax": True} if backend == "tf" else {}))
        output = model(**inputs, output_hidden_states=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == [], info
    assert_matches_expected(output, expected)


def test_freezing_the_feature_encoder():
    folder = MODELS / "wavlm" / "WavLMForCTC"
    model = autoload.AutoModelForCTC.from_pretrained(folder)
    model.freeze_feature_encoder()
    frozen = {name for name, p in model.named_parameters() if not p.requires_grad}
    assert frozen and all(".feature_extractor." in name for name in frozen)
    assert model.wavlm.feature_projection.projection.weight.requires_grad
    assert model._get_feat_extract_output_lengths(torch.tensor([1024, 600])).tolist() == [14, 8]
    model.freeze_base_model()
    assert [name for name, p in model.named_parameters() if p.requires_grad] == ["lm_head.weight", "lm_head.bias"]
    tf_model = autoload.TFAutoModelForCTC.from_pretrained(folder)
    before = len(tf_model.trainable_weights)
    tf_model.freeze_feature_encoder()
    assert len(tf_model.trainable_weights) == before - len(tf_model.wavlm.feature_extractor.weights) > 0
    jax = pytest.importorskip("jax")
    flax_model = autoload.FlaxAutoModelForCTC.from_pretrained(folder)
    _, inputs, _ = read_fixture(folder)

    def total(params):
        return flax_model(**inputs, params=params, freeze_feature_encoder=True).logits.sum()

    grads = jax.jit(jax.grad(total))(flax_model.params)["wavlm"]  # one compiled graph: much faster than eager
    assert np.abs(np.asarray(grads["feature_extractor"]["conv_layers"]["0"]["conv"]["kernel"])).max() == 0
    assert np.abs(np.asarray(grads["feature_projection"]["projection"]["kernel"])).max() > 0


@pytest.mark.parametrize("model_type", ["hubert", "wavlm"])
def test_hub_style_configs_run_alike_everywhere(tmp_path, model_type):
    from test_speech import HUB_STYLE

    from autoload.testing import assert_backends_agree

    config = AutoConfig.for_model(model_type, **{k: v for k, v in HUB_STYLE[model_type].items() if k != "model_type"})
    torch.manual_seed(0)
    model = autoload.AutoModelForCTC.from_config(config)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.1)
    model.save_pretrained(tmp_path)
    rng = np.random.default_rng(1)
    inputs = {"input_values": rng.standard_normal((2, 400)).astype(np.float32),
              "attention_mask": (np.arange(400)[None] < np.array([[400], [250]])).astype(np.int64)}  # fmt: skip
    assert_backends_agree(tmp_path, atol=1e-4, inputs=inputs)
