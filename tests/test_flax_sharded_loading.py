"""Flax models loaded onto a device mesh (issue #18): every parameter a sharded jax.Array read slice by slice.

The mesh checks run in their own process with 8 emulated host devices (XLA_FLAGS must be set before jax starts,
and the rest of the suite keeps one device): tests/distributed/flax_mesh.py holds them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import MODELS

from autoload.partitioning import check_rules, default_partition_rules, spec_for

SCRIPT = Path(__file__).parent / "distributed" / "flax_mesh.py"


@pytest.mark.parametrize("check", ["fixture", "decoder", "generate", "bfloat16", "encoder"])
def test_mesh_loading_in_its_own_process(check, tmp_path):
    """fixture: the transformers reference logits from a 2x4 mesh, clear errors for rules that do not divide;
    decoder: default / FSDP rules on 2x4 and 1x8 give the unsharded logits, no tensor is read whole, and
    save_pretrained writes ordinary shards; generate: greedy tokens on 1x8; bfloat16: dtype='auto' keeps
    bfloat16 slices exact; encoder: BERT's default rules."""
    pytest.importorskip("flax")
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8", "JAX_PLATFORMS": "cpu",
           "HF_HUB_OFFLINE": "1"}  # fmt: skip
    run = subprocess.run([sys.executable, str(SCRIPT), str(MODELS), str(tmp_path), check], env=env,
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-6000:]
    assert f"ok {check}" in run.stdout


def test_default_rules_split_projections_by_output_or_input():
    rules = check_rules(default_partition_rules())
    sizes = {"data": 2, "model": 4}
    assert spec_for("model.layers.3.self_attn.q_proj.weight", (64, 32), rules, sizes) == ("model", None)
    assert spec_for("model.layers.3.self_attn.o_proj.weight", (32, 64), rules, sizes) == (None, "model")
    assert spec_for("model.layers.3.mlp.down_proj.weight", (32, 64), rules, sizes) == (None, "model")
    assert spec_for("model.layers.3.post_attention_layernorm.weight", (32,), rules, sizes) == (None,)
    assert spec_for("bert.encoder.layer.0.attention.output.dense.weight", (32, 32), rules, sizes) == (None, "model")
    assert spec_for("bert.encoder.layer.0.intermediate.dense.bias", (64,), rules, sizes) == ("model",)
    fsdp = check_rules(default_partition_rules(fsdp=True))
    assert spec_for("lm_head.weight", (128, 32), fsdp, sizes) == ("model", "data")


def test_rules_that_do_not_fit_name_the_parameter():
    rules = check_rules([(r"gate_proj\.weight$", ("model", None)), (r"norm", ("model", None)),
                         (r"up_proj", (("data", "model"),)), (r"k_proj", ("tensor",))])  # fmt: skip
    sizes = {"data": 2, "model": 4}
    with pytest.raises(ValueError, match=r"layers\.0\.mlp\.gate_proj\.weight has shape \(37, 32\).*axis 0 \(37\)"):
        spec_for("layers.0.mlp.gate_proj.weight", (37, 32), rules, sizes)
    with pytest.raises(ValueError, match=r"final_norm\.weight.*more entries than the parameter has axes"):
        spec_for("final_norm.weight", (32,), rules, sizes)
    with pytest.raises(ValueError, match=r"up_proj.*\('data', 'model'\) \(8 devices\)"):
        spec_for("up_proj.weight", (12, 32), rules, sizes)
    with pytest.raises(ValueError, match=r"k_proj\.weight over mesh axis 'tensor'.*\['data', 'model'\]"):
        spec_for("k_proj.weight", (32, 32), rules, sizes)
    with pytest.raises(ValueError, match="is not \\(regex over the canonical parameter name, PartitionSpec\\)"):
        check_rules([("q_proj",)])


def test_partition_rules_need_a_mesh():
    pytest.importorskip("flax")
    from autoload import FlaxAutoModelForCausalLM

    with pytest.raises(ValueError, match="partition_rules needs mesh="):
        FlaxAutoModelForCausalLM.from_pretrained(MODELS / "llama" / "LlamaForCausalLM", partition_rules=[])


def test_safetensors_slices_are_read_from_disk(tmp_path):
    from autoload.weights import SafetensorsReader, write_safetensors

    bits = np.arange(24, dtype=np.uint16).reshape(4, 6)
    write_safetensors({"w": np.arange(24, dtype=np.float32).reshape(4, 6)}, tmp_path / "f.safetensors")
    reader = SafetensorsReader(tmp_path / "f.safetensors")
    np.testing.assert_array_equal(reader.read_slice("w", (slice(1, 3), slice(2, 6))),
                                  np.arange(24, dtype=np.float32).reshape(4, 6)[1:3, 2:6])  # fmt: skip
    write_safetensors(_Bfloat16Bits({"b": bits}), tmp_path / "b.safetensors")
    kept = SafetensorsReader(tmp_path / "b.safetensors", keep_bf16=True)
    np.testing.assert_array_equal(kept.read_slice("b", (slice(None), slice(3, 6))), bits[:, 3:6])
    cube = np.arange(120, dtype=np.int16).reshape(5, 4, 6)
    write_safetensors({"c": cube}, tmp_path / "c.safetensors")
    reader = SafetensorsReader(tmp_path / "c.safetensors")
    for index in [(slice(1, 3),), (slice(None), slice(2, 4)), (slice(0, 5), slice(1, 2), slice(3, 6)),
                  (slice(2, 2),), (slice(4, 9), slice(None), slice(0, 1))]:  # fmt: skip
        np.testing.assert_array_equal(reader.read_slice("c", index), cube[index])


class _Bfloat16Bits(dict):
    """Raw bfloat16 bits (uint16 arrays) that the writer stores as BF16."""

    def dtype(self, name) -> str:
        return "bfloat16"


def test_a_reader_widened_bfloat16_is_written_back_as_bfloat16(tmp_path):
    from autoload.weights import SafetensorsReader, write_safetensors

    bits = np.array([0x3F80, 0xC2F7, 0x0001, 0x7F7F], np.uint16)
    write_safetensors(_Bfloat16Bits({"b": bits}), tmp_path / "a.safetensors")
    widened = SafetensorsReader(tmp_path / "a.safetensors")  # float32 arrays, dtype() "bfloat16"
    write_safetensors(widened, tmp_path / "b.safetensors")
    again = SafetensorsReader(tmp_path / "b.safetensors", keep_bf16=True)
    assert again.dtype("b") == "bfloat16"
    np.testing.assert_array_equal(again["b"], bits)
