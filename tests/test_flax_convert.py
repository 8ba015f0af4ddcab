"""The Flax <-> canonical converter's generic rules on every architecture's transformers-written
flax_model.msgpack (numpy only: no jax or flax needed)."""

import json

import numpy as np
import pytest
from conftest import MODELS
from safetensors.numpy import load_file

from autoload.convert.flax import canonical_to_flax, flax_to_canonical_state, flax_weights_to_canonical
from autoload.loading import OPTIONAL_BUFFERS
from autoload.weights import flatten_tree, read_flax_msgpack

MSGPACKS = sorted(MODELS.glob("*/formats/flax_msgpack/flax_model.msgpack"))


def _computed_tables(msgpack) -> set[str]:
    """Sinusoidal position tables: PyTorch keeps them in its state dict, Flax computes them from the config."""
    config = json.loads((msgpack.parent / "config.json").read_text())
    if config["model_type"] not in ("marian", "pegasus"):
        return set()
    return {"encoder.embed_positions.weight", "decoder.embed_positions.weight",
            "model.encoder.embed_positions.weight", "model.decoder.embed_positions.weight"}  # fmt: skip


def _base_checkpoint(msgpack):
    """The same weights as safetensors, written by transformers' PyTorch class."""
    folder = msgpack.parent
    arch = json.loads((folder / "config.json").read_text())["architectures"][0]
    return load_file(folder.parent.parent / arch / "model.safetensors")


@pytest.mark.parametrize("msgpack", MSGPACKS, ids=lambda p: p.parts[-4])
def test_flax_paths_become_the_pytorch_state_dict(msgpack):
    tree = read_flax_msgpack(msgpack)
    canonical = flax_weights_to_canonical(flatten_tree(tree))
    torch_state = _base_checkpoint(msgpack)
    computed = _computed_tables(msgpack)
    assert sorted(canonical) == sorted(k for k in torch_state if not k.endswith(OPTIONAL_BUFFERS) and k not in computed)
    for name in canonical:
        assert canonical.shape(name) == torch_state[name].shape, name
        np.testing.assert_array_equal(canonical[name], torch_state[name], err_msg=name)

    # and back: the target tree's shapes decide every leaf's name and layout
    rebuilt, missing = canonical_to_flax(torch_state, tree)
    assert missing == []
    flat_tree, flat_rebuilt = flatten_tree(tree), flatten_tree(rebuilt)
    assert sorted(flat_rebuilt) == sorted(flat_tree)
    for path, array in flat_tree.items():
        np.testing.assert_array_equal(flat_rebuilt[path], array, err_msg=path)


def test_whole_tree_to_state_dict_and_missing_leaves():
    tree = read_flax_msgpack(MODELS / "bert/formats/flax_msgpack/flax_model.msgpack")
    state = flax_to_canonical_state(tree)
    assert state["encoder.layer.0.attention.self.query.weight"].shape == (32, 32)
    del state["pooler.dense.bias"]
    rebuilt, missing = canonical_to_flax(state, tree)
    assert missing == [("pooler/dense/bias", "pooler.dense.bias")]
    assert rebuilt["pooler"]["dense"]["bias"] is None
