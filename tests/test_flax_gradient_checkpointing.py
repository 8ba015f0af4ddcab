"""Gradient checkpointing in Flax (`enable_gradient_checkpointing()`): each layer of a stack runs under
nn.remat, the gradients stay those without it (dropout masks included) and the parameters are the same."""

import numpy as np
import pytest

jax = pytest.importorskip("jax")

from conftest import MODELS, fixture_model_class, read_fixture  # noqa: E402

CASES = ["bert/BertForMaskedLM", "llama/LlamaForCausalLM", "bart/BartForConditionalGeneration",
         "gpt2/GPT2LMHeadModel", "clip/CLIPModel"]  # fmt: skip


def _step(model, inputs: dict):
    """The (loss, gradients) function of one training step with a fixed dropout key, and its jaxpr as text."""

    def loss(params):
        first = model(**inputs, params=params, train=True, dropout_rng=jax.random.PRNGKey(1))[0]
        return (first.astype("float32") ** 2).mean()

    step = jax.value_and_grad(loss)
    return step, str(jax.make_jaxpr(step)(model.params))


@pytest.mark.parametrize("folder", CASES)
def test_checkpointed_layers_give_the_same_gradients(folder):
    meta, inputs, _ = read_fixture(MODELS / folder)
    model = fixture_model_class(meta, "flax").from_pretrained(MODELS / folder)
    step, plain = _step(model, inputs)
    loss, gradients = jax.jit(step)(model.params)
    assert not model.is_gradient_checkpointing and "remat" not in plain

    model.enable_gradient_checkpointing()
    step, rematted = _step(model, inputs)
    again, checkpointed_gradients = jax.jit(step)(model.params)
    assert model.is_gradient_checkpointing and "remat" in rematted  # jax.checkpoint's primitive (remat2)
    np.testing.assert_allclose(float(again), float(loss), rtol=1e-6)
    flat, tree = jax.tree_util.tree_flatten(gradients)
    flat_again, tree_again = jax.tree_util.tree_flatten(checkpointed_gradients)
    assert tree == tree_again
    for ours, theirs in zip(flat_again, flat):
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-5, atol=1e-6)

    model.disable_gradient_checkpointing()
    assert "remat" not in _step(model, inputs)[1]


def test_architectures_without_a_checkpointing_stack_are_refused():
    folder = MODELS / "resnet" / "ResNetModel"
    meta, _, _ = read_fixture(folder)
    model = fixture_model_class(meta, "flax").from_pretrained(folder)
    with pytest.raises(NotImplementedError, match="FlaxResNetModel has no layer stack"):
        model.enable_gradient_checkpointing()
    assert not model.is_gradient_checkpointing
