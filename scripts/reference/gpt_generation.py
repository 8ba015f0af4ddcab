"""Generation references for the GPT-style decoders (GPT-2, OPT, GPT-NeoX, GPT-J), from transformers 4.57.6 (run
with the side environment's Python: python (with transformers 4.57.6 installed, e.g. a side venv) scripts/reference/gpt_generation.py).

Writes generate.json (first batch row; greedy and 3-beam search; min_new_tokens = max_new_tokens so EOS cannot
end a run early) into the CausalLM fixtures of OPT, GPT-NeoX and GPT-J, and tests/fixtures/generation/
gpt_decoders.json with the cases those leave out: left-padded batches (positions counted from the attention
mask), several returned beams, OPT post-norm, GPT-NeoX's sequential residual, another rotary base and fraction
(the rope_theta / partial_rotary_factor the rope reads: overriding rotary_pct / rotary_emb_base after the config
is built changes nothing in transformers) with linear scaling, dynamic scaling crossing max_position_embeddings, GPT-J with tied embeddings, and an OPT-350m-shaped
model (word_embed_proj_dim != hidden_size, post-norm) whose small random checkpoint this script also writes
(tests/fixtures/generation/opt_projected/).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import transformers

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"
MODELS = FIXTURES / "models"
OUT = FIXTURES / "generation" / "gpt_decoders.json"
PROJECTED = FIXTURES / "generation" / "opt_projected"
CAUSAL = {"gpt2": "GPT2LMHeadModel", "opt": "OPTForCausalLM", "gpt_neox": "GPTNeoXForCausalLM",
          "gptj": "GPTJForCausalLM"}  # fmt: skip


def padded(pad: int) -> dict:
    return {"input_ids": [[pad, pad, pad, 5, 17, 3, 44], [8, 4, 90, 33, 71, 6, 12]],
            "attention_mask": [[0, 0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1]]}  # fmt: skip


GREEDY = {"num_beams": 1, "max_new_tokens": 6}
BEAMS = {"num_beams": 3, "num_return_sequences": 2, "max_new_tokens": 6}
# (name, folder relative to tests/fixtures, config overrides, padded inputs?, generate kwargs)
CASES = [
    ("gpt2-left-padded-greedy", "models/gpt2/GPT2LMHeadModel", {}, True, GREEDY),
    ("gpt2-left-padded-beams", "models/gpt2/GPT2LMHeadModel", {}, True, BEAMS),
    ("opt-left-padded-greedy", "models/opt/OPTForCausalLM", {}, True, GREEDY),
    ("opt-left-padded-beams", "models/opt/OPTForCausalLM", {}, True, BEAMS),
    ("opt-post-norm-greedy", "models/opt/OPTForCausalLM", {"do_layer_norm_before": False}, True, GREEDY),
    ("opt-projected-post-norm-greedy", "generation/opt_projected", {}, True, GREEDY),
    ("opt-projected-post-norm-beams", "generation/opt_projected", {}, True, BEAMS),
    ("gpt-neox-left-padded-greedy", "models/gpt_neox/GPTNeoXForCausalLM", {}, True, GREEDY),
    ("gpt-neox-left-padded-beams", "models/gpt_neox/GPTNeoXForCausalLM", {}, True, BEAMS),
    ("gpt-neox-sequential-residual", "models/gpt_neox/GPTNeoXForCausalLM", {"use_parallel_residual": False}, True,
     GREEDY),
    ("gpt-neox-base-500-linear", "models/gpt_neox/GPTNeoXForCausalLM",
     {"rope_theta": 500, "partial_rotary_factor": 1.0, "rope_scaling": {"type": "linear", "factor": 2.0}}, True,
     GREEDY),
    ("gpt-neox-dynamic-crossing", "models/gpt_neox/GPTNeoXForCausalLM",
     {"partial_rotary_factor": 1.0, "max_position_embeddings": 10, "rope_scaling": {"type": "dynamic", "factor": 2.0}},
     True,
     {"num_beams": 1, "max_new_tokens": 8}),
    ("gptj-left-padded-greedy", "models/gptj/GPTJForCausalLM", {}, True, GREEDY),
    ("gptj-left-padded-beams", "models/gptj/GPTJForCausalLM", {}, True, BEAMS),
    ("gptj-tied-greedy", "models/gptj/GPTJForCausalLM", {"tie_word_embeddings": True}, True, GREEDY),
]  # fmt: skip


def write_projected_checkpoint() -> None:
    """A tiny OPT shaped like OPT-350m: word_embed_proj_dim (8) != hidden_size (16), post-norm layers."""
    config = transformers.OPTConfig(vocab_size=99, hidden_size=16, word_embed_proj_dim=8, ffn_dim=24,
                                    num_hidden_layers=2, num_attention_heads=2, max_position_embeddings=32,
                                    do_layer_norm_before=False, pad_token_id=1, bos_token_id=2, eos_token_id=2)  # fmt: skip
    torch.manual_seed(7)
    model = transformers.OPTForCausalLM(config).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
    model.save_pretrained(PROJECTED, safe_serialization=True)


def load(folder: str, overrides: dict):
    path = FIXTURES / folder
    config = transformers.AutoConfig.from_pretrained(path, **json.loads(json.dumps(overrides)))
    model = transformers.AutoModelForCausalLM.from_pretrained(path, config=config, attn_implementation="eager")
    return model.eval(), config


def run(model, config, inputs: dict, kwargs: dict):
    kwargs = {"do_sample": False, "min_new_tokens": kwargs["max_new_tokens"], "eos_token_id": config.eos_token_id,
              "pad_token_id": config.pad_token_id, **kwargs}  # fmt: skip
    if kwargs["num_beams"] > 1:
        kwargs.setdefault("early_stopping", True)
    with torch.no_grad():
        sequences = model.generate(**{k: torch.tensor(v) for k, v in inputs.items()}, **kwargs)
    return sequences.tolist(), kwargs


def first_row(folder: Path) -> dict:
    inputs = np.load(folder / "inputs.npz")
    return {k: inputs[k][:1].tolist() for k in ("input_ids", "attention_mask")}


def main():
    transformers.set_seed(0)
    write_projected_checkpoint()
    for model_type, name in CAUSAL.items():
        if model_type == "gpt2":  # the shared reference set has GPT-2's already
            continue
        folder = MODELS / model_type / name
        model, config = load(f"models/{model_type}/{name}", {})
        inputs = first_row(folder)
        runs = {}
        for run_name, beams in (("greedy", 1), ("beam3", 3)):
            sequences, kwargs = run(model, config, inputs, {"num_beams": beams, "max_new_tokens": 8})
            runs[run_name] = {"kwargs": kwargs, "sequences": sequences}
        reference = {"inputs": inputs, "runs": runs,
                     "notes": "tokens from transformers 4.57.6 generate() (eager attention), PyTorch, first batch row "
                              "only; min_new_tokens=max_new_tokens so EOS cannot end early"}  # fmt: skip
        (folder / "generate.json").write_text(json.dumps(reference, indent=1) + "\n")
    cases = []
    for case_name, folder, overrides, left_padded, kwargs in CASES:
        model, config = load(folder, overrides)
        inputs = padded(config.pad_token_id) if left_padded else first_row(FIXTURES / folder)
        sequences, kwargs = run(model, config, inputs, kwargs)
        cases.append({"name": case_name, "folder": folder, "config_overrides": overrides, "inputs": inputs,
                      "kwargs": kwargs, "sequences": sequences})  # fmt: skip
    OUT.write_text(json.dumps({"transformers": transformers.__version__, "cases": cases}) + "\n")


if __name__ == "__main__":
    main()
