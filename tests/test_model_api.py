"""Model attributes transformers 4.x users read in every framework: name_or_path, can_generate(), Flax's dtype
casts."""

import numpy as np
import pytest
from conftest import MODELS
from model_checks import PREFIX, needs

import autoload

BACKENDS = ["torch", "tf", "flax"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_name_or_path_and_can_generate(backend):
    needs(backend)
    folder = MODELS / "gpt2" / "GPT2LMHeadModel"
    model = getattr(autoload, PREFIX[backend] + "AutoModelForCausalLM").from_pretrained(str(folder))
    assert model.name_or_path == str(folder)
    assert getattr(autoload, PREFIX[backend] + "AutoModelForCausalLM").from_config(model.config).name_or_path == ""
    assert type(model).can_generate() and model.can_generate()
    assert not getattr(autoload, PREFIX[backend] + "BertModel").can_generate()


def test_flax_casts_the_floating_leaves_chosen():
    needs("flax")
    import jax
    import jax.numpy as jnp

    model = autoload.FlaxAutoModel.from_pretrained(MODELS / "bert" / "BertModel")
    params = model.params
    half = model.to_bf16(params)
    assert {leaf.dtype for leaf in jax.tree_util.tree_leaves(half)} == {jnp.dtype(jnp.bfloat16)}
    assert {leaf.dtype for leaf in jax.tree_util.tree_leaves(model.params)} == {jnp.dtype(jnp.float32)}
    mask = jax.tree_util.tree_map_with_path(lambda path, _: "LayerNorm" not in jax.tree_util.keystr(path), params)
    mixed = model.to_fp16(params, mask)
    norm = mixed["encoder"]["layer"]["0"]["output"]["LayerNorm"]["scale"]
    assert norm.dtype == jnp.float32 and mixed["pooler"]["dense"]["kernel"].dtype == jnp.float16
    back = model.to_fp32(half)
    np.testing.assert_allclose(back["pooler"]["dense"]["kernel"], params["pooler"]["dense"]["kernel"], rtol=1e-2)


@pytest.mark.parametrize("backend", BACKENDS)
def test_parameter_counts_agree_across_frameworks(backend):
    """Each framework counts each weight once (the tied decoder, which the checkpoint omits, too)."""
    needs(backend)
    from safetensors.numpy import load_file

    folder = MODELS / "bert" / "BertForMaskedLM"
    model = getattr(autoload, PREFIX[backend] + "AutoModelForMaskedLM").from_pretrained(folder)
    stored = sum(array.size for array in load_file(folder / "model.safetensors").values())
    count = model.num_parameters()
    assert count == stored and (backend == "flax" or model.num_parameters(only_trainable=True) == count)
    if backend == "torch":
        assert model.get_memory_footprint() == 4 * (count + sum(b.numel() for b in model.buffers()))
