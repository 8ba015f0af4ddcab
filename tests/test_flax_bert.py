"""Flax BERT: every head and weight format against transformers' outputs, tied and untied decoders,
prefix alignment, computation dtype, causal masking, random init, and saving for other frameworks."""

import json
import shutil

import numpy as np
import pytest

jax = pytest.importorskip("jax")
pytest.importorskip("flax")

from conftest import MODELS, assert_matches_expected, read_fixture  # noqa: E402

import autoload  # noqa: E402
from autoload.families import auto_class_name  # noqa: E402

BERT = MODELS / "bert"
HEADS = sorted(p.name for p in BERT.iterdir() if p.is_dir() and p.name != "formats")
FORMAT_FLAGS = {"pt_bin": {"from_pt": True}, "tf_h5": {"from_tf": True}, "flax_msgpack": {}, "sharded_safetensors": {},
                "sharded_bin": {"from_pt": True}}  # fmt: skip


def _load(folder, **kwargs):
    meta = json.loads((folder / "fixture.json").read_text())
    return getattr(autoload, auto_class_name(meta["family"], "flax")).from_pretrained(folder, **kwargs)


@pytest.mark.parametrize("head", HEADS)
def test_head_fixture_matches_transformers(head):
    meta, inputs, expected = read_fixture(BERT / head)
    model, info = _load(BERT / head, output_loading_info=True)
    assert type(model).__name__ in (meta["flax_class"], "Flax" + meta["pt_class"])
    assert not any(info.values()), info
    assert_matches_expected(model(**inputs, **meta["call_kwargs"]), expected, meta["atol"])


@pytest.mark.parametrize("fmt", sorted(FORMAT_FLAGS))
def test_weight_format_matches_transformers(fmt):
    meta, inputs, expected = read_fixture(BERT / "formats" / fmt)
    model, info = autoload.FlaxAutoModel.from_pretrained(BERT / "formats" / fmt, output_loading_info=True,
                                                         from_flax=True, **FORMAT_FLAGS[fmt])  # fmt: skip
    assert not any(info.values()), info
    assert_matches_expected(model(**inputs, **meta["call_kwargs"]), expected, meta["atol"])


def test_base_model_from_head_checkpoint_and_back():
    base, info = autoload.FlaxAutoModel.from_pretrained(BERT / "BertForPreTraining", output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"]
    assert all(k.startswith("cls.") for k in info["unexpected_keys"])
    assert "bert" not in base.params and "embeddings" in base.params
    head, info = autoload.FlaxAutoModelForPreTraining.from_pretrained(BERT / "BertModel", output_loading_info=True)
    assert info["unexpected_keys"] == [] and all(k.startswith("cls.") for k in info["missing_keys"])
    from safetensors.numpy import load_file

    pooler = load_file(BERT / "BertModel" / "model.safetensors")["pooler.dense.weight"]
    np.testing.assert_array_equal(np.asarray(head.params["bert"]["pooler"]["dense"]["kernel"]), pooler.T)


def test_bin_with_tied_decoder_copies_and_position_ids(tmp_path):
    """Older PyTorch checkpoints store the decoder's tied tensors and the position_ids buffer: not reported."""
    from safetensors.numpy import load_file

    from autoload.weights import write_torch_bin

    folder = BERT / "BertForMaskedLM"
    meta, inputs, expected = read_fixture(folder)
    state = load_file(folder / "model.safetensors")
    state["cls.predictions.decoder.weight"] = state["bert.embeddings.word_embeddings.weight"]
    state["cls.predictions.decoder.bias"] = state["cls.predictions.bias"]
    state["bert.embeddings.position_ids"] = np.arange(64)[None]
    write_torch_bin(state, tmp_path / "pytorch_model.bin")
    shutil.copy(folder / "config.json", tmp_path)
    model, info = autoload.FlaxAutoModelForMaskedLM.from_pretrained(tmp_path, from_pt=True, output_loading_info=True)
    assert not any(info.values()), info
    assert_matches_expected(model(**inputs, **meta["call_kwargs"]), expected, meta["atol"])


@pytest.fixture(scope="module")
def untied():
    config = autoload.AutoConfig.from_pretrained(BERT / "BertForMaskedLM", tie_word_embeddings=False)
    return autoload.FlaxAutoModelForMaskedLM.from_config(config, seed=3)


def test_from_config_initialises_randomly_and_reproducibly(untied):
    again = autoload.FlaxAutoModelForMaskedLM.from_config(untied.config, seed=3)
    other = autoload.FlaxAutoModelForMaskedLM.from_config(untied.config, seed=4)
    kernel = lambda m: np.asarray(m.params["bert"]["encoder"]["layer"]["0"]["attention"]["self"]["query"]["kernel"])  # noqa: E731
    np.testing.assert_array_equal(kernel(untied), kernel(again))
    assert not np.allclose(kernel(untied), kernel(other))
    assert untied.num_parameters() > 0


@pytest.mark.parametrize("safe", [False, True])
def test_untied_decoder_saves_and_reloads(tmp_path, untied, safe):
    _, inputs, _ = read_fixture(BERT / "BertForMaskedLM")
    decoder = untied.params["cls"]["predictions"]["decoder"]
    assert set(decoder) == {"kernel"}  # the output bias is cls.predictions.bias, shared with the decoder
    want = np.asarray(untied(**inputs).logits)
    untied.save_pretrained(tmp_path, safe_serialization=safe)
    again, info = autoload.FlaxAutoModelForMaskedLM.from_pretrained(tmp_path, output_loading_info=True)
    assert not any(info.values()), info
    np.testing.assert_allclose(np.asarray(again(**inputs).logits), want, atol=1e-5)
    torch = pytest.importorskip("torch")
    torch_model = autoload.AutoModelForMaskedLM.from_pretrained(tmp_path, from_flax=not safe)
    assert torch_model.config.tie_word_embeddings is False
    with torch.no_grad():
        logits = torch_model(**{k: torch.from_numpy(v) for k, v in inputs.items()}).logits.numpy()
    np.testing.assert_allclose(logits, want, atol=1e-4)


def test_bfloat16_computation_keeps_float32_params():
    meta, inputs, expected = read_fixture(BERT / "BertForMaskedLM")
    model = autoload.FlaxAutoModelForMaskedLM.from_pretrained(BERT / "BertForMaskedLM", dtype=jax.numpy.bfloat16)
    assert model.params["bert"]["embeddings"]["word_embeddings"]["embedding"].dtype == np.float32
    logits = model(**inputs).logits
    assert logits.dtype == jax.numpy.bfloat16
    np.testing.assert_allclose(np.asarray(logits, dtype=np.float32), expected["logits"], atol=0.05)


def test_causal_lm_never_looks_ahead():
    _, inputs, _ = read_fixture(BERT / "BertLMHeadModel")
    model = autoload.FlaxAutoModelForCausalLM.from_pretrained(BERT / "BertLMHeadModel")
    changed = {k: v.copy() for k, v in inputs.items()}
    changed["input_ids"][:, -1] = (changed["input_ids"][:, -1] + 1) % model.config.vocab_size
    before, after = np.asarray(model(**inputs).logits), np.asarray(model(**changed).logits)
    np.testing.assert_allclose(before[:, :-1], after[:, :-1], atol=1e-6)
    assert not np.allclose(before[:, -1], after[:, -1])


def test_tuple_outputs_and_flags():
    meta, inputs, expected = read_fixture(BERT / "BertModel")
    model = autoload.FlaxAutoModel.from_pretrained(BERT / "BertModel")
    last, pooled, states = model(**inputs, output_hidden_states=True, return_dict=False)
    np.testing.assert_allclose(np.asarray(last), expected["last_hidden_state"], atol=1e-4)
    assert len(states) == model.config.num_hidden_layers + 1
    attentions = model(**inputs, output_attentions=True).attentions
    assert attentions[0].shape == (2, model.config.num_attention_heads, 7, 7)
    np.testing.assert_allclose(np.asarray(attentions[0]).sum(-1), 1.0, atol=1e-5)
