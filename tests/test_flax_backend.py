"""The Flax adapter: params pytree, jit, loading without a throwaway init, saving, bad checkpoints."""

import json
import shutil

import numpy as np
import pytest

jax = pytest.importorskip("jax")
pytest.importorskip("flax")

from conftest import MODELS, read_fixture  # noqa: E402
from model_checks import largest_fixture_per_architecture  # noqa: E402

import autoload  # noqa: E402
from autoload.backends.flax.modeling import FlaxPreTrainedModel  # noqa: E402

BERT = MODELS / "bert"


@pytest.fixture(scope="module")
def masked_lm():
    return autoload.FlaxAutoModelForMaskedLM.from_pretrained(BERT / "BertForMaskedLM")


def test_call_with_params_and_under_jit(masked_lm):
    meta, inputs, expected = read_fixture(BERT / "BertForMaskedLM")
    eager = masked_lm(**inputs).logits
    np.testing.assert_allclose(np.asarray(eager), expected["logits"], atol=1e-4)
    apply = jax.jit(lambda params, batch: masked_lm.module.apply({"params": params}, **batch).logits)
    jitted = apply(masked_lm.params, {k: jax.numpy.asarray(v) for k, v in inputs.items()})
    np.testing.assert_allclose(np.asarray(jitted), expected["logits"], atol=1e-4)
    shifted = jax.tree_util.tree_map(lambda p: p * 0, masked_lm.params)
    assert not np.allclose(np.asarray(masked_lm(**inputs, params=shifted).logits), np.asarray(eager))


def test_dropout_only_when_training(masked_lm):
    _, inputs, _ = read_fixture(BERT / "BertForMaskedLM")
    first = masked_lm(**inputs, train=True, dropout_rng=jax.random.PRNGKey(1)).logits
    second = masked_lm(**inputs, train=True, dropout_rng=jax.random.PRNGKey(2)).logits
    assert not np.allclose(np.asarray(first), np.asarray(second))


def test_loading_never_runs_a_real_initialisation(monkeypatch):
    original = FlaxPreTrainedModel.init_weights
    concrete_calls = []

    def spy(self, rng):
        if not isinstance(rng, jax.core.Tracer):
            concrete_calls.append(type(self).__name__)
        return original(self, rng)

    monkeypatch.setattr(FlaxPreTrainedModel, "init_weights", spy)
    autoload.FlaxAutoModelForMaskedLM.from_pretrained(BERT / "BertForMaskedLM")
    model, info = autoload.FlaxAutoModelForSequenceClassification.from_pretrained(BERT / "BertModel",
                                                                                  output_loading_info=True)  # fmt: skip
    assert concrete_calls == []  # the head the checkpoint lacks comes from a jitted init of just its leaves
    assert sorted(info["missing_keys"]) == ["classifier.bias", "classifier.weight"]
    full = autoload.FlaxBertForSequenceClassification(model.config).params
    assert concrete_calls == ["FlaxBertForSequenceClassification"]
    for leaf in ("kernel", "bias"):  # the values a full initialisation with the same seed gives (up to XLA's
        # rounding: the jitted init fuses the sampling differently)
        np.testing.assert_allclose(np.asarray(model.params["classifier"][leaf]), full["classifier"][leaf], rtol=1e-6)


def test_do_init_false_builds_no_parameters():
    config = autoload.AutoConfig.from_pretrained(BERT / "BertModel")
    model = autoload.FlaxBertModel(config, _do_init=False)
    with pytest.raises(ValueError, match="_do_init=False"):
        model.params  # noqa: B018
    shapes = model.abstract_params()
    assert shapes["embeddings"]["word_embeddings"]["embedding"].shape == (99, 32)


def test_text_encoding_family_exists_in_flax():
    model = autoload.FlaxAutoModelForTextEncoding.from_pretrained(BERT / "BertModel")
    assert type(model).__name__ == "FlaxBertModel"


@pytest.mark.parametrize("safe", [False, True])
def test_saved_files_load_in_every_framework(tmp_path, masked_lm, safe):
    meta, inputs, expected = read_fixture(BERT / "BertForMaskedLM")
    masked_lm.save_pretrained(tmp_path, safe_serialization=safe)
    assert (tmp_path / ("model.safetensors" if safe else "flax_model.msgpack")).exists()
    again = autoload.FlaxAutoModelForMaskedLM.from_pretrained(tmp_path)
    np.testing.assert_allclose(np.asarray(again(**inputs).logits), expected["logits"], atol=1e-4)
    torch = pytest.importorskip("torch")
    torch_model = autoload.AutoModelForMaskedLM.from_pretrained(tmp_path, **({} if safe else {"from_flax": True}))
    with torch.no_grad():
        logits = torch_model(**{k: torch.from_numpy(v) for k, v in inputs.items()}).logits.numpy()
    np.testing.assert_allclose(logits, expected["logits"], atol=1e-4)


def test_msgpack_layout_matches_transformers(tmp_path):
    from autoload.weights import flatten_tree, read_flax_msgpack

    autoload.FlaxAutoModel.from_pretrained(BERT / "BertModel").save_pretrained(tmp_path)
    ours = flatten_tree(read_flax_msgpack(tmp_path / "flax_model.msgpack"))
    theirs = flatten_tree(read_flax_msgpack(BERT / "formats/flax_msgpack/flax_model.msgpack"))
    assert sorted(ours) == sorted(theirs)


@pytest.mark.parametrize("content", [b"\x93\x01\x02\x03", b"\x00garbage"])
def test_msgpack_that_is_not_a_state_dict(tmp_path, content):
    shutil.copy(BERT / "BertModel" / "config.json", tmp_path)
    (tmp_path / "flax_model.msgpack").write_bytes(content)
    with pytest.raises(ValueError, match="Flax state dict"):
        autoload.FlaxAutoModel.from_pretrained(tmp_path)


def test_shape_mismatch_names_key_and_file(tmp_path):
    shutil.copytree(BERT / "formats/flax_msgpack", tmp_path, dirs_exist_ok=True)
    config = json.loads((tmp_path / "config.json").read_text())
    config["vocab_size"] = 120
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="word_embeddings.*flax_model.msgpack"):
        autoload.FlaxAutoModel.from_pretrained(tmp_path)
    model, info = autoload.FlaxAutoModel.from_pretrained(tmp_path, ignore_mismatched_sizes=True,
                                                         output_loading_info=True)  # fmt: skip
    assert [k for k, _, _ in info["mismatched_keys"]] == ["embeddings.word_embeddings.weight"]
    assert model.params["embeddings"]["word_embeddings"]["embedding"].shape == (120, 32)


def test_vit_position_interpolation_matches_pytorch():
    torch = pytest.importorskip("torch")
    folder = MODELS / "vit" / "ViTModel"
    pixels = np.random.default_rng(0).standard_normal((1, 3, 48, 40)).astype(np.float32)
    flax_model = autoload.FlaxAutoModel.from_pretrained(folder)
    with pytest.raises(ValueError, match="interpolate_pos_encoding"):
        flax_model(pixel_values=pixels)
    ours = np.asarray(flax_model(pixel_values=pixels, interpolate_pos_encoding=True).last_hidden_state)
    with torch.no_grad():
        reference = autoload.AutoModel.from_pretrained(folder)(torch.from_numpy(pixels), interpolate_pos_encoding=True)
    np.testing.assert_allclose(ours, reference.last_hidden_state.numpy(), atol=1e-4)


@pytest.mark.parametrize("folder", largest_fixture_per_architecture("Flax"))
def test_abstract_params_without_initialisers_match_init(folder):
    """Loading traces the parameter shapes with the initialisers replaced by zeros and the first layer alone of a
    stack of like layers: the tree must be the one a real init gives, for every class (custom param calls
    included)."""
    import jax

    config = autoload.AutoConfig.from_pretrained(folder)
    model = getattr(autoload, "Flax" + folder.name)(config, _do_init=False)
    shapes = jax.tree_util.tree_map(lambda a: (a.shape, a.dtype), model.abstract_params())
    assert shapes == jax.tree_util.tree_map(lambda a: (a.shape, a.dtype), jax.eval_shape(model.init_weights, model.key))


@pytest.mark.parametrize("folder, stacks", [
    (MODELS / "bert" / "BertModel", [("encoder", "layer")]),
    (MODELS / "llama" / "LlamaForCausalLM", [("model", "layers")]),
    (MODELS / "bart" / "BartForConditionalGeneration", [("model", "encoder", "layers"), ("model", "decoder", "layers")]),
    (MODELS / "clip" / "CLIPModel", [("vision_model", "encoder", "layers"), ("text_model", "encoder", "layers")]),
])  # fmt: skip
def test_stacks_of_like_layers_trace_their_first_layer(folder, stacks):
    """The shape trace runs one layer per stack of like layers (the test above checks the tree it gives)."""
    import jax

    from autoload.backends.flax.abstract_params import shapes_only

    model = getattr(autoload, "Flax" + folder.name)(autoload.AutoConfig.from_pretrained(folder), _do_init=False)
    with shapes_only() as repeats:
        traced = jax.eval_shape(lambda key: model.init_weights(key), model.key)
    layers = [str(i) for i in range(2)]
    assert sorted(set(repeats)) == sorted((path, tuple(layers)) for path in stacks)
    assert all(sorted(_node(traced, path)) == ["0"] for path in stacks)  # the trace made the first layer only
    assert all(sorted(_node(model.abstract_params(), path)) == layers for path in stacks)


def _node(tree, path):
    for key in path:
        tree = tree[key]
    return tree


def test_applying_checks_each_parameter_against_its_declared_shape():
    """Calls check parameter shapes from their declarations (not by tracing each initialiser): a parameter
    of the wrong shape is still refused, naming it."""
    import jax.numpy as jnp
    from flax.errors import ScopeParamShapeError

    model = autoload.FlaxAutoModel.from_pretrained(BERT / "BertModel")
    params = jax_tree_copy(model.params)
    params["pooler"]["dense"]["kernel"] = jnp.zeros((32, 31))
    with pytest.raises(ScopeParamShapeError, match="kernel"):
        model(np.array([[5, 6, 7]]), params=params)
    model(np.array([[5, 6, 7]]), params=jax_tree_copy(model.params))  # the real shapes pass


def jax_tree_copy(tree):
    return {k: jax_tree_copy(v) if isinstance(v, dict) else v for k, v in tree.items()}


def test_modules_take_their_layer_norm_from_norms():
    """flax's own LayerNorm traces its statistics while loading only wants parameter shapes (blocks/norms.py)."""
    import pathlib

    import autoload.backends.flax as package

    root = pathlib.Path(package.__file__).parent
    users = [str(p.relative_to(root)) for p in root.rglob("*.py")
             if p.name != "norms.py" and "nn.LayerNorm(" in p.read_text()]  # fmt: skip
    assert users == []
