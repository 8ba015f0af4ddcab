"""Run on every rank by tests/test_torch_tensor_parallel.py (RANK / WORLD_SIZE / MASTER_* set as torchrun sets
them): tensor-parallel loads over the gloo backend against the same checkpoints loaded whole in this process.

usage: python torch_tp.py FIXTURES_MODELS_DIR TINY_CHECKPOINT_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.distributed.tensor import DTensor, Replicate, Shard

from autoload import AutoModelForCausalLM
from autoload.weights import SafetensorsReader

MODELS, TINY = Path(sys.argv[1]), Path(sys.argv[2])
IDS = torch.tensor([[5, 17, 3, 44, 9, 12, 30, 7], [8, 4, 90, 33, 71, 6, 0, 0]])
MASK = (torch.arange(8) < torch.tensor([[8], [6]])).long()
ATTENTION_ONLY = {"model.layers.*.self_attn.q_proj": "colwise", "model.layers.*.self_attn.k_proj": "colwise",
                  "layers.*.self_attn.v_proj": "colwise", "layers.*.self_attn.o_proj": "rowwise"}  # fmt: skip

whole_reads = []
_getitem = SafetensorsReader.__getitem__


def _recording(self, name):
    whole_reads.append(name)
    return _getitem(self, name)


SafetensorsReader.__getitem__ = _recording


def load(folder, **kwargs):
    whole_reads.clear()
    return AutoModelForCausalLM.from_pretrained(folder, **kwargs)


def check_fixture():
    """transformers' reference logits with the attention split over the ranks (the MLP's 37 and the vocabulary's 99
    do not divide by 2 or 4, so they stay whole)."""
    folder = MODELS / "llama" / "LlamaForCausalLM"
    inputs = {k: torch.from_numpy(v) for k, v in np.load(folder / "inputs.npz").items()}
    expected = np.load(folder / "expected.npz")["logits"]
    model = load(folder, tp_plan=ATTENTION_ONLY)
    width = 32 // dist.get_world_size()  # 4 heads (and 4 key/value heads) of 8 over 2 or 4 ranks
    q = model.model.layers[1].self_attn.q_proj.weight
    assert isinstance(q, DTensor) and q.placements == (Shard(0),) and q.to_local().shape == (width, 32), q
    o = model.model.layers[0].self_attn.o_proj.weight
    assert isinstance(o, DTensor) and o.placements == (Shard(1),) and o.to_local().shape == (32, width), o
    assert not isinstance(model.model.layers[0].mlp.up_proj.weight, DTensor)
    assert not any("self_attn" in name for name in whole_reads), whole_reads
    with torch.no_grad():
        logits = model(**inputs).logits
    np.testing.assert_allclose(logits.numpy(), expected, atol=1e-4)
    try:
        load(folder, tp_plan="auto")
    except ValueError as error:
        assert "model.embed_tokens.weight has shape (99, 32)" in str(error), error
    else:
        raise AssertionError("an auto plan splitting 99 rows over the ranks loaded")


def check_auto_plan():
    reference = load(TINY)
    with torch.no_grad():
        expected = reference(input_ids=IDS, attention_mask=MASK).logits
    tokens = reference.generate(IDS, attention_mask=MASK, max_new_tokens=5, do_sample=False)
    model = load(TINY, tp_plan="auto")
    split = [n for n, p in model.named_parameters() if isinstance(p, DTensor)]
    assert len(split) == 2 + 2 * 14, split  # embeddings, lm_head, 7 projections with biases per layer
    sharded = {n for n, p in model.named_parameters() if isinstance(p, DTensor) and p.placements != (Replicate(),)}
    assert len(sharded) == 2 + 2 * 12 and not sharded & set(whole_reads), sharded & set(whole_reads)  # slices only
    lm_head = model.lm_head.weight
    rows = 128 // dist.get_world_size()
    assert lm_head.placements == (Shard(0),) and lm_head.to_local().shape == (rows, 64), lm_head.to_local().shape
    assert model.model.layers[0].mlp.down_proj.weight.placements == (Shard(1),)
    assert model.model.embed_tokens.weight.placements == (Shard(0),)
    assert not isinstance(model.model.norm.weight, DTensor)
    kv_width = 16 * model.config.num_key_value_heads // dist.get_world_size()
    assert model.model.layers[1].self_attn.v_proj.bias.to_local().shape == (kv_width,)
    assert model.model.layers[1].mlp.down_proj.bias.placements == (Replicate(),)
    with torch.no_grad():
        logits = model(input_ids=IDS, attention_mask=MASK).logits
    assert not isinstance(logits, DTensor) or logits.placements == (Replicate(),)
    torch.testing.assert_close(logits, expected, atol=2e-5, rtol=0)
    torch.testing.assert_close(model.generate(IDS, attention_mask=MASK, max_new_tokens=5, do_sample=False), tokens)
    try:
        model.save_pretrained(TINY.parent / f"refused-{dist.get_rank()}")
    except NotImplementedError as error:
        assert "full_tensor()" in str(error), error
    else:
        raise AssertionError("save_pretrained of a split model did not explain the gathering")
    state = {k: v.full_tensor() if isinstance(v, DTensor) else v for k, v in model.state_dict().items()}
    if dist.get_rank() == 0:
        model.save_pretrained(TINY.parent / "gathered", state_dict=state)
    dist.barrier()
    again = load(TINY.parent / "gathered")
    with torch.no_grad():
        torch.testing.assert_close(again(input_ids=IDS, attention_mask=MASK).logits, expected, atol=2e-5, rtol=0)


check_fixture()
check_auto_plan()
print(f"ok rank {dist.get_rank()} of {dist.get_world_size()}")
dist.destroy_process_group()
