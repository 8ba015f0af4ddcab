"""Sharded loading: wall time and peak host memory of a random Llama-shaped bfloat16 checkpoint (sharded
safetensors files) loaded whole on one device, onto a mesh of 8 JAX devices, and split over 2 PyTorch ranks.

Each load runs in a fresh interpreter that has imported its framework first; peak memory is the process's
high-water resident size during the load minus its resident size right before it (for torch, per rank, with the
process group started and DTensor used once before the clock starts: those imports cost each rank about 90 MB
once). JAX's 8 devices are emulated on the host CPU (XLA_FLAGS=--xla_force_host_platform_device_count=8), so all
of their buffers live in the one process: the mesh row shows what the sliced reads cost, not a smaller total.
Torch ranks are separate processes on the gloo backend, each holding its slices plus the unsplit weights (norms).

    python benchmarks/sharded_load.py                  # ~0.1B parameters, fits a small machine
    python benchmarks/sharded_load.py --size 1b        # the ~1B-parameter shape of issue #18
    python benchmarks/sharded_load.py --transformers /path/to/venv/bin/python   # adds transformers' rows
    python benchmarks/sharded_load.py --size 1b --delete   # removes the generated checkpoint afterwards

transformers' rows (an interpreter with transformers installed, measured the same way): device_map="cpu" in one
process and tp_plan="auto" over 2 ranks, both with dtype="auto".
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile

import numpy as np

SIZES = {  # Llama-shaped, bfloat16
    "small": dict(hidden_size=512, intermediate_size=1536, num_hidden_layers=8, num_attention_heads=8,
                  num_key_value_heads=4, vocab_size=32000),
    "1b": dict(hidden_size=2048, intermediate_size=5632, num_hidden_layers=22, num_attention_heads=32,
               num_key_value_heads=4, vocab_size=32000),
}  # fmt: skip

# The baseline is the resident size right before the load (/proc/self/statm), not the high-water mark so far: imports
# can peak above what they keep, which would hide part of the load.
MEASURE = """
import json, os, resource, sys, time
{imports}
base = int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024
start = time.perf_counter()
{load}
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": seconds, "peak_mb": (peak - base) / 1024}}))
"""

FLAX_IMPORTS = """
import jax, numpy as np
from jax.sharding import Mesh
from autoload import FlaxAutoModelForCausalLM
import autoload.backends.flax.models.llama
jax.numpy.zeros(1).block_until_ready()
"""
FLAX_LOAD = """
mesh = Mesh(np.array(jax.devices()).reshape(1, -1), ("data", "model")) if jax.device_count() > 1 else None
model = FlaxAutoModelForCausalLM.from_pretrained(sys.argv[1], dtype="auto", mesh=mesh)
jax.block_until_ready(model.params)
"""
TORCH_IMPORTS = """
import torch
from autoload import AutoModelForCausalLM
import autoload.backends.torch.models.llama
if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # torch.distributed started and DTensor warmed up beforehand
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor.parallel import ColwiseParallel, parallelize_module
    torch.distributed.init_process_group("gloo")
    warm = parallelize_module(torch.nn.Linear(8, 8), init_device_mesh("cpu", (torch.distributed.get_world_size(),)),
                              ColwiseParallel())
    warm(torch.ones(1, 8))
"""
TORCH_LOAD = """
plan = "auto" if int(os.environ.get("WORLD_SIZE", "1")) > 1 else None
model = AutoModelForCausalLM.from_pretrained(sys.argv[1], torch_dtype="auto", tp_plan=plan)
"""
HF_IMPORTS = TORCH_IMPORTS.replace("from autoload import", "from transformers import").replace(
    "import autoload.backends.torch.models.llama", "import transformers.models.llama.modeling_llama")
HF_LOAD = """
ranks = int(os.environ.get("WORLD_SIZE", "1"))
placement = {"tp_plan": "auto"} if ranks > 1 else {"device_map": "cpu"}
model = AutoModelForCausalLM.from_pretrained(sys.argv[1], dtype="auto", **placement)
"""
# Every weight made usable before the clock stops: transformers leaves safetensors weights memory-mapped, read
# (and resident) only when first used, so one value per page of every weight is read, here as in autoload's rows.
TOUCH = """
for p in model.parameters():
    local = p.to_local() if hasattr(p, "to_local") else p
    local.detach().reshape(-1)[::1024].float().sum().item()
"""


def write_checkpoint(size: str) -> str:
    """A random Llama checkpoint in bfloat16, split into 100 MB shards (written once under the temp folder)."""
    from autoload.weights import write_sharded

    folder = os.path.join(tempfile.gettempdir(), f"autoload-bench-llama-{size}")
    if os.path.exists(os.path.join(folder, "config.json")):
        return folder
    c = SIZES[size]
    h, i, v, layers = c["hidden_size"], c["intermediate_size"], c["vocab_size"], c["num_hidden_layers"]
    kv = h // c["num_attention_heads"] * c["num_key_value_heads"]
    shapes = {"model.embed_tokens.weight": (v, h), "model.norm.weight": (h,), "lm_head.weight": (v, h)}
    for n in range(layers):
        p = f"model.layers.{n}."
        shapes.update({p + "self_attn.q_proj.weight": (h, h), p + "self_attn.k_proj.weight": (kv, h),
                       p + "self_attn.v_proj.weight": (kv, h), p + "self_attn.o_proj.weight": (h, h),
                       p + "mlp.gate_proj.weight": (i, h), p + "mlp.up_proj.weight": (i, h),
                       p + "mlp.down_proj.weight": (h, i), p + "input_layernorm.weight": (h,),
                       p + "post_attention_layernorm.weight": (h,)})  # fmt: skip
    rng = np.random.default_rng(0)

    class Bfloat16Bits(dict):  # raw bfloat16 bits, generated one tensor at a time as the writer asks
        def __getitem__(self, name):
            values = rng.standard_normal(shapes[name], dtype=np.float32) * 0.02
            return (values.view(np.uint32) >> 16).astype(np.uint16)

        def shape(self, name):
            return shapes[name]

        def dtype(self, name):
            return "bfloat16"

    write_sharded(Bfloat16Bits.fromkeys(shapes), folder, "safetensors", max_shard_size="100MB")
    config = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "dtype": "bfloat16",
              "max_position_embeddings": 2048, "tie_word_embeddings": False, **c}  # fmt: skip
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f)
    return folder


def _env(**extra) -> dict:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3", **extra}


def _result(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def run_flax(folder: str, devices: int) -> dict:
    code = MEASURE.format(imports=FLAX_IMPORTS, load=FLAX_LOAD)
    env = _env(XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
    run = subprocess.run([sys.executable, "-c", code, folder], capture_output=True, text=True, env=env)
    return _result(run.stdout) if run.returncode == 0 else {"error": run.stderr.strip()[-500:]}


def run_torch(folder: str, ranks: int, python: str | None = None) -> list[dict]:
    """autoload's load, or transformers' with `python` (an interpreter that has transformers)."""
    imports, load = (HF_IMPORTS, HF_LOAD) if python else (TORCH_IMPORTS, TORCH_LOAD)
    code = MEASURE.format(imports=imports, load=load + TOUCH)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    procs = [subprocess.Popen([python or sys.executable, "-c", code, folder], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE,
                              text=True, env=_env(MASTER_ADDR="127.0.0.1", MASTER_PORT=port, WORLD_SIZE=str(ranks),
                                                  RANK=str(r), LOCAL_RANK=str(r)))
             for r in range(ranks)]  # fmt: skip
    results = []
    for proc in procs:
        out, err = proc.communicate()
        results.append(_result(out) if proc.returncode == 0 else {"error": err.strip()[-500:]})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--transformers", metavar="PYTHON", help="an interpreter with transformers, for its rows")
    parser.add_argument("--delete", action="store_true", help="delete the generated checkpoint afterwards")
    args = parser.parse_args()
    folder = write_checkpoint(args.size)
    total = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder) if f.endswith(".safetensors"))
    print(f"checkpoint: {folder} ({total / 1e6:.0f} MB of bfloat16 safetensors shards)\n")
    print("| load | seconds | peak host memory (MB) | × checkpoint |\n|---|---|---|---|")
    for devices in (1, 8):
        r = run_flax(folder, devices)
        if "error" in r:
            print(f"| Flax, {devices} device(s) | error: {r['error']} | | |")
        else:
            print(f"| Flax, {devices} device(s) | {r['seconds']:.2f} | {r['peak_mb']:.0f} | "
                  f"{r['peak_mb'] * 2**20 / total:.2f} |", flush=True)  # fmt: skip
    rows = [("PyTorch", ranks, None) for ranks in (1, 2)]
    rows += [("transformers", ranks, args.transformers) for ranks in (1, 2) if args.transformers]
    for name, ranks, python in rows:
        rs = run_torch(folder, ranks, python)
        if any("error" in r for r in rs):
            print(f"| {name}, {ranks} rank(s) | error: {next(r['error'] for r in rs if 'error' in r)} | | |")
            continue
        peak = max(r["peak_mb"] for r in rs)
        print(f"| {name}, {ranks} rank(s) | {max(r['seconds'] for r in rs):.2f} | {peak:.0f} per rank | "
              f"{peak * 2**20 / total:.2f} per rank |", flush=True)  # fmt: skip
    if args.delete:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
