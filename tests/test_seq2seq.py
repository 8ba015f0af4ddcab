"""Encoder-decoder specifics in every framework: tokenizer -> generate() -> decode as transformers 4.57.6 does it
for Marian and mBART-50 checkpoints, cached decoding equal to a full forward pass, attentions, and the config
fields that are refused clearly."""

import importlib.util
import json
import shutil

import numpy as np
import pytest
from conftest import FIXTURES, MODELS

import autoload
from autoload import AutoConfig, AutoTokenizer
from autoload.families import auto_class_name

FRAMEWORK = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}
BACKENDS = ["torch", "tf", "flax"]


def needs(backend: str) -> None:
    if importlib.util.find_spec(FRAMEWORK[backend]) is None:
        pytest.skip(f"{FRAMEWORK[backend]} is not installed")


def tensors(backend: str, arrays: dict) -> dict:
    if backend == "torch":
        import torch

        return {k: torch.from_numpy(np.asarray(v)) for k, v in arrays.items()}
    return {k: np.asarray(v) for k, v in arrays.items()}


def checkpoint_folder(name: str, tmp_path):
    """A Hub-like checkpoint: the model files of tests/fixtures/seq2seq_e2e/<name> beside its tokenizer's files."""
    source = FIXTURES / "seq2seq_e2e" / name
    reference = json.loads((source / "e2e.json").read_text())
    folder = tmp_path / name
    shutil.copytree(FIXTURES / "tokenizers" / reference["tokenizer"], folder, ignore=shutil.ignore_patterns("cases.json"))
    for file in ("config.json", "model.safetensors", "generation_config.json"):
        shutil.copy(source / file, folder / file)
    return folder, reference


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["marian", "mbart50"])
def test_tokenize_generate_decode_as_transformers(name, backend, tmp_path):
    needs(backend)
    folder, reference = checkpoint_folder(name, tmp_path)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    encoded = tokenizer(reference["texts"], return_tensors="np", **reference["call"])
    assert encoded["input_ids"].tolist() == reference["input_ids"]
    model = getattr(autoload, auto_class_name("MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM", backend)).from_pretrained(folder)
    options = {k: tokenizer.convert_tokens_to_ids(v) if isinstance(v, str) else v
               for k, v in reference["generate_kwargs"].items()}  # fmt: skip
    sequences = np.asarray(model.generate(**tensors(backend, dict(encoded)), **options))
    assert sequences.tolist() == reference["sequences"]
    assert tokenizer.batch_decode(sequences, skip_special_tokens=True) == reference["decoded"]


SEQ2SEQ = ["bart/BartForConditionalGeneration", "mbart/MBartForConditionalGeneration", "marian/MarianMTModel",
           "pegasus/PegasusForConditionalGeneration", "mt5/MT5ForConditionalGeneration",
           "t5/T5ForConditionalGeneration"]  # fmt: skip
# TF and Flax take one of each kind (learned positions with an offset, fixed sinusoids, T5's relative bias).
CACHE_CASES = [(folder, "torch") for folder in SEQ2SEQ] + [
    (folder, backend) for backend in ("tf", "flax") for folder in SEQ2SEQ[1:3] + SEQ2SEQ[4:5]
]


def call(model, backend, **inputs):
    if backend == "torch":
        import torch

        with torch.no_grad():
            return model(**tensors(backend, {k: v for k, v in inputs.items() if isinstance(v, np.ndarray)}),
                         **{k: v for k, v in inputs.items() if not isinstance(v, np.ndarray)})  # fmt: skip
    return model(**inputs)


@pytest.mark.parametrize("folder,backend", CACHE_CASES)
def test_cached_decoding_matches_the_full_forward_pass(folder, backend):
    needs(backend)
    model = getattr(autoload, auto_class_name("MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM", backend)).from_pretrained(MODELS / folder)
    source = np.array([[5, 17, 3, 44, 9, 12], [7, 8, 9, 1, 1, 1]])
    mask = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]])
    target = np.array([[2, 9, 12, 30, 7], [2, 40, 41, 42, 43]])
    full = np.asarray(call(model, backend, input_ids=source, attention_mask=mask, decoder_input_ids=target,
                           use_cache=False).logits)  # fmt: skip
    first = call(model, backend, input_ids=source, attention_mask=mask, decoder_input_ids=target[:, :2], use_cache=True)
    logits, past = [np.asarray(first.logits)], first.past_key_values
    encoder = (first.encoder_last_hidden_state,)
    for i in range(2, target.shape[1]):
        step = call(model, backend, attention_mask=mask, decoder_input_ids=target[:, i : i + 1], encoder_outputs=encoder,
                    past_key_values=past, use_cache=True)  # fmt: skip
        logits.append(np.asarray(step.logits))
        past = step.past_key_values
    np.testing.assert_allclose(np.concatenate(logits, axis=1), full, atol=1e-4)


ATTENTION_CASES = [(folder, "torch") for folder in ("mbart/MBartModel", "marian/MarianModel", "t5/T5Model",
                                                   "whisper/WhisperModel")] + [
    (folder, backend) for backend in ("tf", "flax") for folder in ("mbart/MBartModel", "t5/T5Model")
]  # fmt: skip


@pytest.mark.parametrize("folder,backend", ATTENTION_CASES)
def test_attentions_have_one_map_per_layer_and_rows_sum_to_one(folder, backend):
    needs(backend)
    from conftest import read_fixture

    _, inputs, expected = read_fixture(MODELS / folder)
    model = getattr(autoload, auto_class_name("MODEL", backend)).from_pretrained(MODELS / folder)
    output = call(model, backend, **inputs, output_attentions=True)
    config = model.config
    layers = getattr(config, "encoder_layers", None) or config.num_layers
    for field in ("encoder_attentions", "decoder_attentions", "cross_attentions"):
        maps = [np.asarray(m) for m in output[field]]
        assert len(maps) == (layers if field == "encoder_attentions" else
                             getattr(config, "decoder_layers", None) or config.num_decoder_layers)  # fmt: skip
        np.testing.assert_allclose(maps[0].sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.asarray(output.last_hidden_state), expected["last_hidden_state"], atol=1e-4)


@pytest.mark.parametrize("model_type,fields,message", [
    ("bart", {"tie_encoder_decoder": True}, "tie_encoder_decoder"),
    ("t5", {"tie_encoder_decoder": True}, "tie_encoder_decoder"),
    ("pegasus", {"activation_function": "gelu_10"}, "activation_function 'gelu_10'"),
    ("mt5", {"feed_forward_proj": "gated-softplus"}, "softplus"),
    ("marian", {"d_model": 10, "encoder_attention_heads": 4}, "not a multiple of the head count"),
])  # fmt: skip
def test_unsupported_config_fields_are_refused_when_the_config_is_built(model_type, fields, message):
    with pytest.raises(ValueError, match=message):
        AutoConfig.for_model(model_type, **fields)


def test_marian_sinusoidal_table_is_computed_not_read():
    """Marian's Hub checkpoints and the ones transformers' MarianModel writes hold the fixed position table;
    it is the computed one, so loading ignores it and nothing is reported unused."""
    torch = pytest.importorskip("torch")
    from safetensors.numpy import load_file

    from autoload.seq2seq import sinusoidal_positions

    stored = load_file(MODELS / "marian/MarianModel/model.safetensors")["encoder.embed_positions.weight"]
    np.testing.assert_allclose(sinusoidal_positions(*stored.shape), stored, atol=1e-6)
    model, info = autoload.AutoModel.from_pretrained(MODELS / "marian/MarianModel", output_loading_info=True)
    assert info["unexpected_keys"] == [] and info["missing_keys"] == []
    assert torch.equal(model.encoder.embed_positions.table, torch.from_numpy(stored))


@pytest.mark.parametrize("backend", BACKENDS)
def test_marian_with_separate_vocabularies(backend, tmp_path):
    """share_encoder_decoder_embeddings=False: encoder and decoder keep their own embeddings and the LM head
    spans the target vocabulary (decoder_vocab_size)."""
    needs(backend)
    pytest.importorskip("torch")
    config = AutoConfig.for_model("marian", vocab_size=40, decoder_vocab_size=30, share_encoder_decoder_embeddings=False,
                                  pad_token_id=29, decoder_start_token_id=29, eos_token_id=0, forced_eos_token_id=0,
                                  d_model=8, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                                  decoder_attention_heads=2, encoder_ffn_dim=8, decoder_ffn_dim=8,
                                  max_position_embeddings=16, tie_word_embeddings=False,
                                  architectures=["MarianMTModel"])  # fmt: skip
    torch_model = autoload.AutoModelForSeq2SeqLM.from_config(config).eval()
    torch_model.save_pretrained(tmp_path)
    model = getattr(autoload, auto_class_name("MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM", backend)).from_pretrained(tmp_path)
    inputs = {"input_ids": np.array([[5, 39, 3]]), "decoder_input_ids": np.array([[29, 4]])}
    logits = np.asarray(call(model, backend, **inputs).logits)
    assert logits.shape == (1, 2, 30)
    np.testing.assert_allclose(logits, call(torch_model, "torch", **inputs).logits.numpy(), atol=1e-5)


def test_generation_settings_older_configs_keep_in_config_json_are_used():
    """Without generation_config.json, the beams, n-gram blocking and banned words a config.json carries (older
    BART-CNN and Marian checkpoints) apply, as transformers reads them from there too."""
    from autoload.generation import GenerationConfig

    config = AutoConfig.for_model("bart", num_beams=4, no_repeat_ngram_size=3, length_penalty=2.0, min_length=5,
                                  bad_words_ids=[[1]])  # fmt: skip
    generation = GenerationConfig.from_model_config(config)
    assert (generation.num_beams, generation.no_repeat_ngram_size, generation.length_penalty) == (4, 3, 2.0)
    assert (generation.min_length, generation.bad_words_ids, generation.forced_eos_token_id) == (5, [[1]], 2)
