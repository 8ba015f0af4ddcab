"""The core works without any framework: lazy imports, Auto class names, backend choice, errors."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
from conftest import MODELS

import autoload
from autoload import AutoConfig
from autoload.families import FAMILIES

BLOCK_FRAMEWORKS = textwrap.dedent(
    """
    import sys
    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {"torch", "tensorflow", "jax", "flax", "keras", "transformers"}:
                raise ImportError(f"{name} is blocked in this test")
    sys.meta_path.insert(0, Block())
    import importlib.util
    real_find_spec = importlib.util.find_spec
    def find_spec(name, package=None):
        if name.split(".")[0] in {"torch", "tensorflow", "jax", "flax", "keras"}:
            return None
        return real_find_spec(name, package)
    importlib.util.find_spec = find_spec
    """
)


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_import_is_light_and_needs_no_framework():
    code = BLOCK_FRAMEWORKS + textwrap.dedent(
        """
        import time
        start = time.perf_counter()
        import autoload
        from autoload import AutoConfig, AutoModel, TFAutoModel, FlaxAutoModel, AutoTokenizer
        elapsed = time.perf_counter() - start
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in {"torch", "tensorflow", "jax", "flax"})
        print(elapsed, loaded)
        """
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    elapsed, loaded = result.stdout.split(" ", 1)
    assert loaded.strip() == "[]"
    assert float(elapsed) < 0.5


def test_using_a_missing_framework_names_the_extra():
    code = BLOCK_FRAMEWORKS + textwrap.dedent(
        f"""
        from autoload import AutoModel
        try:
            AutoModel.from_pretrained({str(MODELS / "bert" / "BertModel")!r})
        except ImportError as exc:
            print("ImportError:", exc)
        """
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert "ImportError:" in result.stdout and "autoload-hf[torch]" in result.stdout


def test_every_auto_class_exists_for_every_backend():
    names = ["AutoConfig", "AutoTokenizer", "AutoFeatureExtractor", "AutoImageProcessor", "AutoProcessor"]
    names += ["AutoBackbone", "TFAutoBackbone", "FlaxAutoBackbone", "TFAutoModelForAudioClassification"]
    for suffix in FAMILIES.values():
        if suffix != "Backbone":
            names += [f"AutoModel{suffix}", f"TFAutoModel{suffix}", f"FlaxAutoModel{suffix}"]
    assert len(names) == 5 + 4 + 3 * 38
    for name in names:
        assert getattr(autoload, name).__name__ == name


@pytest.mark.parametrize("name", ["AutoModel", "TFAutoModelForMaskedLM", "FlaxAutoModelForCTC", "AutoConfig"])
def test_auto_classes_cannot_be_instantiated(name):
    with pytest.raises(OSError, match="from_pretrained"):
        getattr(autoload, name)()


def test_family_without_architecture_names_config_family_and_supported_types():
    config = AutoConfig.for_model("bert", hidden_size=32, num_attention_heads=4)
    with pytest.raises(ValueError) as err:
        autoload.AutoModelForImageClassification.from_config(config)
    message = str(err.value)
    assert "BertConfig" in message and "AutoModelForImageClassification" in message
    with pytest.raises(ValueError, match="bert"):
        autoload.AutoModelForMaskedLM.model_class_for(autoload.PretrainedConfig())


def test_backend_choice(monkeypatch):
    from autoload.auto.modeling import default_backend

    monkeypatch.delenv("AUTOLOAD_BACKEND", raising=False)
    assert default_backend() == "torch"
    monkeypatch.setenv("AUTOLOAD_BACKEND", "jax")
    assert default_backend() == "flax"
    monkeypatch.setenv("AUTOLOAD_BACKEND", "mxnet")
    with pytest.raises(ValueError, match="AUTOLOAD_BACKEND"):
        default_backend()
    with pytest.raises(ValueError, match="always builds tf"):
        autoload.TFAutoModel._pick_backend("flax")
    assert autoload.AutoModel._pick_backend("tensorflow") == "tf"


def test_architecture_classes_by_name():
    assert autoload.BertConfig.model_type == "bert"
    with pytest.raises(AttributeError):
        autoload.NoSuchThing  # noqa: B018


# -- configs ------------------------------------------------------------------------------------------
def test_config_from_pretrained_with_overrides_and_unused_kwargs():
    folder = MODELS / "bert" / "BertForSequenceClassification"
    config, unused = AutoConfig.from_pretrained(folder, num_labels=5, foo="bar", return_unused_kwargs=True)
    assert type(config).__name__ == "BertConfig"
    assert config.num_labels == 5 and len(config.label2id) == 5 and config.id2label[4] == "LABEL_4"
    assert unused == {"foo": "bar"}
    assert config.architectures == ["BertForSequenceClassification"]
    assert config.hidden_size == 32 and config.output_hidden_states is False and config.return_dict is True


def test_config_round_trip_keeps_unknown_keys(tmp_path):
    config = AutoConfig.for_model("bert", hidden_size=64, num_attention_heads=8, my_custom_field=[1, 2])
    config.id2label = {0: "neg", 1: "pos"}
    config.label2id = {"neg": 0, "pos": 1}
    config.save_pretrained(tmp_path)
    data = json.loads((tmp_path / "config.json").read_text())
    assert data["model_type"] == "bert" and data["my_custom_field"] == [1, 2] and data["id2label"]["1"] == "pos"
    again = AutoConfig.from_pretrained(tmp_path)
    assert again == config and again.id2label == {0: "neg", 1: "pos"}
    assert again.to_dict() == config.to_dict()
    assert json.loads(again.to_json_string(use_diff=False))["hidden_size"] == 64


def test_config_num_labels_must_match_id2label():
    with pytest.raises(ValueError, match="num_labels"):
        AutoConfig.for_model("bert", num_labels=3, id2label={0: "a", 1: "b"})


def test_unknown_model_type_suggests_close_matches(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bertt"}))
    with pytest.raises(ValueError, match="'bert'"):
        AutoConfig.from_pretrained(tmp_path)


def test_config_missing_or_invalid(tmp_path):
    with pytest.raises(OSError, match="config.json"):
        AutoConfig.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text('{"model_type": "bert",')
    with pytest.raises(ValueError, match="not valid JSON"):
        AutoConfig.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="JSON object"):
        AutoConfig.from_pretrained(tmp_path)


def test_bert_config_refuses_uneven_heads():
    with pytest.raises(ValueError, match="not a multiple"):
        AutoConfig.for_model("bert", hidden_size=30, num_attention_heads=4)


# -- registry -----------------------------------------------------------------------------------------
def test_register_config_checks_model_type_and_duplicates():
    class NewModelConfig(autoload.PretrainedConfig):
        model_type = "new-model-core-test"

    with pytest.raises(ValueError, match="must match"):
        AutoConfig.register("other-name", NewModelConfig)
    AutoConfig.register("new-model-core-test", NewModelConfig)
    with pytest.raises(ValueError, match="already registered"):
        AutoConfig.register("new-model-core-test", NewModelConfig)
    AutoConfig.register("new-model-core-test", NewModelConfig, exist_ok=True)
    assert type(AutoConfig.for_model("new-model-core-test")) is NewModelConfig
    with pytest.raises(ValueError, match="already registered"):
        AutoConfig.register("bert", type("BertLike", (autoload.PretrainedConfig,), {"model_type": "bert"}))


# -- Hub resolution -----------------------------------------------------------------------------------
def test_config_from_hub_cache_offline(hub_cache):
    hub_cache("org/tiny-bert", MODELS / "bert" / "BertModel")
    config = AutoConfig.from_pretrained("org/tiny-bert", cache_dir=hub_cache.cache_dir)
    assert config.hidden_size == 32


def test_revision_and_subfolder_from_hub_cache(hub_cache, tmp_path):
    nested = tmp_path / "nested"
    (nested / "sub").mkdir(parents=True)
    (nested / "sub" / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 48,
                                                            "num_attention_heads": 4}))  # fmt: skip
    hub_cache("org/nested", nested, revision="v1", commit="b" * 40)
    config = AutoConfig.from_pretrained("org/nested", subfolder="sub", revision="v1", cache_dir=hub_cache.cache_dir)
    assert config.hidden_size == 48


def test_repo_not_in_cache_offline_names_what_was_looked_for(hub_cache):
    with pytest.raises(OSError) as err:
        AutoConfig.from_pretrained("org/absent", cache_dir=hub_cache.cache_dir)
    assert "org/absent" in str(err.value) and "config.json" in str(err.value) and "not in the Hub cache" in str(err.value)


def test_missing_file_in_cached_repo(hub_cache, tmp_path):
    (tmp_path / "README.md").write_text("no config here")
    hub_cache("org/empty", tmp_path)
    with pytest.raises(OSError, match="config.json"):
        AutoConfig.from_pretrained("org/empty", cache_dir=hub_cache.cache_dir)


def test_an_architecture_missing_in_a_framework_says_so():
    """Every built-in architecture exists in every framework, so a user-registered one that only has a
    PyTorch class stands in: asking for it in TF names the frameworks it does have."""

    class TorchOnlyConfig(autoload.PretrainedConfig):
        model_type = "torch-only-core-test"

    class TorchOnlyModel:  # registering needs no framework: the class is only looked up, never built here
        config_class = TorchOnlyConfig
        backend = "torch"

    AutoConfig.register("torch-only-core-test", TorchOnlyConfig, exist_ok=True)
    autoload.AutoModel.register(TorchOnlyConfig, TorchOnlyModel, exist_ok=True)
    config = AutoConfig.for_model("torch-only-core-test")
    assert autoload.AutoModel.model_class_for(config, backend="torch") is TorchOnlyModel
    with pytest.raises(NotImplementedError, match="torch-only-core-test has no tf implementation.*available: torch\\)"):
        autoload.TFAutoModel.from_config(config)
    with pytest.raises(NotImplementedError, match="has no flax implementation"):
        autoload.AutoModel.from_config(config, backend="flax")
    with pytest.raises(ValueError, match="Unrecognized configuration class"):  # no class for this task anywhere
        autoload.TFAutoModelForSeq2SeqLM.from_config(config)


@pytest.mark.parametrize("model_type,alias,field", [
    ("gpt2", "hidden_size", "n_embd"), ("t5", "hidden_size", "d_model"), ("bart", "hidden_size", "d_model"),
    ("whisper", "hidden_size", "d_model"), ("distilbert", "hidden_size", "dim"), ("gpt2", "num_hidden_layers", "n_layer"),
])  # fmt: skip
def test_a_field_given_by_its_alias_keeps_its_value(model_type, alias, field, tmp_path):
    config = AutoConfig.for_model(model_type, **{alias: 96})
    assert getattr(config, field) == 96 and getattr(config, alias) == 96
    config.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())[field] == 96
    assert getattr(AutoConfig.from_pretrained(tmp_path), alias) == 96


def test_an_alias_and_its_field_must_agree():
    with pytest.raises(ValueError, match="hidden_size=96 and n_embd=48 name the same field"):
        AutoConfig.for_model("gpt2", hidden_size=96, n_embd=48)
    assert AutoConfig.for_model("gpt2", hidden_size=96, n_embd=96).n_embd == 96


def test_backends_install_inside_autoload(tmp_path):
    """backends/ installs as autoload.backends; no top-level `backends` package shadows another distribution's."""
    import subprocess
    import sys

    code = "import importlib.util as u; print(u.find_spec('autoload.backends.torch') is not None, u.find_spec('backends'))"
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["True", "None"]


def test_links_out_of_a_checkpoint_folder_are_refused_but_hub_snapshots_load(tmp_path):
    from autoload.errors import UnsafeCheckpointError

    secret = tmp_path / "private.json"
    secret.write_text((MODELS / "bert" / "BertModel" / "config.json").read_text())
    folder = tmp_path / "checkpoint"
    folder.mkdir()
    (folder / "config.json").symlink_to(secret)
    with pytest.raises(UnsafeCheckpointError, match="outside the checkpoint folder"):
        AutoConfig.from_pretrained(folder)

    # a Hub cache snapshot opened as a folder: its files are links into the repository's blobs
    repo = tmp_path / "models--org--tiny"
    (repo / "blobs").mkdir(parents=True)
    snapshot = repo / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    blob = repo / "blobs" / "0123abcd"
    blob.write_text(secret.read_text())
    (snapshot / "config.json").symlink_to(os.path.relpath(blob, snapshot))
    assert AutoConfig.from_pretrained(snapshot).model_type == "bert"
    # and a link to another file inside the folder is fine
    (folder / "config.json").unlink()
    (folder / "real.json").write_text(secret.read_text())
    (folder / "config.json").symlink_to("real.json")
    assert AutoConfig.from_pretrained(folder).model_type == "bert"
