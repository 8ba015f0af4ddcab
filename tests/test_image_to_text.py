"""Image-to-text models made of whole models: VisionEncoderDecoder (config round trip, composing saved parts with
from_encoder_decoder_pretrained in every framework, the loss from labels). The fixture outputs and generate()
tokens themselves are checked by test_parity.py and test_generation.py."""

import importlib.util
import json

import numpy as np
import pytest
from conftest import MODELS, assert_matches_expected, read_fixture

import autoload

VED = MODELS / "vision-encoder-decoder" / "VisionEncoderDecoderModel"
FRAMEWORK = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}
CLASSES = {"torch": "VisionEncoderDecoderModel", "tf": "TFVisionEncoderDecoderModel",
           "flax": "FlaxVisionEncoderDecoderModel"}  # fmt: skip


def needs(backend: str) -> None:
    if importlib.util.find_spec(FRAMEWORK[backend]) is None:
        pytest.skip(f"{FRAMEWORK[backend]} is not installed")


def test_config_writes_what_transformers_wrote(tmp_path):
    config = autoload.AutoConfig.from_pretrained(VED)
    assert type(config).__name__ == "VisionEncoderDecoderConfig" and config.is_encoder_decoder
    assert (config.encoder.model_type, config.decoder.model_type) == ("vit", "gpt2")
    config.save_pretrained(tmp_path)
    written = json.loads((tmp_path / "config.json").read_text())
    reference = json.loads((VED / "config.json").read_text())
    assert written == reference


def test_config_needs_both_parts_and_a_cross_attending_decoder():
    from autoload.models.vision_encoder_decoder import VisionEncoderDecoderConfig

    with pytest.raises(ValueError, match="needs both"):
        VisionEncoderDecoderConfig(encoder={"model_type": "vit"})
    encoder, decoder = autoload.AutoConfig.for_model("vit"), autoload.AutoConfig.for_model("gpt2")
    with pytest.raises(ValueError, match="add_cross_attention"):
        VisionEncoderDecoderConfig(encoder=encoder, decoder=decoder).check_parts()
    joined = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    assert joined.decoder.is_decoder and joined.decoder.add_cross_attention and not decoder.is_decoder
    assert joined.projects_encoder is False  # both 768 wide
    joined.decoder.n_embd = 24
    assert joined.projects_encoder is True


@pytest.fixture(scope="module")
def saved_parts(tmp_path_factory):
    """The fixture's encoder (ViTModel) and decoder (GPT2LMHeadModel with cross-attention) saved on their own."""
    pytest.importorskip("torch")
    model = autoload.AutoModelForVision2Seq.from_pretrained(VED)
    folder = tmp_path_factory.mktemp("parts")
    model.encoder.save_pretrained(folder / "encoder")
    model.decoder.save_pretrained(folder / "decoder")
    return folder


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_from_encoder_decoder_pretrained_composes_saved_parts(saved_parts, backend):
    needs(backend)
    module = __import__(f"autoload.backends.{backend}.models.vision_encoder_decoder", fromlist=["x"])
    cls = getattr(module, CLASSES[backend])
    model = cls.from_encoder_decoder_pretrained(saved_parts / "encoder", saved_parts / "decoder", pad_token_id=0)
    assert model.config.decoder.add_cross_attention and model.config.tie_word_embeddings is False
    meta, inputs, expected = read_fixture(VED)
    if backend == "torch":
        import torch

        model.eval()
        with torch.no_grad():
            output = model(**{k: torch.from_numpy(v) for k, v in inputs.items()}, output_hidden_states=True)
    else:
        output = model(**inputs, output_hidden_states=True)
    assert_matches_expected(output, expected, meta["atol"])


@pytest.mark.parametrize("backend", ["torch", "tf"])
def test_loss_from_labels(backend):
    """labels alone: decoder inputs are the labels shifted right after decoder_start_token_id, and the loss is
    transformers' default (causal LM: position t predicts label t+1, padding labels -100 ignored)."""
    needs(backend)
    model = getattr(autoload, "TFAutoModelForVision2Seq" if backend == "tf" else "AutoModelForVision2Seq").from_pretrained(VED)
    _, inputs, _ = read_fixture(VED)
    labels = np.where(inputs["decoder_attention_mask"] == 1, np.roll(inputs["decoder_input_ids"], -1, axis=1), -100)
    labels[0, -1] = 7
    shifted = np.concatenate([np.full((2, 1), 98), np.where(labels == -100, 0, labels)[:, :-1]], axis=1)
    if backend == "torch":
        import torch

        model.eval()
        with torch.no_grad():
            given = model(pixel_values=torch.from_numpy(inputs["pixel_values"]), labels=torch.from_numpy(labels))
            direct = model(pixel_values=torch.from_numpy(inputs["pixel_values"]),
                           decoder_input_ids=torch.from_numpy(shifted))  # fmt: skip
        loss, logits = given.loss.item(), direct.logits.numpy()
    else:
        given = model(pixel_values=inputs["pixel_values"], labels=labels)
        direct = model(pixel_values=inputs["pixel_values"], decoder_input_ids=shifted)
        loss, logits = float(np.mean(given.loss)), np.asarray(direct.logits)
    np.testing.assert_allclose(np.asarray(given.logits), logits, atol=1e-5)
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    targets = labels[:, 1:]
    keep = targets != -100
    picked = np.take_along_axis(log_probs[:, :-1], np.where(keep, targets, 0)[..., None], axis=-1)[..., 0]
    np.testing.assert_allclose(loss, -picked[keep].mean(), rtol=1e-5)


LLAVA = MODELS / "llava" / "LlavaForConditionalGeneration"
LLAVA_CLASSES = {"torch": "AutoModelForImageTextToText", "tf": "TFAutoModelForVision2Seq",
                 "flax": "FlaxAutoModelForVision2Seq"}  # fmt: skip


def test_llava_config_writes_what_transformers_wrote(tmp_path):
    config = autoload.AutoConfig.from_pretrained(LLAVA)
    assert (config.vision_config.model_type, config.text_config.model_type) == ("clip_vision_model", "llama")
    assert config.image_token_id == config.image_token_index == 98
    config.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text()) == json.loads((LLAVA / "config.json").read_text())
    with pytest.raises(ValueError, match="'default', 'full'"):
        type(config)(vision_feature_select_strategy="cls")
    with pytest.raises(ValueError, match="vision_feature_layer"):
        type(config)(vision_feature_layer="last").llava_options()


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_llava_needs_one_image_token_per_feature(backend):
    """16 features per image: a prompt with 15 image tokens is refused, as transformers refuses it."""
    needs(backend)
    model = getattr(autoload, LLAVA_CLASSES[backend]).from_pretrained(LLAVA)
    _, inputs, _ = read_fixture(LLAVA)
    ids = inputs["input_ids"][:1].copy()
    ids[0, 4] = 5
    pixels = inputs["pixel_values"][:1]
    if backend == "torch":
        import torch

        ids, pixels = torch.from_numpy(ids), torch.from_numpy(pixels)
    with pytest.raises(ValueError, match="tokens: 15, features 16"):
        model(input_ids=ids, pixel_values=pixels)


BLIP = MODELS / "blip"


def test_blip_config_writes_what_transformers_wrote(tmp_path):
    for head in ("BlipModel", "BlipForConditionalGeneration", "BlipForQuestionAnswering"):
        config = autoload.AutoConfig.from_pretrained(BLIP / head)
        assert config.text_config.encoder_hidden_size == config.vision_config.hidden_size
        config.save_pretrained(tmp_path / head)
        assert json.loads((tmp_path / head / "config.json").read_text()) == json.loads(
            (BLIP / head / "config.json").read_text())


def test_blip_refuses_what_it_does_not_implement():
    from autoload.models.blip import BlipConfig

    with pytest.raises(NotImplementedError, match="position_embedding_type"):
        BlipConfig(text_config={"position_embedding_type": "relative_key"}).blip_options()
    with pytest.raises(ValueError, match="num_attention_heads"):
        BlipConfig(vision_config={"hidden_size": 30, "num_attention_heads": 4}).blip_options()


LLAVA_VARIANT = MODELS.parent / "multimodal_extras" / "llava_variant"


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_llava_joins_feature_layers_and_keeps_the_class_token(backend):
    """vision_feature_layer=[-3, -1] with the 'full' strategy (scripts/reference/llava_variants.py): the projector
    sees both layers' states side by side, class token included, as transformers computes it."""
    needs(backend)
    model = getattr(autoload, LLAVA_CLASSES[backend]).from_pretrained(LLAVA_VARIANT)
    inputs = dict(np.load(LLAVA_VARIANT / "inputs.npz"))
    expected = dict(np.load(LLAVA_VARIANT / "expected.npz"))
    if backend == "torch":
        import torch

        model.eval()
        with torch.no_grad():
            output = model(**{k: torch.from_numpy(v) for k, v in inputs.items()})
    else:
        output = model(**inputs)
    for name, want in expected.items():
        np.testing.assert_allclose(np.asarray(output[name]), want, atol=1e-4, rtol=0, err_msg=name)


VED_DEIT_BERT = MODELS.parent / "multimodal_extras" / "ved_deit_bert"


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_vision_encoder_decoder_projects_a_narrower_encoder(backend):
    """A DeiT encoder 16 wide and a BERT decoder 24 wide (scripts/reference/vision_encoder_decoder_variants.py):
    enc_to_dec_proj maps the image states to the decoder's width, as transformers computes it."""
    needs(backend)
    model, info = getattr(autoload, LLAVA_CLASSES[backend]).from_pretrained(VED_DEIT_BERT, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == [], info
    inputs = dict(np.load(VED_DEIT_BERT / "inputs.npz"))
    expected = dict(np.load(VED_DEIT_BERT / "expected.npz"))
    if backend == "torch":
        import torch

        model.eval()
        with torch.no_grad():
            output = model(**{k: torch.from_numpy(v) for k, v in inputs.items()})
    else:
        output = model(**inputs)
    for name, want in expected.items():
        np.testing.assert_allclose(np.asarray(output[name]), want, atol=1e-4, rtol=0, err_msg=name)


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_vision_encoder_decoder_generates_with_a_decoder_without_cache(backend):
    """BERT as the decoder has no key/value cache in autoload: each step feeds it every token so far, and the
    greedy tokens are transformers' (which caches)."""
    needs(backend)
    model = getattr(autoload, LLAVA_CLASSES[backend]).from_pretrained(VED_DEIT_BERT)
    pixels = np.load(VED_DEIT_BERT / "inputs.npz")["pixel_values"]
    if backend == "torch":
        import torch

        pixels = torch.from_numpy(pixels)
    tokens = model.generate(pixel_values=pixels, max_new_tokens=5, min_new_tokens=5, do_sample=False, num_beams=1)
    assert np.asarray(tokens).tolist() == np.load(VED_DEIT_BERT / "greedy_tokens.npy").tolist()


@pytest.mark.parametrize("fixture", ["vision-encoder-decoder/VisionEncoderDecoderModel",
                                     "llava/LlavaForConditionalGeneration"])  # fmt: skip
def test_tf_composite_h5_round_trip(fixture, tmp_path):
    """A composite's tf_model.h5 (its parts' variables keep their base prefixes) loads back in TF and in PyTorch."""
    needs("tf")
    needs("torch")
    import torch

    folder = MODELS / fixture
    _, inputs, expected = read_fixture(folder)
    autoload.TFAutoModelForVision2Seq.from_pretrained(folder).save_pretrained(tmp_path)
    back = autoload.TFAutoModelForVision2Seq.from_pretrained(tmp_path)
    model, info = autoload.AutoModelForVision2Seq.from_pretrained(tmp_path, from_tf=True, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == [], info
    with torch.no_grad():
        torch_logits = model.eval()(**{k: torch.from_numpy(v) for k, v in inputs.items()}).logits.numpy()
    for logits in (np.asarray(back(**inputs).logits), torch_logits):
        np.testing.assert_allclose(logits, expected["logits"], atol=1e-4, rtol=0)
