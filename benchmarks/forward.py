"""Forward-pass speed per framework on random models of real sizes, beside transformers where installed.

Text: bert-base and gpt2 (batch 8 x 128 tokens). Vision: ViT-base and ResNet-50 (batch 8, 224x224).
PyTorch runs eager and under torch.compile; TensorFlow under tf.function(jit_compile=True); Flax under
jax.jit. Each cell is the median of several timed calls after a warm-up, in its own process.
Run: python benchmarks/forward.py [--only bert,gpt2,vit,resnet] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))

from common import has_module  # noqa: E402

MODELS = {
    "bert": ("bert", "MODEL", {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
                               "intermediate_size": 3072}, "tokens"),
    "gpt2": ("gpt2", "MODEL_FOR_CAUSAL_LM", {"n_embd": 768, "n_layer": 12, "n_head": 12}, "tokens"),
    "vit": ("vit", "MODEL", {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
                             "intermediate_size": 3072, "image_size": 224, "patch_size": 16}, "pixels"),
    "resnet": ("resnet", "MODEL", {"embedding_size": 64, "hidden_sizes": [256, 512, 1024, 2048],
                                   "depths": [3, 4, 6, 3], "layer_type": "bottleneck"}, "pixels"),
}  # fmt: skip

RUNNER = r"""
import json, os, statistics, sys, time
import numpy as np
model_type, family, overrides, kind, mode, repeats = json.loads(sys.argv[1])
rng = np.random.default_rng(0)
if kind == "tokens":
    inputs = {"input_ids": rng.integers(0, 1000, (8, 128)).astype(np.int64)}
else:
    inputs = {"pixel_values": rng.standard_normal((8, 3, 224, 224)).astype(np.float32)}

def timed(fn):
    fn(); fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter(); fn(); times.append(time.perf_counter() - start)
    return statistics.median(times)

library, framework, variant = mode.split(":")
if library == "autoload":
    from autoload import AutoConfig
    from autoload.registry import model_class_for
    config = AutoConfig.for_model(model_type, **overrides)
    model = model_class_for(family, framework, config)._from_config(config)
else:
    import transformers
    config = transformers.AutoConfig.for_model(model_type, **overrides)
    prefix = {"torch": "", "tf": "TF", "flax": "Flax"}[framework]
    auto = getattr(transformers, prefix + ("AutoModelForCausalLM" if family == "MODEL_FOR_CAUSAL_LM" else "AutoModel"))
    model = auto.from_config(config)
if framework == "torch":
    import torch
    model.eval()
    tensors = {k: torch.from_numpy(v) for k, v in inputs.items()}
    run = torch.compile(model) if variant == "compile" else model
    def fn():
        with torch.no_grad():
            out = run(**tensors)
        return out[0]
elif framework == "tf":
    import tensorflow as tf
    tensors = {k: tf.constant(v) for k, v in inputs.items()}
    call = tf.function(lambda t: model(**t, training=False)[0], jit_compile=True)
    fn = lambda: call(tensors).numpy()
else:
    import jax
    variables = lambda p: p if "batch_stats" in p else {"params": p}  # noqa: E731 - models with batch norm
    apply = jax.jit(lambda p, t: model.module.apply(variables(p), **t, deterministic=True)[0])
    tensors = {k: jax.numpy.asarray(v) for k, v in inputs.items()}
    fn = lambda: apply(model.params, tensors).block_until_ready()
print(json.dumps({"seconds": timed(fn)}))
"""

MODES = [("autoload:torch:eager", "torch"), ("autoload:torch:compile", "torch"), ("autoload:tf:xla", "tensorflow"),
         ("autoload:flax:jit", "flax"), ("transformers:torch:eager", "torch"), ("transformers:tf:xla", "tensorflow"),
         ("transformers:flax:jit", "flax")]  # fmt: skip


def measure(name: str, mode: str, repeats: int) -> str:
    model_type, family, overrides, kind = MODELS[name]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"}
    payload = json.dumps([model_type, family, overrides, kind, mode, repeats])
    result = subprocess.run([sys.executable, "-c", RUNNER, payload], capture_output=True, text=True, env=env)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        return f"failed ({lines[-1][:60] if lines else 'no output'})"
    return f"{json.loads(result.stdout.strip().splitlines()[-1])['seconds'] * 1000:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default=",".join(MODELS))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for name in args.only.split(","):
        print(f"\n{name}")
        for mode, module in MODES:
            if not has_module(module) or (mode.startswith("transformers") and not has_module("transformers")):
                continue
            print(f"  {mode:<26} {measure(name, mode, args.repeats)}")


if __name__ == "__main__":
    main()
