"""The post-norm encoder blocks (BERT, RoBERTa, DistilBERT, …) where the frameworks once drifted apart: input-length
limits, DistilBERT's sinusoidal position table, untied MLM decoders, attentions from every head, legacy buffers.

Each test builds a tiny random model in PyTorch, saves it, and loads the folder in TensorFlow and Flax."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from autoload import AutoConfig, registry
from autoload.encoder import EncoderOptions, check_activation, sinusoidal_table
from autoload.testing import flatten_output

torch = pytest.importorskip("torch")

TINY = {"vocab_size": 40, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 12}
TINY_DISTILBERT = {"vocab_size": 40, "dim": 8, "n_layers": 1, "n_heads": 2, "hidden_dim": 12}
MODERNBERT = {"vocab_size": 40, "hidden_size": 8, "intermediate_size": 12, "num_hidden_layers": 3,
              "num_attention_heads": 2, "global_attn_every_n_layers": 2, "local_attention": 4, "pad_token_id": 0,
              "reference_compile": False}  # fmt: skip


def saved(tmp_path, model_type: str, family: str = "MODEL", seed: int = 0, **fields):
    """A random PyTorch model of the config saved as safetensors: (folder, torch model)."""
    config = AutoConfig.for_model(model_type, **fields)
    model = registry.model_class_for(family, "torch", config).from_config(config)
    torch.manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
    folder = tmp_path / f"{model_type}-{family.lower()}"
    model.eval().save_pretrained(folder)
    return folder, model


def load(folder, backend: str, family: str = "MODEL", **kwargs):
    pytest.importorskip({"torch": "torch", "tf": "tensorflow", "flax": "flax"}[backend])
    config = AutoConfig.from_pretrained(folder)
    return registry.model_class_for(family, backend, config).from_pretrained(folder, **kwargs)


def run(model, backend: str, **inputs) -> dict:
    if backend == "torch":
        with torch.no_grad():
            return flatten_output(model(**{k: torch.from_numpy(np.asarray(v)) for k, v in inputs.items()}))
    return flatten_output(model(**inputs))


def ids(length: int, batch: int = 1, low: int = 3, high: int = 40) -> np.ndarray:
    return np.random.default_rng(length).integers(low, high, (batch, length))


# -- input length --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
@pytest.mark.parametrize("model_type,positions,usable", [("roberta", 514, 512), ("bert", 514, 514),
                                                         ("xlm-roberta", 514, 512)])  # fmt: skip
def test_longest_input_is_what_the_position_table_allows(tmp_path, backend, model_type, positions, usable):
    """RoBERTa's positions start after the padding index (1), so 514 rows hold 512 tokens; BERT's hold 514."""
    folder, _ = saved(tmp_path, model_type, max_position_embeddings=positions, **TINY)
    model = load(folder, backend)
    assert run(model, backend, input_ids=ids(usable))["last_hidden_state"].shape == (1, usable, 8)
    with pytest.raises(ValueError, match=f"longer than the {usable} positions"):
        run(model, backend, input_ids=ids(usable + 1))


# -- DistilBERT's sinusoidal positions -------------------------------------------------------------------------
def reference_table(rows: int, dim: int) -> np.ndarray:
    """The table as the original DistilBERT code writes it: position by position, column by column."""
    angles = np.array([[p / np.power(10000, 2 * (j // 2) / dim) for j in range(dim)] for p in range(rows)])
    table = np.zeros((rows, dim), dtype=np.float32)
    table[:, 0::2], table[:, 1::2] = np.sin(angles[:, 0::2]), np.cos(angles[:, 1::2])
    return table


def test_sinusoidal_table_equals_the_original_computation():
    np.testing.assert_array_equal(sinusoidal_table(50, 12), reference_table(50, 12))
    np.testing.assert_array_equal(sinusoidal_table(7, 5), reference_table(7, 5))
    assert sinusoidal_table(50, 12) is sinusoidal_table(50, 12)  # computed once


def position_table(model, backend: str) -> np.ndarray:
    if backend == "torch":
        return model.embeddings.position_embeddings.weight.detach().numpy()
    if backend == "tf":
        return model.main_layer.embeddings.position_embeddings.weight.numpy()
    return np.asarray(model.params["embeddings"]["position_embeddings"]["embedding"])


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_fresh_distilbert_starts_from_the_sinusoidal_table(backend):
    pytest.importorskip({"torch": "torch", "tf": "tensorflow", "flax": "flax"}[backend])
    config = AutoConfig.for_model("distilbert", sinusoidal_pos_embds=True, max_position_embeddings=16,
                                  **TINY_DISTILBERT)  # fmt: skip
    model = registry.model_class_for("MODEL", backend, config).from_config(config)
    if backend == "tf":
        model.build_weights()
    np.testing.assert_array_equal(position_table(model, backend), reference_table(16, 8))


@pytest.mark.parametrize("backend", ["tf", "flax"])
def test_sinusoidal_distilbert_reads_the_stored_table_or_fills_a_missing_one(tmp_path, backend):
    """The table is a weight (transformers keeps it in the state dict): a stored, changed table is used as it
    is; a checkpoint without one gets the sinusoidal table, reported missing, in every framework."""
    folder, torch_model = saved(tmp_path, "distilbert", sinusoidal_pos_embds=True, max_position_embeddings=16,
                                **TINY_DISTILBERT)  # fmt: skip
    inputs = {"input_ids": ids(6, 2), "attention_mask": np.ones((2, 6), dtype=np.int64)}
    want = run(torch_model, "torch", **inputs)["last_hidden_state"]
    assert not np.allclose(position_table(torch_model, "torch"), reference_table(16, 8))  # the noise is kept
    got = run(load(folder, backend), backend, **inputs)["last_hidden_state"]
    np.testing.assert_allclose(got, want, atol=1e-5)

    state = load_file(folder / "model.safetensors")
    del state["embeddings.position_embeddings.weight"]
    save_file(state, folder / "model.safetensors", metadata={"format": "pt"})
    for name in ("torch", backend):
        model, info = load(folder, name, output_loading_info=True)
        assert info["missing_keys"] == ["embeddings.position_embeddings.weight"]
        np.testing.assert_array_equal(position_table(model, name), reference_table(16, 8))


def test_flax_distilbert_does_not_import_torch(tmp_path):
    pytest.importorskip("flax")
    config = AutoConfig.for_model("distilbert", sinusoidal_pos_embds=True, max_position_embeddings=16,
                                  **TINY_DISTILBERT)  # fmt: skip
    config.save_pretrained(tmp_path)
    script = textwrap.dedent(f"""
        import sys
        sys.modules["torch"] = None  # any import of torch now fails
        import numpy as np
        from autoload import AutoConfig, FlaxAutoModel
        model = FlaxAutoModel.from_config(AutoConfig.from_pretrained({str(tmp_path)!r}))
        print(np.asarray(model(np.array([[5, 6, 7]])).last_hidden_state).shape)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("(1, 3, 8)")


# -- untied MLM decoders ---------------------------------------------------------------------------------------
UNTIED = [("bert", "MODEL_FOR_MASKED_LM", TINY), ("bert", "MODEL_FOR_PRETRAINING", TINY),
          ("roberta", "MODEL_FOR_MASKED_LM", TINY), ("distilbert", "MODEL_FOR_MASKED_LM", TINY_DISTILBERT)]  # fmt: skip


@pytest.mark.parametrize("backend", ["tf", "flax"])
@pytest.mark.parametrize("model_type,family,fields", UNTIED)
def test_untied_lm_decoder_is_its_own_weight(tmp_path, backend, model_type, family, fields):
    folder, torch_model = saved(tmp_path, model_type, family, tie_word_embeddings=False, **fields)
    inputs = {"input_ids": ids(5, 2)}
    want = run(torch_model, "torch", **inputs)
    model, info = load(folder, backend, family, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == [], info
    got = run(model, backend, **inputs)
    key = "prediction_logits" if family == "MODEL_FOR_PRETRAINING" else "logits"
    np.testing.assert_allclose(got[key], want[key], atol=1e-4)
    model.save_pretrained(tmp_path / "again")  # the framework's own format keeps the decoder
    again = type(model).from_pretrained(tmp_path / "again")
    np.testing.assert_allclose(run(again, backend, **inputs)[key], want[key], atol=1e-4)


# -- every head passes attentions on ---------------------------------------------------------------------------
BERT_FAMILIES = ["MODEL", "MODEL_FOR_PRETRAINING", "MODEL_FOR_MASKED_LM", "MODEL_FOR_CAUSAL_LM",
                 "MODEL_FOR_NEXT_SENTENCE_PREDICTION", "MODEL_FOR_SEQUENCE_CLASSIFICATION",
                 "MODEL_FOR_TOKEN_CLASSIFICATION", "MODEL_FOR_QUESTION_ANSWERING"]  # fmt: skip


@pytest.mark.parametrize("backend", ["tf", "flax"])
def test_every_bert_head_returns_the_attentions(tmp_path, backend):
    for family in BERT_FAMILIES:
        folder, torch_model = saved(tmp_path, "bert", family, **TINY)
        inputs = {"input_ids": ids(4, 2), "output_attentions": True}
        want = run(torch_model, "torch", **inputs)
        got = run(load(folder, backend, family), backend, **inputs)
        assert "attentions_0" in got, (family, sorted(got))
        np.testing.assert_allclose(got["attentions_0"], want["attentions_0"], atol=1e-5, err_msg=family)


# -- legacy buffers --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_stored_position_ids_buffer_is_not_reported_unused(tmp_path, backend):
    folder, _ = saved(tmp_path, "bert", **TINY)
    state = load_file(folder / "model.safetensors")
    state["embeddings.position_ids"] = np.arange(512, dtype=np.int64)[None]
    save_file(state, folder / "model.safetensors", metadata={"format": "pt"})
    _, info = load(folder, backend, output_loading_info=True)
    assert info["unexpected_keys"] == [] and info["missing_keys"] == [], info


# -- refused configs -------------------------------------------------------------------------------------------
def options(**fields) -> EncoderOptions:
    base = dict(vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=8,
                hidden_act="gelu", layer_norm_eps=1e-12, hidden_dropout=0.0, attention_dropout=0.0,
                max_position_embeddings=16, owner="BertConfig")  # fmt: skip
    return EncoderOptions(**{**base, **fields})


@pytest.mark.parametrize("fields,message", [
    ({"position_embedding_type": "rotary"}, "position_embedding_type='rotary' is not supported"),
    ({"cross_attention": True}, "add_cross_attention=True needs is_decoder=True"),
    ({"hidden_act": "prelu"}, "learned weights"),
    ({"hidden_act": "gelu_fancy"}, "not a known activation"),
    ({"position_padding_idx": 15}, "leaves no position"),
])  # fmt: skip
def test_unsupported_encoder_settings_are_refused_by_name(fields, message):
    with pytest.raises((ValueError, NotImplementedError), match=message):
        options(**fields)


def test_distilbert_activation_is_checked_under_its_own_name():
    config = AutoConfig.for_model("distilbert", activation="xielu", **TINY_DISTILBERT)
    with pytest.raises(NotImplementedError, match=r"DistilBertConfig\.activation='xielu'"):
        config.encoder_options()
    assert check_activation("relu2", "hidden_act", "X") == "relu2"


def test_activation_tables_cover_the_supported_names():
    from autoload.encoder import ACTIVATIONS

    for backend in ("torch", "tf", "flax"):
        pytest.importorskip({"torch": "torch", "tf": "tensorflow", "flax": "flax"}[backend])
        module = __import__(f"autoload.backends.{backend}.activations", fromlist=["ACTIVATIONS"])
        assert set(ACTIVATIONS) <= set(module.ACTIVATIONS), (backend, set(ACTIVATIONS) - set(module.ACTIVATIONS))


# -- every native format into every other framework (where transformers never wrote a TF or Flax file) ------
NATIVE = {"torch": ({"safe_serialization": False}, "pytorch_model.bin", "from_pt"),
          "tf": ({}, "tf_model.h5", "from_tf"), "flax": ({}, "flax_model.msgpack", "from_flax")}  # fmt: skip
WITHOUT_FLAX_REFERENCE = {
    "mpnet": TINY,
    "deberta-v2": {**TINY, "relative_attention": True, "pos_att_type": "p2c|c2p", "position_buckets": 8,
                   "norm_rel_ebd": "layer_norm", "conv_kernel_size": 3, "type_vocab_size": 2},
    "modernbert": MODERNBERT,
}  # fmt: skip


@pytest.mark.parametrize("writer", ["torch", "tf", "flax"])
@pytest.mark.parametrize("model_type", sorted(WITHOUT_FLAX_REFERENCE))
def test_native_files_load_in_every_framework(tmp_path, model_type, writer):
    folder, torch_model = saved(tmp_path, model_type, "MODEL_FOR_MASKED_LM", **WITHOUT_FLAX_REFERENCE[model_type])
    inputs = {"input_ids": ids(6, 2)}
    want = run(torch_model, "torch", **inputs)["logits"]
    save_kwargs, file_name, _ = NATIVE[writer]
    load(folder, writer, "MODEL_FOR_MASKED_LM").save_pretrained(tmp_path / writer, **save_kwargs)
    assert (tmp_path / writer / file_name).is_file()
    for reader in ("torch", "tf", "flax"):
        flags = {} if reader == writer else {NATIVE[writer][2]: True}
        model, info = load(tmp_path / writer, reader, "MODEL_FOR_MASKED_LM", output_loading_info=True, **flags)
        assert info["missing_keys"] == [] and info["unexpected_keys"] == [], (reader, info)
        np.testing.assert_allclose(run(model, reader, **inputs)["logits"], want, atol=1e-4, err_msg=reader)


def test_albert_tf_h5_carries_the_decoder_bias_copy_transformers_scores_with(tmp_path):
    """transformers' TF ALBERT adds predictions/decoder/bias (not predictions/bias) to its scores, so our
    tf_model.h5 holds both; every framework reads the file back with nothing missing or unused."""
    from autoload.weights.tf_h5 import read_tf_h5

    folder, torch_model = saved(tmp_path, "albert", "MODEL_FOR_MASKED_LM", embedding_size=4, **TINY)
    inputs = {"input_ids": ids(5, 2)}
    want = run(torch_model, "torch", **inputs)["logits"]
    load(folder, "tf", "MODEL_FOR_MASKED_LM").save_pretrained(tmp_path / "tf")
    stored = read_tf_h5(tmp_path / "tf" / "tf_model.h5")
    prefix = "tf_albert_for_masked_lm/predictions/"
    np.testing.assert_array_equal(stored[prefix + "decoder/bias:0"], stored[prefix + "bias:0"])
    assert np.abs(stored[prefix + "bias:0"]).max() > 0
    for reader in ("torch", "tf", "flax"):
        flags = {} if reader == "tf" else {"from_tf": True}
        model, info = load(tmp_path / "tf", reader, "MODEL_FOR_MASKED_LM", output_loading_info=True, **flags)
        assert info["missing_keys"] == [] and info["unexpected_keys"] == [], (reader, info)
        np.testing.assert_allclose(run(model, reader, **inputs)["logits"], want, atol=1e-4, err_msg=reader)


# -- configs as real Hub checkpoints write them (fields the tiny fixtures leave out), sizes shrunk ----------------
HUB_CONFIGS = Path(__file__).parent / "fixtures" / "hub_configs"  # written by scripts/reference/hub_configs.py
REAL_CONFIGS = {model_type: json.loads((HUB_CONFIGS / name / "config.json").read_text()) for model_type, name in
                {"albert": "albert-base-v2", "electra": "google--electra-small-generator",
                 "mpnet": "sentence-transformers--all-mpnet-base-v2", "xlm-roberta": "xlm-roberta-base"}.items()}  # fmt: skip


@pytest.mark.parametrize("model_type", sorted(REAL_CONFIGS))
def test_real_checkpoint_configs_and_legacy_files_load_everywhere(tmp_path, model_type):
    """A pytorch_model.bin as older transformers wrote it (tied copies and the position_ids buffer included,
    LayerNorm gamma/beta names) loads in every framework with nothing missing or unused."""
    from autoload.weights import write_sharded

    fields = dict(REAL_CONFIGS[model_type])
    architecture = fields.pop("architectures")[0]
    fields.pop("model_type")
    folder, torch_model = saved(tmp_path, model_type, "MODEL_FOR_MASKED_LM", **fields)
    config = json.loads((folder / "config.json").read_text())
    assert config["architectures"] == [architecture]
    state = {}
    for name, tensor in torch_model.state_dict().items():  # every tensor, tied ones too, as torch.save wrote them
        name = name.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        state[name] = tensor.numpy()
    for head in ("predictions", "lm_head"):  # transformers ties the decoder's bias to the head's and saves both
        if f"{head}.bias" in state:
            state[f"{head}.decoder.bias"] = state[f"{head}.bias"]
    prefix = torch_model.base_model_prefix
    state[f"{prefix}.embeddings.position_ids"] = np.arange(fields["max_position_embeddings"])[None]
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "config.json").write_text(json.dumps({**config, "model_type": model_type}))
    write_sharded(state, legacy, "pt", "1GB")
    inputs = {"input_ids": ids(6, 2)}
    want = run(torch_model, "torch", **inputs)["logits"]
    for backend in ("torch", "tf", "flax"):
        flags = {} if backend == "torch" else {"from_pt": True}
        model, info = load(legacy, backend, "MODEL_FOR_MASKED_LM", output_loading_info=True, **flags)
        assert info["missing_keys"] == [] and info["unexpected_keys"] == [], (backend, info)
        np.testing.assert_allclose(run(model, backend, **inputs)["logits"], want, atol=1e-4, err_msg=backend)


def test_electra_summary_without_activation_agrees_everywhere(tmp_path):
    """summary_activation null in config.json: ELECTRA's multiple-choice summary applies no activation."""
    folder, torch_model = saved(tmp_path, "electra", "MODEL_FOR_MULTIPLE_CHOICE", summary_activation=None, **TINY)
    assert json.loads((folder / "config.json").read_text())["summary_activation"] is None
    inputs = {"input_ids": ids(5, 2)[:, None].repeat(3, 1)}
    want = run(torch_model, "torch", **inputs)["logits"]
    gelu, _ = saved(tmp_path / "gelu", "electra", "MODEL_FOR_MULTIPLE_CHOICE", **TINY)
    assert not np.allclose(run(load(gelu, "torch", "MODEL_FOR_MULTIPLE_CHOICE"), "torch", **inputs)["logits"], want)
    for backend in ("tf", "flax"):
        got = run(load(folder, backend, "MODEL_FOR_MULTIPLE_CHOICE"), backend, **inputs)["logits"]
        np.testing.assert_allclose(got, want, atol=1e-5, err_msg=backend)


# -- ModernBERT: padded batches give the unpadded results; sparse prediction ------------------------------------


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_modernbert_padded_batch_equals_each_sequence_alone(tmp_path, backend):
    """transformers' flash-attention path unpads the tokens; the padded path must give the same outputs at every
    real token (local windows and rotary positions included)."""
    folder, _ = saved(tmp_path, "modernbert", **MODERNBERT)
    model = load(folder, backend)
    long, short = ids(9)[0], ids(5)[0]
    batch = np.zeros((2, 9), dtype=np.int64)
    batch[0], batch[1, :5] = long, short
    mask = (np.arange(9)[None] < np.array([[9], [5]])).astype(np.int64)
    padded = run(model, backend, input_ids=batch, attention_mask=mask)["last_hidden_state"]
    for row, sequence in enumerate((long, short)):
        alone = run(model, backend, input_ids=sequence[None])["last_hidden_state"][0]
        np.testing.assert_allclose(padded[row, : len(sequence)], alone, atol=1e-5, err_msg=f"row {row}")


@pytest.mark.parametrize("backend", ["torch", "tf"])
def test_modernbert_sparse_prediction_scores_only_labelled_positions(tmp_path, backend):
    folder, _ = saved(tmp_path, "modernbert", "MODEL_FOR_MASKED_LM", sparse_prediction=True, **MODERNBERT)
    model = load(folder, backend, "MODEL_FOR_MASKED_LM")
    input_ids = ids(6, 2)
    labels = np.full((2, 6), -100, dtype=np.int64)
    labels[0, 1], labels[1, 4], labels[1, 5] = 7, 8, 9
    dense_logits = run(model, backend, input_ids=input_ids)["logits"]
    sparse = run(model, backend, input_ids=input_ids, labels=labels)
    np.testing.assert_allclose(sparse["logits"], dense_logits[[0, 1, 1], [1, 4, 5]], atol=1e-5)
    assert np.isfinite(sparse["loss"]).all()
