"""BERT in PyTorch against the reference outputs, every weight format, saving, and bad checkpoints."""

import json
import pickle
import shutil
import zipfile

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import MODELS, assert_matches_expected, read_fixture  # noqa: E402

import autoload  # noqa: E402
from autoload import AutoConfig, AutoModel  # noqa: E402

BERT = MODELS / "bert"


def run(model, inputs, call_kwargs):
    with torch.no_grad():
        return model(**{k: torch.from_numpy(v) for k, v in inputs.items()}, **call_kwargs)


def test_backend_flag_and_text_encoding_family():
    model = autoload.AutoModelForTextEncoding.from_pretrained(BERT / "BertModel", backend="torch")
    assert type(model).__name__ == "BertModel"


def test_head_from_base_checkpoint_reports_missing_head(caplog):
    model, info = autoload.AutoModelForSequenceClassification.from_pretrained(
        BERT / "BertModel", num_labels=4, output_loading_info=True
    )
    assert sorted(info["missing_keys"]) == ["classifier.bias", "classifier.weight"]
    assert info["unexpected_keys"] == []
    assert model.classifier.weight.shape == (4, 32) and model.classifier.weight.device.type == "cpu"
    assert float(model.classifier.weight.detach().std()) > 0  # initialised, not left empty
    base = AutoModel.from_pretrained(BERT / "BertModel")
    torch.testing.assert_close(model.bert.pooler.dense.weight, base.pooler.dense.weight)
    with caplog.at_level("WARNING", logger="autoload"):
        autoload.AutoModelForSequenceClassification.from_pretrained(BERT / "BertModel")
    assert "classifier.weight" in caplog.text


def test_base_from_head_checkpoint_reports_unused_head():
    _, info = AutoModel.from_pretrained(BERT / "BertForPreTraining", output_loading_info=True)
    assert info["missing_keys"] == []
    assert "cls.seq_relationship.weight" in info["unexpected_keys"]


def test_tied_embeddings():
    model = autoload.AutoModelForMaskedLM.from_pretrained(BERT / "BertForMaskedLM")
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight


def test_ignore_mismatched_sizes():
    with pytest.raises(ValueError, match="classifier.weight"):
        autoload.AutoModelForSequenceClassification.from_pretrained(BERT / "BertForSequenceClassification", num_labels=7)
    model, info = autoload.AutoModelForSequenceClassification.from_pretrained(
        BERT / "BertForSequenceClassification", num_labels=7, ignore_mismatched_sizes=True, output_loading_info=True
    )
    assert {k for k, _, _ in info["mismatched_keys"]} == {"classifier.weight", "classifier.bias"}
    assert model.classifier.weight.shape == (7, 32)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, "auto"])
def test_torch_dtype(dtype):
    model = AutoModel.from_pretrained(BERT / "BertModel", torch_dtype=dtype)
    assert model.dtype == (torch.float32 if dtype == "auto" else dtype)


def test_from_config_initialises_randomly():
    config = AutoConfig.from_pretrained(BERT / "BertModel")
    model = AutoModel.from_config(config)
    assert type(model).__name__ == "BertModel"
    assert all(p.device.type == "cpu" for p in model.parameters())
    assert torch.allclose(model.embeddings.LayerNorm.weight, torch.ones(32))


@pytest.mark.parametrize("safe", [True, False])
def test_save_and_reload(tmp_path, safe):
    folder = BERT / "BertForPreTraining"
    meta, inputs, expected = read_fixture(folder)
    model = autoload.AutoModelForPreTraining.from_pretrained(folder)
    model.save_pretrained(tmp_path, safe_serialization=safe)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["architectures"] == ["BertForPreTraining"] and saved["model_type"] == "bert"
    assert (tmp_path / ("model.safetensors" if safe else "pytorch_model.bin")).exists()
    again, info = autoload.AutoModelForPreTraining.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    assert_matches_expected(run(again, inputs, meta["call_kwargs"]), expected)
    if not safe:
        state = torch.load(tmp_path / "pytorch_model.bin", weights_only=True)
        assert "bert.embeddings.word_embeddings.weight" in state


def test_sharded_save(tmp_path):
    model = AutoModel.from_pretrained(BERT / "BertModel")
    model.save_pretrained(tmp_path, max_shard_size="20KB")
    index = json.loads((tmp_path / "model.safetensors.index.json").read_text())
    assert len(set(index["weight_map"].values())) > 1
    again = AutoModel.from_pretrained(tmp_path)
    for (name, a), b in zip(model.state_dict().items(), again.state_dict().values()):
        torch.testing.assert_close(a, b, msg=name)


def test_safetensors_preferred_and_use_safetensors(tmp_path):
    shutil.copytree(BERT / "BertModel", tmp_path, dirs_exist_ok=True)
    shutil.copy(BERT / "formats" / "pt_bin" / "pytorch_model.bin", tmp_path)
    model = AutoModel.from_pretrained(tmp_path, use_safetensors=False)
    assert type(model).__name__ == "BertModel"
    (tmp_path / "model.safetensors").write_bytes(b"garbage")  # proves which file each call reads
    with pytest.raises(ValueError, match="model.safetensors"):
        AutoModel.from_pretrained(tmp_path)
    AutoModel.from_pretrained(tmp_path, use_safetensors=False)


def test_model_from_hub_cache_offline(hub_cache):
    hub_cache("org/tiny-bert", BERT / "BertForMaskedLM")
    meta, inputs, expected = read_fixture(BERT / "BertForMaskedLM")
    model = autoload.AutoModelForMaskedLM.from_pretrained("org/tiny-bert", cache_dir=hub_cache.cache_dir)
    assert_matches_expected(run(model, inputs, meta["call_kwargs"]), expected)


def test_sharded_checkpoint_from_hub_cache(hub_cache):
    hub_cache("org/sharded", BERT / "formats" / "sharded_safetensors")
    model = AutoModel.from_pretrained("org/sharded", cache_dir=hub_cache.cache_dir)
    assert type(model).__name__ == "BertModel"


# -- bad checkpoints ----------------------------------------------------------------------------------
def copy_config(tmp_path, name="BertModel"):
    shutil.copy(BERT / name / "config.json", tmp_path)
    return tmp_path


def test_no_weight_file(tmp_path):
    with pytest.raises(OSError, match="model.safetensors"):
        AutoModel.from_pretrained(copy_config(tmp_path))


def test_only_tf_weights_names_the_flag(tmp_path):
    copy_config(tmp_path)
    shutil.copy(BERT / "formats" / "tf_h5" / "tf_model.h5", tmp_path)
    with pytest.raises(OSError, match="from_tf=True"):
        AutoModel.from_pretrained(tmp_path)


def test_truncated_safetensors(tmp_path):
    data = (BERT / "BertModel" / "model.safetensors").read_bytes()
    (copy_config(tmp_path) / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="model.safetensors"):
        AutoModel.from_pretrained(tmp_path)


def test_wrong_shape_names_key_shapes_and_file(tmp_path):
    from safetensors.numpy import load_file, save_file

    state = load_file(BERT / "BertModel" / "model.safetensors")
    state["pooler.dense.weight"] = np.zeros((32, 31), dtype=np.float32)
    save_file(state, copy_config(tmp_path) / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ValueError) as err:
        AutoModel.from_pretrained(tmp_path)
    message = str(err.value)
    assert "pooler.dense.weight" in message and "(32, 31)" in message and "model.safetensors" in message


class _Exploit:
    def __reduce__(self):
        import os

        return (os.system, ("touch pwned-by-pickle",))


def test_pickle_that_runs_code_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    copy_config(tmp_path)
    with zipfile.ZipFile(tmp_path / "pytorch_model.bin", "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"x": _Exploit()}, protocol=2))
        archive.writestr("archive/version", "3\n")
    with pytest.raises(ValueError, match="pytorch_model.bin"):
        AutoModel.from_pretrained(tmp_path)
    assert not (tmp_path / "pwned-by-pickle").exists()


# -- registering a custom architecture ----------------------------------------------------------------
def test_register_custom_model():
    from torch import nn

    from autoload.backends.torch.modeling import PreTrainedModel

    class TinyConfig(autoload.PretrainedConfig):
        model_type = "tiny-torch-test"

        def __init__(self, width=3, **kwargs):
            super().__init__(**kwargs)
            self.width = width

    class TinyModel(PreTrainedModel):
        config_class = TinyConfig

        def __init__(self, config):
            super().__init__(config)
            self.proj = nn.Linear(config.width, config.width)

    class WrongModel(PreTrainedModel):
        config_class = autoload.BertConfig

    AutoConfig.register("tiny-torch-test", TinyConfig)
    with pytest.raises(ValueError, match="config_class"):
        AutoModel.register(TinyConfig, WrongModel)
    AutoModel.register(TinyConfig, TinyModel)
    with pytest.raises(ValueError, match="exist_ok"):
        AutoModel.register(TinyConfig, TinyModel)
    model = AutoModel.from_config(AutoConfig.for_model("tiny-torch-test", width=5))
    assert isinstance(model, TinyModel) and model.proj.weight.shape == (5, 5)


def test_torch_path_works_with_only_torch_installed():
    """CI shows the core plus PyTorch work alone: TensorFlow, JAX and Flax are made unimportable."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        f"""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {{"tensorflow", "jax", "jaxlib", "flax", "keras"}}:
                    raise ImportError(f"{{name}} is blocked in this test")
        sys.meta_path.insert(0, Block())
        import numpy as np, torch
        from autoload import AutoModelForMaskedLM
        model = AutoModelForMaskedLM.from_pretrained({str(BERT / "BertForMaskedLM")!r})
        inputs = dict(np.load({str(BERT / "BertForMaskedLM" / "inputs.npz")!r}))
        expected = np.load({str(BERT / "BertForMaskedLM" / "expected.npz")!r})["logits"]
        logits = model(**{{k: torch.from_numpy(v) for k, v in inputs.items()}}).logits.detach().numpy()
        print(float(np.abs(logits - expected).max()))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout.strip()) < 1e-4
