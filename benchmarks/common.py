"""Shared helpers for the benchmarks: a bert-base-sized random checkpoint, timing and peak memory."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

BERT_BASE = dict(vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                 intermediate_size=3072, max_position_embeddings=512, type_vocab_size=2)  # fmt: skip


def bert_base_checkpoint(folder: str | None = None) -> str:
    """Write (once) a random bert-base-sized BertModel checkpoint: config.json + model.safetensors."""
    from safetensors.numpy import save_file

    folder = folder or os.path.join(tempfile.gettempdir(), "autoload-bench-bert-base")
    if os.path.exists(os.path.join(folder, "model.safetensors")):
        return folder
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    h, i, v = BERT_BASE["hidden_size"], BERT_BASE["intermediate_size"], BERT_BASE["vocab_size"]
    state = {
        "embeddings.word_embeddings.weight": (v, h),
        "embeddings.position_embeddings.weight": (BERT_BASE["max_position_embeddings"], h),
        "embeddings.token_type_embeddings.weight": (2, h),
        "embeddings.LayerNorm.weight": (h,),
        "embeddings.LayerNorm.bias": (h,),
        "pooler.dense.weight": (h, h),
        "pooler.dense.bias": (h,),
    }
    for n in range(BERT_BASE["num_hidden_layers"]):
        p = f"encoder.layer.{n}."
        for name in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            state[p + name + ".weight"], state[p + name + ".bias"] = (h, h), (h,)
        state[p + "intermediate.dense.weight"], state[p + "intermediate.dense.bias"] = (i, h), (i,)
        state[p + "output.dense.weight"], state[p + "output.dense.bias"] = (h, i), (h,)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            state[p + norm + ".weight"], state[p + norm + ".bias"] = (h,), (h,)
    arrays = {k: (rng.standard_normal(s, dtype=np.float32) * 0.02) for k, s in state.items()}
    save_file(arrays, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})
    config = {"model_type": "bert", "architectures": ["BertModel"], **BERT_BASE}
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f)
    return folder


def measure_in_subprocess(setup: str, action: str, repeats: int = 3) -> dict:
    """Run `setup` (imports) then `action` in a fresh interpreter; report the best time and the peak RSS
    that `action` adds above what `setup` already used."""
    code = f"""
import json, resource, time, gc
{setup}
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
times = []
for _ in range({repeats}):
    start = time.perf_counter()
    result = None
{_indent(action, 4)}
    times.append(time.perf_counter() - start)
    del result
    gc.collect()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": min(times), "peak_mb": (peak - base) / 1024}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_quiet_env())
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _indent(code: str, n: int) -> str:
    return "\n".join(" " * n + line for line in code.strip().splitlines())


def _quiet_env() -> dict:
    env = dict(os.environ)
    env.update({"TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow", "HF_HUB_OFFLINE": "1"})
    return env


def has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def file_mb(path: str) -> float:
    return os.path.getsize(path) / 2**20


__all__ = ["bert_base_checkpoint", "measure_in_subprocess", "has_module", "file_mb", "time", "resource"]
