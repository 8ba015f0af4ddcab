"""The Keras 3 adapter: calling conventions, XLA, training, saving to every framework, bad checkpoints."""

import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from conftest import MODELS, assert_matches_expected, read_fixture  # noqa: E402
from model_checks import largest_fixture_per_architecture  # noqa: E402

import autoload  # noqa: E402

BERT = MODELS / "bert"


@pytest.fixture(scope="module")
def masked_lm():
    return autoload.TFAutoModelForMaskedLM.from_pretrained(BERT / "BertForMaskedLM")


def test_dict_kwargs_numpy_and_tf_tensors_agree(masked_lm):
    meta, inputs, expected = read_fixture(BERT / "BertForMaskedLM")
    by_dict = masked_lm(inputs).logits
    by_kwargs = masked_lm(**{k: tf.constant(v) for k, v in inputs.items()}).logits
    np.testing.assert_allclose(by_dict.numpy(), expected["logits"], atol=1e-4)
    np.testing.assert_allclose(by_kwargs.numpy(), by_dict.numpy(), atol=1e-6)
    assert masked_lm(inputs, return_dict=False)[0].shape == by_dict.shape


def test_runs_under_xla(masked_lm):
    meta, inputs, expected = read_fixture(BERT / "BertForMaskedLM")
    compiled = tf.function(lambda batch: masked_lm(batch).logits, jit_compile=True)
    np.testing.assert_allclose(compiled({k: tf.constant(v) for k, v in inputs.items()}).numpy(), expected["logits"],
                               atol=1e-4)  # fmt: skip


def test_keras_on_another_backend_is_refused_clearly():
    code = textwrap.dedent(
        f"""
        import os
        os.environ["KERAS_BACKEND"] = "jax"
        import autoload
        try:
            autoload.TFAutoModel.from_pretrained({str(BERT / "BertModel")!r})
        except ImportError as exc:
            print("ImportError:", exc)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert "ImportError:" in result.stdout and "KERAS_BACKEND=tensorflow" in result.stdout, result.stderr[-2000:]


@pytest.mark.parametrize("safe", [False, True])
def test_saved_files_load_in_every_framework(tmp_path, masked_lm, safe):
    meta, inputs, expected = read_fixture(BERT / "BertForMaskedLM")
    masked_lm.save_pretrained(tmp_path, safe_serialization=safe)
    assert (tmp_path / ("model.safetensors" if safe else "tf_model.h5")).exists()
    again = autoload.TFAutoModelForMaskedLM.from_pretrained(tmp_path)
    np.testing.assert_allclose(again(inputs).logits.numpy(), expected["logits"], atol=1e-4)
    flag = {} if safe else {"from_tf": True}
    torch = pytest.importorskip("torch")
    torch_model = autoload.AutoModelForMaskedLM.from_pretrained(tmp_path, **flag)
    with torch.no_grad():
        logits = torch_model(**{k: torch.from_numpy(v) for k, v in inputs.items()}).logits.numpy()
    np.testing.assert_allclose(logits, expected["logits"], atol=1e-4)


def test_sharded_h5_save_loads_in_every_framework(tmp_path, masked_lm):
    meta, inputs, expected = read_fixture(BERT / "BertForMaskedLM")
    masked_lm.save_pretrained(tmp_path, max_shard_size="30KB")
    shards = sorted(p.name for p in tmp_path.glob("tf_model-*-of-*.h5"))
    assert len(shards) > 2 and (tmp_path / "tf_model.h5.index.json").exists() and not (tmp_path / "tf_model.h5").exists()
    again, info = autoload.TFAutoModelForMaskedLM.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    np.testing.assert_allclose(again(inputs).logits.numpy(), expected["logits"], atol=1e-4)
    pytest.importorskip("flax")
    flax_model = autoload.FlaxAutoModelForMaskedLM.from_pretrained(tmp_path, from_tf=True)
    np.testing.assert_allclose(np.asarray(flax_model(**inputs).logits), expected["logits"], atol=1e-4)


def test_h5_written_matches_transformers_layout(tmp_path):
    import h5py

    autoload.TFAutoModel.from_pretrained(BERT / "BertModel").save_pretrained(tmp_path)
    with h5py.File(tmp_path / "tf_model.h5") as ours, h5py.File(BERT / "formats/tf_h5/tf_model.h5") as theirs:
        names = lambda f: sorted(str(n) for n in f["bert"].attrs["weight_names"])  # noqa: E731
        assert names(ours) == names(theirs)


def _edit_h5(source, target, drop=None, extra=None):
    import h5py

    shutil.copy(source / "config.json", target)
    with h5py.File(source / "tf_model.h5") as src, h5py.File(target / "tf_model.h5", "w") as dst:
        for key, value in src.attrs.items():
            dst.attrs[key] = value
        group = dst.create_group("bert")
        names = [n for n in src["bert"].attrs["weight_names"] if drop is None or drop not in str(n)]
        for name in names:
            group.create_dataset(name, data=src["bert"][name][()])
        if extra:
            group.create_dataset(extra, data=np.zeros(3, np.float32))
            names.append(extra)
        group.attrs["weight_names"] = names


def test_h5_with_missing_or_extra_layers_is_reported(tmp_path, caplog):
    _edit_h5(BERT / "formats/tf_h5", tmp_path, drop="pooler", extra="tf_bert_model/bert/surplus/kernel:0")
    model, info = autoload.TFAutoModel.from_pretrained(tmp_path, output_loading_info=True)
    assert sorted(info["missing_keys"]) == ["pooler.dense.bias", "pooler.dense.weight"]
    assert info["unexpected_keys"] == ["surplus.weight"]
    with caplog.at_level("WARNING", logger="autoload"):
        autoload.TFAutoModel.from_pretrained(tmp_path)
    assert "pooler" in caplog.text and "surplus" in caplog.text


def test_shape_mismatch_between_formats(tmp_path):
    import json

    shutil.copytree(BERT / "formats/tf_h5", tmp_path, dirs_exist_ok=True)
    config = json.loads((tmp_path / "config.json").read_text())
    config["intermediate_size"] = 40
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="intermediate.dense.*tf_model.h5"):
        autoload.TFAutoModel.from_pretrained(tmp_path)


def test_random_init_from_config_and_head_on_base_checkpoint():
    config = autoload.AutoConfig.from_pretrained(BERT / "BertModel")
    model = autoload.TFAutoModelForTokenClassification.from_config(config)
    assert type(model).__name__ == "TFBertForTokenClassification" and model.weights
    loaded, info = autoload.TFAutoModelForTokenClassification.from_pretrained(BERT / "BertModel",
                                                                             output_loading_info=True)  # fmt: skip
    assert sorted(info["missing_keys"]) == ["classifier.bias", "classifier.weight"]
    assert float(tf.math.reduce_std(loaded.classifier.kernel)) > 0


def test_outputs_match_reference_for_a_head_from_pt_bin(tmp_path):
    meta, inputs, expected = read_fixture(BERT / "formats/pt_bin")
    model = autoload.TFAutoModel.from_pretrained(BERT / "formats/pt_bin", from_pt=True)
    assert_matches_expected(model(inputs, output_hidden_states=True), expected)


def _variables(model) -> list:
    return sorted((v.path, tuple(v.shape), v.dtype) for v in model.weights)


@pytest.mark.parametrize("folder", largest_fixture_per_architecture("TF"))
def test_weights_built_from_sizes_are_those_a_building_call_makes(folder, monkeypatch):
    """Layers build their sublayers from the sizes they know, and a model whose every layer is built so skips
    the building call (else the call builds the rest): the variables (paths, shapes, dtypes) must be those
    the call alone creates."""
    from autoload.backends.tf import modeling

    config = autoload.AutoConfig.from_pretrained(folder)
    model_class = getattr(autoload, "TF" + folder.name)
    from_sizes = model_class(config)
    from_sizes.build_weights()
    monkeypatch.setattr(modeling, "BUILD_FROM_SIZES", False)
    by_call = model_class(config)
    by_call.build_weights()
    assert by_call._weights_built_by == "call"
    assert _variables(from_sizes) == _variables(by_call)




@pytest.mark.parametrize("folder", [pytest.param(f.parent, id=f.parent.name)
                                    for f in sorted(MODELS.glob("*/*/fixture.json"))
                                    if hasattr(autoload, "TF" + f.parent.name)])  # fmt: skip
def test_models_build_without_a_call(folder):
    """Every layer of every architecture knows its input sizes, so loading makes no building call (a new
    architecture's layers declare input_sizes() too)."""
    from autoload.backends.tf.keras_layers import FastAttributes

    model = getattr(autoload, "TF" + folder.name)(autoload.AutoConfig.from_pretrained(folder))
    model.build_weights()
    assert model._weights_built_by == "sizes"
    # Every layer takes the cheaper construction of keras_layers (a Keras class used directly pays ~0.3 ms).
    assert [type(layer).__name__ for layer in model._flatten_layers() if not isinstance(layer, FastAttributes)] == []


# Classes with no fixture folder of their own, built from the config another fixture nests:
# (class, fixture folder, attribute of its config).
NESTED_CONFIG_CLASSES = [
    ("MaskFormerSwinModel", "maskformer/MaskFormerForInstanceSegmentation", "pixel_backbone_config"),
    ("MaskFormerSwinBackbone", "maskformer/MaskFormerForInstanceSegmentation", "pixel_backbone_config"),
    ("SamVisionModel", "sam/SamModel", "vision_config"),
]


@pytest.mark.parametrize("name, folder, attribute", NESTED_CONFIG_CLASSES, ids=[c[0] for c in NESTED_CONFIG_CLASSES])
def test_nested_config_classes_build_without_a_call(name, folder, attribute, monkeypatch):
    from autoload.backends.tf import modeling

    config = getattr(autoload.AutoConfig.from_pretrained(MODELS / folder), attribute)
    from_sizes = getattr(autoload, "TF" + name)(config)
    from_sizes.build_weights()
    assert from_sizes._weights_built_by == "sizes"
    monkeypatch.setattr(modeling, "BUILD_FROM_SIZES", False)
    by_call = getattr(autoload, "TF" + name)(config)
    by_call.build_weights()
    assert _variables(from_sizes) == _variables(by_call)


def test_dropout_draws_from_one_generator_per_model():
    """Dropout layers share their model's seed generator (one variable, not one per layer); masks change from
    call to call, follow keras.utils.set_random_seed, and leave inference untouched."""
    import keras

    from autoload.backends.tf.modeling import Dropout

    folder = BERT / "BertModel"
    _, inputs, expected = read_fixture(folder)
    runs = []
    for _ in range(2):
        keras.utils.set_random_seed(3)
        model = autoload.TFBertModel.from_pretrained(folder)
        seeds = [v.path for v in model.variables if "seed" in v.path]
        assert seeds == ["dropout_seed_generator/seed_generator_state"]
        runs.append([model(**inputs, training=True).last_hidden_state.numpy() for _ in range(2)])
        np.testing.assert_allclose(model(**inputs).last_hidden_state.numpy(), expected["last_hidden_state"], atol=1e-4)
    assert np.abs(runs[0][0] - runs[0][1]).max() > 1e-3  # a fresh mask each call
    np.testing.assert_array_equal(runs[0][0], runs[1][0])  # the same masks from the same seed
    np.testing.assert_array_equal(runs[0][1], runs[1][1])

    alone = Dropout(0.5)  # outside a model's call: a generator of its own
    dropped = alone(np.ones((64, 64), np.float32), training=True).numpy()
    assert set(np.unique(dropped)) == {0.0, 2.0} and alone.own_seed_generator is not None
    with pytest.raises(ValueError, match="between 0 and 1"):
        Dropout(1.5)


def test_layers_take_their_dropout_from_modeling():
    """keras.layers.Dropout makes a seed generator and a variable per layer, which loading pays for."""
    import pathlib

    import autoload.backends.tf as package

    root = pathlib.Path(package.__file__).parent
    users = [str(p.relative_to(root)) for p in root.rglob("*.py")
             if p.name != "modeling.py" and "layers.Dropout(" in p.read_text()]  # fmt: skip
    assert users == []


def test_keras_layers_behave_as_keras_own():
    """keras_layers stores values neither tracker acts on directly; what Keras and TensorFlow track must come out
    the same, and properties keep Keras' semantics (setting `trainable` to the value it has leaves sublayers
    alone)."""
    import keras

    from autoload.backends.tf import keras_layers

    def build(module):
        outer = module.Layer(name="outer")
        outer.inner = module.Dense(3, name="inner", use_bias=False)
        outer.inner.build((None, 2))
        outer.inner.trainable = False
        outer.trainable = True  # unchanged: Keras does not call the setter, so `inner` stays frozen
        outer.note, outer.count, outer.missing = "plain", 2, None
        outer.later = None
        outer.later = module.Dense(1, name="later")  # a plain value replaced by a layer is tracked
        outer.later.build((None, 3))
        outer.act, outer.init = keras.activations.gelu, keras.initializers.Zeros()  # untracked types
        outer.sizes, outer.parts = {"a": 1}, [outer.inner]  # containers: tracked
        return outer

    ours, theirs = build(keras_layers), build(keras.layers)
    for layer in (ours, theirs):
        assert [v.path for v in layer.weights] == ["inner/kernel", "later/kernel", "later/bias"]
        assert (layer.inner.trainable, len(layer.trainable_weights)) == (False, 2)
        assert [type(sub).__name__ for sub in layer._layers] == ["Dense", "Dense"]
        assert (layer.note, layer.count, layer.missing) == ("plain", 2, None)
    assert sorted(ours._trackable_children()) == sorted(theirs._trackable_children())
    assert {k: type(v).__name__ for k, v in vars(ours).items()} == {k: type(v).__name__ for k, v in vars(theirs).items()}
    assert ours._tracked == theirs._tracked
    assert ours.inner.get_config() == {**theirs.inner.get_config(), "name": "inner"}


def test_loaded_variables_are_those_tf_variable_makes(monkeypatch):
    """Checkpoint weights become ResourceVariables through variable_creation's short path: each must be what
    tf.Variable makes from the same value and arguments; in a name scope (like a strategy or creator scope)
    tf.Variable runs instead, and internals that moved send every variable down Keras' own path."""
    from autoload.backends.tf import variable_creation

    made = []
    direct = variable_creation._resource_variable
    monkeypatch.setattr(variable_creation, "_resource_variable", lambda *a: made.append(direct(*a)) or made[-1])
    model = autoload.TFAutoModelForMaskedLM.from_pretrained(BERT / "BertForMaskedLM")
    from_checkpoint = [w for w in model.weights if "seed_generator" not in w.path]
    assert {id(v) for v in made} == {id(w.value) for w in from_checkpoint}
    for weight in from_checkpoint:
        ours = weight.value
        theirs = tf.Variable(ours.read_value(), name=weight.name, trainable=weight.trainable,
                             synchronization=ours.synchronization, aggregation=ours.aggregation)  # fmt: skip
        assert type(ours) is type(theirs)
        assert {k: type(v) for k, v in vars(ours).items()} == {k: type(v) for k, v in vars(theirs).items()}
        for attribute in ("name", "trainable", "shape", "dtype", "synchronization", "aggregation", "device"):
            assert getattr(ours, attribute) == getattr(theirs, attribute), attribute
        assert ours.handle._handle_data == theirs.handle._handle_data
        assert ours.handle._parent_trackable() is ours
    with tf.GradientTape() as tape:
        loss = model(model.dummy_inputs(), training=False).logits[0, 0, 0]
    assert all(g is not None for g in tape.gradient(loss, model.trainable_weights[:3]))

    made.clear()
    with tf.name_scope("outer"):
        scoped = autoload.TFAutoModelForMaskedLM.from_pretrained(BERT / "BertForMaskedLM")
    assert not made and scoped.weights[0].value.name.startswith("outer/")

    def moved(*args):
        raise AttributeError("internals moved")

    monkeypatch.setattr(variable_creation, "_resource_variable", moved)
    fallback = autoload.TFAutoModelForMaskedLM.from_pretrained(BERT / "BertForMaskedLM")
    assert variable_creation._direct is False
    monkeypatch.setattr(variable_creation, "_direct", True)
    inputs = model.dummy_inputs()
    np.testing.assert_array_equal(fallback(inputs).logits.numpy(), model(inputs).logits.numpy())
