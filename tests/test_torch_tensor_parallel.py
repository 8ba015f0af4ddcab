"""PyTorch tensor-parallel loading (issue #18): from_pretrained(tp_plan=...) under torch.distributed, each rank
building on the meta device and reading only its DTensor slices. Two ranks over gloo on the CPU, started the way
torchrun starts them (tests/distributed/torch_tp.py holds the checks every rank runs)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import MODELS

SCRIPT = Path(__file__).parent / "distributed" / "torch_tp.py"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("world", [2, 4])
def test_ranks_give_the_single_process_logits_and_tokens(tmp_path, world):
    """Attention split over 2 or 4 ranks reproduces transformers' reference logits; tp_plan='auto' (projections,
    embeddings and lm_head split) on a checkpoint whose sizes divide gives the single-process logits and greedy
    tokens; plans that do not divide name the weight. (4 ranks: 4 key/value heads, so each rank holds one.)"""
    pytest.importorskip("torch")
    import torch

    if not torch.distributed.is_available():
        pytest.skip("this torch build has no torch.distributed")
    from autoload import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(MODELS / "llama" / "LlamaForCausalLM", vocab_size=128, hidden_size=64,
                                        intermediate_size=128, num_attention_heads=4, num_key_value_heads=world,
                                        head_dim=16, attention_bias=True, mlp_bias=True)  # fmt: skip
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(config).save_pretrained(tmp_path / "tiny")
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()), "WORLD_SIZE": str(world),
           "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}  # fmt: skip
    ranks = [subprocess.Popen([sys.executable, str(SCRIPT), str(MODELS), str(tmp_path / "tiny")],
                              env={**env, "RANK": str(r), "LOCAL_RANK": str(r)}, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for r in range(world)]  # fmt: skip
    outputs = []
    try:
        for rank in ranks:
            outputs.append(rank.communicate(timeout=240))
    finally:
        for rank in ranks:
            if rank.poll() is None:
                rank.kill()
    for r, (rank, (out, err)) in enumerate(zip(ranks, outputs)):
        assert rank.returncode == 0, f"rank {r}:\n{out[-2000:]}\n{err[-6000:]}"
        assert f"ok rank {r} of {world}" in out


def test_tp_plan_without_torchrun_says_how_to_launch(monkeypatch):
    pytest.importorskip("torch")
    import torch

    if not torch.distributed.is_available():
        pytest.skip("this torch build has no torch.distributed")
    from autoload import AutoModelForCausalLM

    monkeypatch.delenv("RANK", raising=False)
    with pytest.raises(RuntimeError, match="torchrun --nproc-per-node N"):
        AutoModelForCausalLM.from_pretrained(MODELS / "llama" / "LlamaForCausalLM", tp_plan="auto")


class _FourRanks:
    """A stand-in for a 4-rank DeviceMesh: the plan is checked against the mesh's size before any rank works."""

    def size(self) -> int:
        return 4


def test_a_plan_the_ranks_cannot_share_is_refused_before_loading():
    pytest.importorskip("torch")
    import torch

    if not torch.distributed.is_available():
        pytest.skip("this torch build has no torch.distributed")
    from autoload import AutoConfig
    from autoload.backends.torch.modeling import PreTrainedModel
    from autoload.backends.torch.models.llama import LlamaForCausalLM
    from autoload.backends.torch.tensor_parallel import parallelize

    config = AutoConfig.from_pretrained(MODELS / "llama" / "LlamaForCausalLM", vocab_size=128, hidden_size=64,
                                        intermediate_size=128, num_attention_heads=4, num_key_value_heads=2,
                                        head_dim=16)  # fmt: skip
    model = LlamaForCausalLM._build_empty(config)
    assert isinstance(model, PreTrainedModel)
    with pytest.raises(ValueError, match=r"model\.layers\.0\.self_attn\.k_proj holds 2 heads .*num_key_value_heads"):
        parallelize(model, "auto", _FourRanks())
    with pytest.raises(ValueError, match=r"tp_plan gives model\.layers\.0\.mlp\.up_proj the style 'sideways'"):
        parallelize(model, {"*.mlp.up_proj": "sideways"}, _FourRanks())
    with pytest.raises(ValueError, match="splits no module of LlamaForCausalLM"):
        parallelize(model, {"*.c_attn": "colwise"}, _FourRanks())
