"""Decoding speed with a KV cache: new tokens per second from generate() (greedy, a 16-token prompt, 32 new
tokens, every row generating all of them, prompt included in the time), batch 1 and 8, for random Llama-,
Gemma 2- and Mixtral-shaped models in every framework, beside transformers 4.57.6 where it has the class
(PyTorch for all three; TF only Mistral, which with sliding_window=None computes exactly Llama; Flax Llama).

The shapes are small but keep what shapes decoding: a 32000-token vocabulary, grouped-query heads of 64 dims,
Gemma 2's soft-capping and a sliding window the 48 positions cross, Mixtral's 8 experts with 2 per token.
Each (model, library, framework) runs in its own process: build the model from its config (random weights),
then per batch size one warm-up generate() of the same shape (Flax and TF compile their step there) and the
median of the timed runs. transformers runs in the Python given by --transformers-python (default: this one
when transformers is importable), e.g.
    python benchmarks/decode.py --transformers-python /path/to/venv/bin/python
On a machine others load, `--alternate` compares the PyTorch libraries fairly instead: one process (the
transformers Python) holds both models with the same weights and times their generate() calls in turn, so
both see the same load; it prints the median and the range of each and checks that the tokens agree.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))

from common import has_module  # noqa: E402

GQA = {"num_attention_heads": 8, "num_key_value_heads": 4, "vocab_size": 32000, "max_position_embeddings": 2048}
MODELS = {
    "llama": ("llama", {**GQA, "hidden_size": 512, "intermediate_size": 1536, "num_hidden_layers": 8}),
    "gemma2": ("gemma2", {**GQA, "hidden_size": 512, "intermediate_size": 2048, "num_hidden_layers": 8,
                          "head_dim": 64, "query_pre_attn_scalar": 64, "sliding_window": 32}),
    "mixtral": ("mixtral", {**GQA, "hidden_size": 512, "intermediate_size": 1024, "num_hidden_layers": 6,
                            "num_key_value_heads": 2, "num_local_experts": 8, "num_experts_per_tok": 2}),
}  # fmt: skip
# transformers 4.57's classes outside PyTorch: (model_type, extra config) per framework, where it has one
TRANSFORMERS_ELSEWHERE = {("llama", "tf"): ("mistral", {"sliding_window": None}), ("llama", "flax"): ("llama", {})}
PROMPT, NEW = 16, 32

RUNNER = r"""
import json, statistics, sys, time
import numpy as np
model_type, overrides, library, framework, batches, prompt, new, repeats, threads = json.loads(sys.argv[1])
options = dict(max_new_tokens=new, min_new_tokens=new, do_sample=False, pad_token_id=0)
if library == "autoload":
    from autoload import AutoConfig
    from autoload.registry import model_class_for
    config = AutoConfig.for_model(model_type, **overrides)
    model = model_class_for("MODEL_FOR_CAUSAL_LM", framework, config)._from_config(config)
else:
    import transformers
    config = transformers.AutoConfig.for_model(model_type, **overrides)
    prefix = {"torch": "", "tf": "TF", "flax": "Flax"}[framework]
    model = getattr(transformers, prefix + "AutoModelForCausalLM").from_config(config)
if framework == "torch":
    import torch
    model.eval()
    torch.set_grad_enabled(False)
    torch.set_num_threads(threads)
results = {}
for batch in batches:
    ids = np.random.default_rng(0).integers(3, 1000, (batch, prompt)).astype(np.int64)
    inputs = torch.from_numpy(ids) if framework == "torch" else ids

    def run():
        out = model.generate(inputs, attention_mask=np.ones_like(ids) if framework != "torch" else None, **options)
        out = getattr(out, "sequences", out)
        assert np.asarray(out).shape == (batch, prompt + new), np.asarray(out).shape

    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter(); run(); times.append(time.perf_counter() - start)
    results[batch] = batch * new / statistics.median(times)
if framework == "tf":
    params = model.count_params()  # (built by now)
elif hasattr(model, "num_parameters"):
    params = model.num_parameters()
else:  # transformers' Flax models
    import jax
    params = sum(leaf.size for leaf in jax.tree_util.tree_leaves(model.params))
print(json.dumps({"tokens_per_second": results, "parameters": params}))
"""

ALTERNATE = r"""
import json, statistics, sys, time
import numpy as np
import torch
import transformers
from autoload import AutoConfig
from autoload.registry import model_class_for
model_type, overrides, batches, prompt, new, repeats, threads = json.loads(sys.argv[1])
torch.set_num_threads(threads)
torch.set_grad_enabled(False)
theirs = transformers.AutoModelForCausalLM.from_config(transformers.AutoConfig.for_model(model_type, **overrides))
config = AutoConfig.for_model(model_type, **overrides)
ours = model_class_for("MODEL_FOR_CAUSAL_LM", "torch", config)._from_config(config)
ours.load_state_dict(theirs.state_dict(), strict=False)
theirs.eval(), ours.eval()
options = dict(max_new_tokens=new, min_new_tokens=new, do_sample=False, pad_token_id=0)
results = {}
for batch in batches:
    ids = torch.from_numpy(np.random.default_rng(0).integers(3, 1000, (batch, prompt)))
    mask = torch.ones_like(ids)
    tokens = {name: model.generate(ids, attention_mask=mask, **options).numpy() for name, model in
              (("autoload", ours), ("transformers", theirs))}
    assert (tokens["autoload"] == tokens["transformers"]).all(), "the two libraries generated different tokens"
    times = {"autoload": [], "transformers": []}
    for _ in range(repeats):
        for name, model in (("autoload", ours), ("transformers", theirs)):
            start = time.perf_counter(); model.generate(ids, attention_mask=mask, **options)
            times[name].append(batch * new / (time.perf_counter() - start))
    results[batch] = {name: [statistics.median(v), min(v), max(v)] for name, v in times.items()}
print(json.dumps(results))
"""

CELLS = [("autoload", "torch", "torch"), ("transformers", "torch", "torch"), ("autoload", "tf", "tensorflow"),
         ("transformers", "tf", "tensorflow"), ("autoload", "flax", "flax"), ("transformers", "flax", "flax")]  # fmt: skip


def measure(python: str, model: str, library: str, framework: str, batches: list, repeats: int,
            torch_threads: int) -> dict | str:  # fmt: skip
    model_type, overrides = MODELS[model]
    if library == "transformers" and framework != "torch":
        model_type, extra = TRANSFORMERS_ELSEWHERE[(model, framework)]
        overrides = {**overrides, **extra}
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow", "HF_HUB_OFFLINE": "1"}
    payload = json.dumps([model_type, overrides, library, framework, batches, PROMPT, NEW, repeats, torch_threads])
    try:
        result = subprocess.run([python, "-c", RUNNER, payload], capture_output=True, text=True, env=env, timeout=1200)
    except subprocess.TimeoutExpired:
        return "timed out"
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        return f"failed ({lines[-1][:100] if lines else 'no output'})"
    return json.loads(result.stdout.strip().splitlines()[-1])


def alternate(python: str, model: str, batches: list, repeats: int, torch_threads: int) -> None:
    model_type, overrides = MODELS[model]
    payload = json.dumps([model_type, overrides, batches, PROMPT, NEW, repeats, torch_threads])
    result = subprocess.run([python, "-c", ALTERNATE, payload], capture_output=True, text=True, timeout=3600,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})  # fmt: skip
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        print(f"  failed ({lines[-1][:200] if lines else 'no output'})", flush=True)
        return
    for batch, cells in json.loads(result.stdout.strip().splitlines()[-1]).items():
        row = "   ".join(f"{name} {m:7.1f} ({lo:.1f}-{hi:.1f})" for name, (m, lo, hi) in cells.items())
        print(f"  batch {batch}: {row}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default=",".join(MODELS))
    parser.add_argument("--batches", default="1,8")
    parser.add_argument("--cells", default=",".join(f"{lib}:{fw}" for lib, fw, _ in CELLS), help="e.g. autoload:flax")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--torch-threads", type=int, default=os.cpu_count(),
                        help="torch.set_num_threads for both libraries (1 on a machine whose cores others load)")
    parser.add_argument("--transformers-python", default=sys.executable if has_module("transformers") else None)
    parser.add_argument("--alternate", action="store_true",
                        help="PyTorch only: both libraries in one process, same weights, timed in turn")
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    if args.alternate:
        if args.transformers_python is None:
            parser.error("--alternate needs transformers: pass --transformers-python")
        for name in args.only.split(","):
            print(f"\n{name}: new tokens per second in PyTorch, median (range) of {args.repeats} alternated runs",
                  flush=True)  # fmt: skip
            alternate(args.transformers_python, name, batches, args.repeats, args.torch_threads)
        return
    for name in args.only.split(","):
        print(f"\n{name}: new tokens per second, batch {' / '.join(map(str, batches))}", flush=True)
        for library, framework, module in CELLS:
            if f"{library}:{framework}" not in args.cells.split(","):
                continue
            python = sys.executable if library == "autoload" else args.transformers_python
            if python is None or (library == "autoload" and not has_module(module)):
                continue
            if library == "transformers" and framework != "torch" and (name, framework) not in TRANSFORMERS_ELSEWHERE:
                continue  # transformers 4.57 has no such class
            result = measure(python, name, library, framework, batches, args.repeats, args.torch_threads)
            if isinstance(result, str):
                print(f"  {library:<12} {framework:<6} {result}", flush=True)
                continue
            speeds = " / ".join(f"{result['tokens_per_second'][str(b)]:7.1f}" for b in batches)
            print(f"  {library:<12} {framework:<6} {speeds}   ({result['parameters'] / 1e6:.0f}M parameters)",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
