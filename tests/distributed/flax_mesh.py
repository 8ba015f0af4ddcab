"""Run by tests/test_flax_sharded_loading.py in its own process, with 8 host devices (XLA_FLAGS set by the test):
Flax models loaded onto 2x4 and 1x8 meshes against the same checkpoints loaded on one device.

usage: python flax_mesh.py FIXTURES_MODELS_DIR WORK_DIR CHECK
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, PartitionSpec

from autoload import AutoConfig, FlaxAutoModel, FlaxAutoModelForCausalLM, FlaxAutoModelForMaskedLM
from autoload.backends.flax.models.bert import FlaxBertForMaskedLM
from autoload.backends.flax.models.llama import FlaxLlamaForCausalLM
from autoload.partitioning import default_partition_rules
from autoload.weights import SafetensorsReader

MODELS, WORK, CHECK = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
assert jax.device_count() == 8, jax.devices()
IDS = np.array([[5, 17, 3, 44, 9, 12, 30, 7], [8, 4, 90, 33, 71, 6, 0, 0]], np.int32)
MASK = (np.arange(8) < np.array([[8], [6]])).astype(np.int32)


def mesh(data: int, model: int) -> Mesh:
    return Mesh(np.array(jax.devices()).reshape(data, model), ("data", "model"))


def leaf(params, dotted: str):
    for key in dotted.split("."):
        params = params[key]
    return params


def jitted_logits(model, **inputs):
    return np.asarray(jax.jit(lambda p, kw: model(params=p, **kw).logits)(model.params, inputs))


def tiny_checkpoint(family: str, dtype=None) -> Path:
    """A random checkpoint whose sizes divide 8, saved as safetensors by our own unsharded model."""
    folder = WORK / f"{family}-{dtype or 'float32'}"
    if folder.exists():
        return folder
    if family == "llama":
        config = AutoConfig.from_pretrained(MODELS / "llama" / "LlamaForCausalLM", vocab_size=128, hidden_size=64,
                                            intermediate_size=128, num_attention_heads=4, num_key_value_heads=2,
                                            head_dim=16, attention_bias=True, mlp_bias=True)  # fmt: skip
        model = FlaxLlamaForCausalLM(config, seed=3, _do_init=False)
    else:
        config = AutoConfig.from_pretrained(MODELS / "bert" / "BertForMaskedLM", vocab_size=128, hidden_size=64,
                                            intermediate_size=128)  # fmt: skip
        model = FlaxBertForMaskedLM(config, seed=3, _do_init=False)
    params = jax.jit(model.init_weights)(model.key)  # one compilation, not one per initialiser
    if dtype is not None:
        params = jax.tree_util.tree_map(lambda x: x.astype(dtype), params)
        model.config.dtype = "bfloat16"
    model.save_pretrained(folder, params=params, safe_serialization=True)
    return folder


def check_fixture_against_reference():
    """The transformers reference fixture (sizes 99 and 37 divide nothing) with rules that split attention only."""
    folder = MODELS / "llama" / "LlamaForCausalLM"
    inputs = dict(np.load(folder / "inputs.npz"))
    expected = np.load(folder / "expected.npz")["logits"]
    rules = [(r"(q|k|v)_proj\.weight$", PartitionSpec("model", "data")), (r"o_proj\.weight$", PartitionSpec(None, "model"))]
    model = FlaxAutoModelForCausalLM.from_pretrained(folder, mesh=mesh(2, 4), partition_rules=rules)
    q = leaf(model.params, "model.layers.0.self_attn.q_proj.kernel")
    assert q.sharding.spec == PartitionSpec("data", "model"), q.sharding
    assert {s.data.shape for s in q.addressable_shards} == {(16, 8)}, [s.data.shape for s in q.addressable_shards]
    o = leaf(model.params, "model.layers.0.self_attn.o_proj.kernel")
    assert o.sharding.spec == PartitionSpec("model", None), o.sharding
    assert leaf(model.params, "lm_head.kernel").sharding.is_fully_replicated
    with jax.set_mesh(mesh(2, 4)):
        logits = jitted_logits(model, **inputs)
    np.testing.assert_allclose(logits, expected, atol=1e-4)
    msgpack = MODELS / "llama" / "formats" / "flax_msgpack"  # no slice reads: each tensor read whole, then cut
    native = FlaxAutoModel.from_pretrained(msgpack, mesh=mesh(2, 4), partition_rules=rules)  # a LlamaModel
    assert leaf(native.params, "layers.1.self_attn.k_proj.kernel").sharding.spec == PartitionSpec("data", "model")
    hidden = jax.jit(lambda p, kw: native(params=p, **kw).last_hidden_state)
    with jax.set_mesh(mesh(2, 4)):
        np.testing.assert_allclose(np.asarray(hidden(native.params, dict(np.load(msgpack / "inputs.npz")))),
                                   np.load(msgpack / "expected.npz")["last_hidden_state"], atol=1e-4)  # fmt: skip
    try:
        FlaxAutoModelForCausalLM.from_pretrained(folder, mesh=mesh(1, 8))  # default rules: 37 and 99 split by 8
    except ValueError as error:
        assert "lm_head.weight has shape (99, 32)" in str(error) and "cannot be split evenly" in str(error), error
    else:
        raise AssertionError("default rules on sizes 8 does not divide loaded")
    try:
        FlaxAutoModelForCausalLM.from_pretrained(folder, mesh=mesh(2, 4),
                                                 partition_rules=[(r"gate_proj\.weight$", ("model", None))])
    except ValueError as error:
        assert "model.layers.0.mlp.gate_proj.weight" in str(error) and "(37, 32)" in str(error), error
    else:
        raise AssertionError("a rule splitting 37 over 4 devices loaded")


def check_decoder_meshes():
    folder = tiny_checkpoint("llama")
    reference = FlaxAutoModelForCausalLM.from_pretrained(folder)
    expected = np.asarray(reference(input_ids=IDS, attention_mask=MASK).logits)
    whole_reads = []
    original = SafetensorsReader.__getitem__

    def recording(self, name):
        whole_reads.append(name)
        return original(self, name)

    SafetensorsReader.__getitem__ = recording
    try:
        for shape, rules in (((2, 4), None), ((1, 8), None), ((2, 4), default_partition_rules(fsdp=True))):
            whole_reads.clear()
            model = FlaxAutoModelForCausalLM.from_pretrained(folder, mesh=mesh(*shape), partition_rules=rules)
            replicated = ("norm", "o_proj.bias", "down_proj.bias")
            assert whole_reads and all(n.endswith(replicated) or "norm" in n for n in whole_reads), whole_reads
            up = leaf(model.params, "model.layers.1.mlp.up_proj.kernel")
            assert up.sharding.spec == PartitionSpec("data" if rules else None, "model"), up.sharding.spec
            assert {s.data.shape[1] for s in up.addressable_shards} == {128 // shape[1]}
            down = leaf(model.params, "model.layers.1.mlp.down_proj.kernel")
            assert down.sharding.spec == PartitionSpec("model", "data" if rules else None), down.sharding.spec
            assert leaf(model.params, "model.norm.weight").sharding.is_fully_replicated
            assert leaf(model.params, "model.layers.0.self_attn.k_proj.bias").sharding.spec == PartitionSpec("model")
            assert leaf(model.params, "model.layers.0.mlp.down_proj.bias").sharding.is_fully_replicated
            with jax.set_mesh(mesh(*shape)):
                np.testing.assert_allclose(jitted_logits(model, input_ids=IDS, attention_mask=MASK), expected,
                                           atol=2e-5)  # fmt: skip
    finally:
        SafetensorsReader.__getitem__ = original
    # save_pretrained from the sharded model: ordinary shards, which load unsharded to the same model
    out = WORK / "saved"
    model.save_pretrained(out, safe_serialization=True, max_shard_size="40KB")
    assert (out / "model.safetensors.index.json").exists() and len(list(out.glob("model-*.safetensors"))) > 2
    again = FlaxAutoModelForCausalLM.from_pretrained(out)
    np.testing.assert_allclose(np.asarray(again(input_ids=IDS, attention_mask=MASK).logits), expected, atol=2e-5)


def check_generate():
    """Greedy tokens of a model sharded over 1x8 equal the unsharded model's."""
    folder = tiny_checkpoint("llama")
    tokens = np.asarray(FlaxAutoModelForCausalLM.from_pretrained(folder).generate(IDS, attention_mask=MASK,
                                                                                    max_new_tokens=4, do_sample=False))
    model = FlaxAutoModelForCausalLM.from_pretrained(folder, mesh=mesh(1, 8))
    with jax.set_mesh(mesh(1, 8)):
        sharded = np.asarray(model.generate(IDS, attention_mask=MASK, max_new_tokens=4, do_sample=False))
    np.testing.assert_array_equal(sharded, tokens)
    assert tokens.shape == (2, 12)


def check_bfloat16():
    folder = tiny_checkpoint("llama", jnp.bfloat16)
    plain = FlaxAutoModelForCausalLM.from_pretrained(folder, dtype="auto")
    model = FlaxAutoModelForCausalLM.from_pretrained(folder, dtype="auto", mesh=mesh(1, 8))
    for path, value in jax.tree_util.tree_leaves_with_path(model.params):
        other = dict(jax.tree_util.tree_leaves_with_path(plain.params))[path]
        assert value.dtype == jnp.bfloat16 and other.dtype == jnp.bfloat16, (path, value.dtype)
        np.testing.assert_array_equal(np.asarray(value), np.asarray(other))


def check_encoder():
    folder = tiny_checkpoint("bert")
    reference = FlaxAutoModelForMaskedLM.from_pretrained(folder)
    expected = np.asarray(reference(input_ids=IDS, attention_mask=MASK).logits)
    model = FlaxAutoModelForMaskedLM.from_pretrained(folder, mesh=mesh(2, 4))
    query = leaf(model.params, "bert.encoder.layer.0.attention.self.query.kernel")
    assert query.sharding.spec == PartitionSpec(None, "model"), query.sharding.spec
    output = leaf(model.params, "bert.encoder.layer.0.output.dense.kernel")
    assert output.sharding.spec == PartitionSpec("model", None), output.sharding.spec
    words = leaf(model.params, "bert.embeddings.word_embeddings.embedding")
    assert words.sharding.spec == PartitionSpec("model", None), words.sharding.spec
    with jax.set_mesh(mesh(2, 4)):
        np.testing.assert_allclose(jitted_logits(model, input_ids=IDS, attention_mask=MASK), expected, atol=2e-5)


{"fixture": check_fixture_against_reference, "decoder": check_decoder_meshes, "generate": check_generate,
 "bfloat16": check_bfloat16, "encoder": check_encoder}[CHECK]()  # fmt: skip
print("ok", CHECK, os.getpid())
