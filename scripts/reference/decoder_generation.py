"""Generation references for the Llama-family decoders, from transformers 4.57.6 (run with the side
environment's Python: python (with transformers 4.57.6 installed, e.g. a side venv) scripts/reference/decoder_generation.py).

Writes, for each decoder's CausalLM fixture in tests/fixtures/models/<type>/<Class>ForCausalLM/, a
generate.json in the layout tests/test_generation.py reads (first batch row; greedy and 3-beam search;
min_new_tokens = max_new_tokens so EOS cannot end a run early), and tests/fixtures/generation/decoders.json
with the cases those leave out: left-padded batches (positions counted from the attention mask),
several returned beams, a Gemma 2 window crossed many times, Phi-3 long-rope crossing its original context,
Llama with dynamic NTK rope crossing max_position_embeddings, each case with the config overrides it needs.

Phi-3 long-rope: once a sequence outgrows original_max_position_embeddings every key must be rotated with the
long factors, so the cache is recomputed at that step. transformers 4.57.6 does recompute it, but builds that
step's mask for one query position (its cache_position), so the recomputed keys see later tokens and padding
(eager and sdpa attention even disagree). The reference is therefore transformers without a cache
(use_cache=False: every step a full, causal forward pass), which is what the recomputation means; the tests
run our cached generate() against it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import transformers

MODELS = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "models"
OUT = MODELS.parent / "generation" / "decoders.json"
CAUSAL = {
    "llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM", "qwen2": "Qwen2ForCausalLM",
    "qwen3": "Qwen3ForCausalLM", "gemma": "GemmaForCausalLM", "gemma2": "Gemma2ForCausalLM",
    "gemma3_text": "Gemma3ForCausalLM", "phi3": "Phi3ForCausalLM", "mixtral": "MixtralForCausalLM",
}  # fmt: skip
LONGROPE = {"type": "longrope", "short_factor": [1.0, 1.1, 1.3, 1.6], "long_factor": [1.0, 2.0, 4.0, 8.0]}
# dynamic NTK past an 8-position limit: the 7-token prompt and 8 new tokens cross it, every step after that with
# other frequencies (transformers keeps the cached keys as they were rotated)
DYNAMIC = {"rope_scaling": {"type": "dynamic", "factor": 8.0}, "max_position_embeddings": 8, "rope_theta": 100.0}
PADDED = {"input_ids": [[0, 0, 0, 5, 17, 3, 44], [8, 4, 90, 33, 71, 6, 12]],
          "attention_mask": [[0, 0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1]]}  # fmt: skip
# (name, model_type, config overrides, inputs or None for the fixture's first row, generate kwargs)
CASES = [
    ("llama-left-padded-greedy", "llama", {}, PADDED, {"num_beams": 1, "max_new_tokens": 6}),
    ("llama-left-padded-beams", "llama", {}, PADDED, {"num_beams": 3, "num_return_sequences": 2, "max_new_tokens": 6}),
    ("qwen3-left-padded-beams", "qwen3", {}, PADDED, {"num_beams": 2, "max_new_tokens": 5}),
    ("gemma2-left-padded-greedy-long", "gemma2", {}, PADDED, {"num_beams": 1, "max_new_tokens": 20}),
    ("gemma3-left-padded-beams", "gemma3_text", {}, PADDED, {"num_beams": 2, "max_new_tokens": 10}),
    ("mixtral-left-padded-greedy", "mixtral", {}, PADDED, {"num_beams": 1, "max_new_tokens": 8}),
    ("mistral-window-3-greedy", "mistral", {"sliding_window": 3}, None, {"num_beams": 1, "max_new_tokens": 10}),
    ("phi3-longrope-crossing", "phi3", {"rope_scaling": LONGROPE, "original_max_position_embeddings": 10}, PADDED,
     {"num_beams": 1, "max_new_tokens": 8}),
    ("phi3-longrope-crossing-beams", "phi3", {"rope_scaling": LONGROPE, "original_max_position_embeddings": 10},
     PADDED, {"num_beams": 3, "max_new_tokens": 8}),
    ("llama-dynamic-ntk-crossing", "llama", DYNAMIC, PADDED, {"num_beams": 1, "max_new_tokens": 8}),
    ("llama-dynamic-ntk-crossing-beams", "llama", DYNAMIC, PADDED, {"num_beams": 2, "max_new_tokens": 8}),
]  # fmt: skip
WITHOUT_CACHE = {"phi3-longrope-crossing", "phi3-longrope-crossing-beams"}  # see the module docstring


def load(model_type: str, overrides: dict, attention: str = "eager"):
    folder = MODELS / model_type / CAUSAL[model_type]
    config = transformers.AutoConfig.from_pretrained(folder, **json.loads(json.dumps(overrides)))
    model = transformers.AutoModelForCausalLM.from_pretrained(folder, config=config, attn_implementation=attention)
    return model.eval(), config


def same_with_sdpa(model_type: str, overrides: dict, inputs: dict, kwargs: dict, sequences, use_cache=True) -> None:
    """Eager attention applies Gemma 2's score soft-capping, which transformers' default (sdpa) skips: say so
    when the default would have given other tokens."""
    model, config = load(model_type, overrides, "sdpa")
    if run(model, config, inputs, kwargs, use_cache)[0] != sequences:
        print(f"{model_type} {overrides} {kwargs}: sdpa attention gives other tokens than eager")


def run(model, config, inputs: dict, kwargs: dict, use_cache: bool = True) -> list[list[int]]:
    kwargs = {"do_sample": False, "min_new_tokens": kwargs["max_new_tokens"], "eos_token_id": config.eos_token_id,
              "pad_token_id": config.pad_token_id, **kwargs}  # fmt: skip
    if kwargs["num_beams"] > 1:
        kwargs.setdefault("early_stopping", True)
    tensors = {k: torch.tensor(v) for k, v in inputs.items()}
    # transformers 4.57.6 cannot generate with output_router_logits (its auxiliary loss pairs one step's router
    # logits with the whole attention mask and fails), so Mixtral generates without them.
    extra = {"output_router_logits": False} if config.model_type == "mixtral" else {}
    with torch.no_grad():
        return model.generate(**tensors, **kwargs, **extra, use_cache=use_cache).tolist(), kwargs


def first_row(model_type: str) -> dict:
    inputs = np.load(MODELS / model_type / CAUSAL[model_type] / "inputs.npz")
    return {k: inputs[k][:1].tolist() for k in ("input_ids", "attention_mask")}


def main():
    transformers.set_seed(0)
    for model_type, name in CAUSAL.items():
        if model_type == "llama":  # the shared reference set has Llama's already
            continue
        model, config = load(model_type, {})
        inputs = first_row(model_type)
        runs = {}
        for run_name, beams in (("greedy", 1), ("beam3", 3)):
            sequences, kwargs = run(model, config, inputs, {"num_beams": beams, "max_new_tokens": 8})
            same_with_sdpa(model_type, {}, inputs, kwargs, sequences)
            runs[run_name] = {"kwargs": kwargs, "sequences": sequences}
        reference = {"inputs": inputs, "runs": runs,
                     "notes": "tokens from transformers 4.57.6 generate() (eager attention), PyTorch, first batch row "
                              "only; min_new_tokens=max_new_tokens so EOS cannot end early"}  # fmt: skip
        (MODELS / model_type / name / "generate.json").write_text(json.dumps(reference, indent=1) + "\n")
    cases = []
    for case_name, model_type, overrides, inputs, kwargs in CASES:
        model, config = load(model_type, overrides)
        inputs = inputs or first_row(model_type)
        use_cache = case_name not in WITHOUT_CACHE
        sequences, kwargs = run(model, config, inputs, kwargs, use_cache)
        same_with_sdpa(model_type, overrides, inputs, kwargs, sequences, use_cache)
        cases.append({"name": case_name, "model_type": model_type, "folder": f"{model_type}/{CAUSAL[model_type]}",
                      "config_overrides": overrides, "inputs": inputs, "kwargs": kwargs, "sequences": sequences,
                      "reference_use_cache": use_cache})  # fmt: skip
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"transformers": transformers.__version__, "cases": cases}, indent=1) + "\n")


if __name__ == "__main__":
    main()
