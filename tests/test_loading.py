"""Loading in every framework through the one loop in autoload.loading (load_canonical): the same missing /
unused / mismatched report in PyTorch, TensorFlow and Flax, weights variants (named as transformers 4.57.6
names them), refused options, bfloat16 kept bfloat16, and models built without allocating their weights."""

import importlib.util
import json
import logging
import shutil

import numpy as np
import pytest
from conftest import FIXTURES, MODELS, assert_matches_expected, read_fixture
from safetensors.numpy import load_file, save_file

import autoload
from autoload.errors import CheckpointNotFoundError, WeightMismatchError
from autoload.loading import OPTIONAL_BUFFERS, is_optional_buffer

BERT = MODELS / "bert"
LOADING = FIXTURES / "loading"
FRAMEWORKS = ("torch", "tf", "flax")
_MODULE = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}


def needs(backend: str) -> None:
    if importlib.util.find_spec(_MODULE[backend]) is None:
        pytest.skip(f"{_MODULE[backend]} is not installed")


def run(model, backend: str, inputs: dict, call_kwargs: dict):
    if backend == "torch":
        import torch

        with torch.no_grad():
            return model(**{k: torch.from_numpy(v) for k, v in inputs.items()}, **call_kwargs)
    return model(**inputs, **call_kwargs)


def copy_fixture(src, dst, **extra_tensors):
    """The fixture's config and weights in a new folder, with extra tensors added to model.safetensors."""
    dst.mkdir()
    shutil.copy(src / "config.json", dst / "config.json")
    state = load_file(src / "model.safetensors")
    state.update(extra_tensors)
    save_file(state, dst / "model.safetensors", metadata={"format": "pt"})
    return dst


def test_optional_buffers_are_matched_by_whole_name_parts():
    assert is_optional_buffer("bert.embeddings.position_ids")
    assert is_optional_buffer("model.layers.0.self_attn.rotary_emb.inv_freq")
    assert not is_optional_buffer("embeddings.token_position_ids")
    assert all(name.startswith(".") for name in OPTIONAL_BUFFERS)


@pytest.mark.parametrize("backend", FRAMEWORKS)
@pytest.mark.parametrize("fixture,position_ids", [("BertModel", "embeddings.position_ids"),
                                                  ("BertForMaskedLM", "bert.embeddings.position_ids")])  # fmt: skip
def test_stored_position_ids_are_not_reported_unused(tmp_path, caplog, backend, fixture, position_ids):
    needs(backend)
    folder = copy_fixture(BERT / fixture, tmp_path / "ckpt", **{position_ids: np.arange(512)[None]})
    meta, inputs, expected = read_fixture(BERT / fixture)
    auto = autoload.AutoModel if fixture == "BertModel" else autoload.AutoModelForMaskedLM
    model, info = auto.from_pretrained(folder, backend=backend, output_loading_info=True)
    assert info == {"missing_keys": [], "unexpected_keys": [], "mismatched_keys": [], "error_msgs": []}
    with caplog.at_level(logging.WARNING, logger="autoload"):
        auto.from_pretrained(folder, backend=backend)
    assert not [r for r in caplog.records if "not used" in r.getMessage()]
    assert_matches_expected(run(model, backend, inputs, meta["call_kwargs"]), expected, meta["atol"])


@pytest.fixture(scope="module")
def mismatched_checkpoint(tmp_path_factory):
    """A sequence classifier with 3 labels and a stray tensor, to load into 5-label models."""
    folder = tmp_path_factory.mktemp("mismatched")
    return copy_fixture(BERT / "BertForSequenceClassification", folder / "ckpt", **{"stray.weight": np.ones(3)})


def load_report(backend, folder, **kwargs):
    needs(backend)
    _, info = autoload.AutoModelForSequenceClassification.from_pretrained(
        folder, backend=backend, output_loading_info=True, **kwargs
    )
    return info


def test_every_framework_reports_the_same(mismatched_checkpoint):
    """Missing, unused and mismatched keys come out of one loop, in canonical names and shapes."""
    reports = {}
    for backend in FRAMEWORKS:
        if importlib.util.find_spec(_MODULE[backend]) is None:
            continue
        reports[backend] = load_report(backend, mismatched_checkpoint, num_labels=5, ignore_mismatched_sizes=True)
    assert reports, "no framework installed"
    first = next(iter(reports.values()))
    assert first["unexpected_keys"] == ["stray.weight"]
    assert first["missing_keys"] == []
    hidden = json.loads((mismatched_checkpoint / "config.json").read_text())["hidden_size"]
    assert sorted(first["mismatched_keys"]) == [("classifier.bias", (3,), (5,)),
                                                ("classifier.weight", (3, hidden), (5, hidden))]  # fmt: skip
    for backend, report in reports.items():
        assert {k: sorted(v) for k, v in report.items()} == {k: sorted(v) for k, v in first.items()}, backend


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_mismatch_error_is_the_same_everywhere(mismatched_checkpoint, backend):
    with pytest.raises(WeightMismatchError, match=r"classifier\.(weight|bias) has shape \(3.*\) in .*model\.safetensors "
                                                  r"but \(5.*\) in .*BertForSequenceClassification.*"
                                                  "ignore_mismatched_sizes=True"):  # fmt: skip
        load_report(backend, mismatched_checkpoint, num_labels=5)


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_missing_head_is_reported_and_initialised(backend):
    info = load_report(backend, BERT / "BertModel")
    assert sorted(info["missing_keys"]) == ["classifier.bias", "classifier.weight"]
    assert info["unexpected_keys"] == [] and info["mismatched_keys"] == []


@pytest.mark.parametrize("backend", FRAMEWORKS)
@pytest.mark.parametrize("threads", ["1", "3"])
def test_reading_on_the_loading_thread_or_ahead_on_threads_loads_the_same(monkeypatch, backend, threads):
    needs(backend)
    monkeypatch.setenv("AUTOLOAD_READ_THREADS", threads)
    folder = BERT / "BertForSequenceClassification"
    meta, inputs, expected = read_fixture(folder)
    model = autoload.AutoModelForSequenceClassification.from_pretrained(folder, backend=backend)
    assert_matches_expected(run(model, backend, inputs, meta["call_kwargs"]), expected, meta["atol"])


# -- variants -----------------------------------------------------------------------------------------------
def test_variant_names_follow_transformers():
    from autoload.weights import index_name, shard_name, weights_name

    reference = json.loads((LOADING / "variant_names.json").read_text())
    ours = {
        "safetensors": ["config.json", weights_name("safetensors", "fp16")],
        "pt": ["config.json", weights_name("pt", "fp16")],
        "safetensors-sharded": ["config.json", *(shard_name("safetensors", i, 3, "fp16") for i in (1, 2, 3)),
                                index_name("safetensors", "fp16")],
        "pt-sharded": ["config.json", index_name("pt", "fp16"), *(shard_name("pt", i, 3, "fp16") for i in (1, 2, 3))],
    }  # fmt: skip
    for key, names in ours.items():
        assert sorted(names) == reference[key], key


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_variant_written_by_transformers_loads(backend):
    needs(backend)
    folder = LOADING / "bert-variant-fp16"
    meta, inputs, expected = read_fixture(BERT / "BertModel")
    model, info = autoload.AutoModel.from_pretrained(folder, backend=backend, variant="fp16", output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    assert_matches_expected(run(model, backend, inputs, meta["call_kwargs"]), expected, meta["atol"])
    with pytest.raises(CheckpointNotFoundError, match="model.safetensors"):  # no variant asked: not these files
        autoload.AutoModel.from_pretrained(folder, backend=backend)


NATIVE = {"torch": ("pytorch_model.fp16.bin", "pytorch_model.bin.index.fp16.json", "pytorch_model.fp16-00001-of-"),
          "tf": ("tf_model.fp16.h5", "tf_model.h5.index.fp16.json", "tf_model.fp16-00001-of-"),
          "flax": ("flax_model.fp16.msgpack", "flax_model.msgpack.index.fp16.json", "flax_model.fp16-00001-of-")}  # fmt: skip


@pytest.mark.parametrize("backend", FRAMEWORKS)
@pytest.mark.parametrize("safe", [True, False])
@pytest.mark.parametrize("sharded", [False, True])
def test_save_and_load_a_variant(tmp_path, backend, safe, sharded):
    needs(backend)
    meta, inputs, expected = read_fixture(BERT / "BertModel")
    model = autoload.AutoModel.from_pretrained(BERT / "BertModel", backend=backend)
    model.save_pretrained(tmp_path, safe_serialization=True)  # a plain copy beside the variant stays
    kwargs = {"max_shard_size": "30KB"} if sharded else {}
    model.save_pretrained(tmp_path, safe_serialization=safe, variant="fp16", **kwargs)
    files = sorted(p.name for p in tmp_path.iterdir())
    single, index, shard = NATIVE[backend] if not safe else ("model.fp16.safetensors",
                                                             "model.safetensors.index.fp16.json", "model.fp16-00001-of-")  # fmt: skip
    assert "model.safetensors" in files
    if sharded:
        assert index in files and any(f.startswith(shard) for f in files) and single not in files
    else:
        assert single in files and index not in files
    reloaded = autoload.AutoModel.from_pretrained(tmp_path, backend=backend, variant="fp16", use_safetensors=safe)
    assert_matches_expected(run(reloaded, backend, inputs, meta["call_kwargs"]), expected, meta["atol"])
    model.save_pretrained(tmp_path, safe_serialization=safe, variant="fp16")  # unsharded again: stale shards go
    left = sorted(p.name for p in tmp_path.iterdir())
    assert single in left and index not in left and not any(f.startswith(shard) for f in left)
    assert "model.safetensors" in left


def test_missing_variant_says_how_to_load_what_is_there(tmp_path):
    from autoload.weights import find_weights

    folder = copy_fixture(BERT / "BertModel", tmp_path / "ckpt")
    with pytest.raises(CheckpointNotFoundError, match=r"variant 'fp16'.*model\.fp16\.safetensors.*variant=None"):
        find_weights(folder, backend="torch", variant="fp16")


@pytest.mark.parametrize("variant", ["", "../x", "a/b", 3])
def test_bad_variant_is_refused(variant):
    with pytest.raises(ValueError, match="variant"):
        autoload.AutoModel.from_pretrained(BERT / "BertModel", variant=variant, backend="torch")


# -- options transformers does not have ------------------------------------------------------------------------
@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_channels_first_is_refused_clearly(backend):
    needs(backend)
    with pytest.raises(TypeError, match=r"channels_first=True.*not a loading option.*\[batch, channels, height"):
        autoload.AutoModel.from_pretrained(MODELS / "vit" / "ViTModel", backend=backend, channels_first=True)


# -- bfloat16 ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bf16_checkpoint(tmp_path_factory):
    """The BertModel fixture with every float tensor rounded to bfloat16 and stored as BF16."""
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file as save_torch

    folder = tmp_path_factory.mktemp("bf16")
    config = json.loads((BERT / "BertModel" / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "dtype": "bfloat16"}))
    state = {k: torch.from_numpy(v).to(torch.bfloat16) for k, v in load_file(BERT / "BertModel" / "model.safetensors").items()}
    save_torch(state, folder / "model.safetensors", metadata={"format": "pt"})
    return folder, state


def test_bfloat16_stays_bfloat16_in_torch(bf16_checkpoint, monkeypatch):
    import torch

    import autoload.weights.safetensors_io as safetensors_io

    folder, state = bf16_checkpoint

    def widened(bits):
        raise AssertionError("a bfloat16 tensor went through float32")

    monkeypatch.setattr(safetensors_io, "bf16_bits_to_float32", widened)
    model = autoload.AutoModel.from_pretrained(folder, dtype="auto")
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, state[name]), name


def test_bfloat16_stays_bfloat16_in_flax(bf16_checkpoint, monkeypatch):
    jax = pytest.importorskip("jax")
    pytest.importorskip("flax")
    import torch

    import autoload.weights.safetensors_io as safetensors_io

    folder, state = bf16_checkpoint
    monkeypatch.setattr(safetensors_io, "bf16_bits_to_float32", lambda bits: pytest.fail("widened to float32"))
    model = autoload.FlaxAutoModel.from_pretrained(folder, dtype="auto")
    assert {leaf.dtype for leaf in jax.tree_util.tree_leaves(model.params)} == {np.dtype(jax.numpy.bfloat16)}
    word = np.asarray(model.params["embeddings"]["word_embeddings"]["embedding"]).view(np.int16)
    np.testing.assert_array_equal(word, state["embeddings.word_embeddings.weight"].view(torch.int16).numpy())


def test_bfloat16_stays_bfloat16_in_tf_under_a_bfloat16_policy(bf16_checkpoint, monkeypatch):
    pytest.importorskip("tensorflow")
    import keras
    import torch

    import autoload.weights.safetensors_io as safetensors_io

    folder, state = bf16_checkpoint
    monkeypatch.setattr(safetensors_io, "bf16_bits_to_float32", lambda bits: pytest.fail("widened to float32"))
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("bfloat16")
    try:
        model = autoload.TFAutoModel.from_pretrained(folder)
    finally:
        keras.config.set_dtype_policy(previous)
    assert {v.dtype for v in model.weights} == {"bfloat16"}
    word = next(v for v in model.weights if "word_embeddings" in v.path)
    np.testing.assert_array_equal(np.asarray(word.numpy()).view(np.int16),
                                  state["embeddings.word_embeddings.weight"].view(torch.int16).numpy())  # fmt: skip


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_bfloat16_checkpoint_widened_when_asked_for_float32(bf16_checkpoint, backend):
    needs(backend)
    folder, state = bf16_checkpoint
    meta, inputs, expected = read_fixture(BERT / "BertModel")
    model = autoload.AutoModel.from_pretrained(folder, backend=backend)
    # bfloat16 weights: outputs near the float32 reference, not equal to it
    flat = run(model, backend, inputs, meta["call_kwargs"])
    got = np.asarray(flat["last_hidden_state"], dtype=np.float32)
    np.testing.assert_allclose(got, expected["last_hidden_state"], atol=0.1)


# -- building without allocating -----------------------------------------------------------------------------
def test_torch_builds_a_huge_config_on_meta_without_allocating():
    pytest.importorskip("torch")
    from autoload.backends.torch.models.bert import BertForMaskedLM

    config = autoload.AutoConfig.from_pretrained(BERT / "BertForMaskedLM")
    config.vocab_size, config.hidden_size, config.intermediate_size = 10**9, 4096, 16384  # ~100 TB in float32
    config.num_attention_heads = 64
    model = BertForMaskedLM._build_empty(config)
    assert all(p.is_meta for p in model.parameters())
    assert model.bert.embeddings.word_embeddings.weight.shape == (10**9, 4096)


def test_tf_creates_loaded_variables_from_the_checkpoint(monkeypatch):
    """No variable the checkpoint holds is first filled by an initializer: only the missing head's are."""
    pytest.importorskip("tensorflow")
    import keras

    calls = []
    for initializer in (keras.initializers.TruncatedNormal, keras.initializers.Zeros, keras.initializers.Ones,
                        keras.initializers.GlorotUniform):  # fmt: skip
        original = initializer.__call__

        def spy(self, shape, dtype=None, _original=original, **kwargs):
            calls.append(tuple(shape))
            return _original(self, shape, dtype=dtype, **kwargs)

        monkeypatch.setattr(initializer, "__call__", spy)
    autoload.TFAutoModel.from_pretrained(BERT / "BertModel")
    assert calls == []
    model = autoload.TFAutoModelForSequenceClassification.from_pretrained(BERT / "BertModel")
    hidden, labels = model.config.hidden_size, model.config.num_labels
    assert sorted(calls) == sorted([(hidden, labels), (labels,)])


def test_tf_failed_load_leaves_no_variable_pending(mismatched_checkpoint):
    pytest.importorskip("tensorflow")
    from autoload.backends.tf.modeling import _pending

    with pytest.raises(WeightMismatchError):
        load_report("tf", mismatched_checkpoint, num_labels=5)
    assert _pending() == []
    load_report("tf", mismatched_checkpoint)
    assert _pending() == []
