"""bfloat16 copies of decoder fixtures and transformers 4.57.6's bfloat16 logits for them (run with the side
environment's Python, the one with transformers 4.57.6: python scripts/reference/decoder_bfloat16.py [model_type ...]).

For each architecture below, the CausalLM fixture is loaded in transformers with torch_dtype=bfloat16 and
saved (model.safetensors in bfloat16, config.json with "dtype": "bfloat16") to tests/fixtures/bf16/<type>/;
logits.npz holds the logits transformers computes in bfloat16 for the fixture's inputs (as float32).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
import transformers

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"
CAUSAL = {"llama": "LlamaForCausalLM", "gemma2": "Gemma2ForCausalLM", "phi3": "Phi3ForCausalLM",
          "mixtral": "MixtralForCausalLM", "qwen3": "Qwen3ForCausalLM", "gemma3_text": "Gemma3ForCausalLM",
          "gemma": "GemmaForCausalLM"}  # fmt: skip


def main(only: list[str]):
    for model_type, name in CAUSAL.items():
        if only and model_type not in only:
            continue
        source = FIXTURES / "models" / model_type / name
        target = FIXTURES / "bf16" / model_type
        model = transformers.AutoModelForCausalLM.from_pretrained(source, torch_dtype=torch.bfloat16,
                                                                  attn_implementation="eager").eval()  # fmt: skip
        model.save_pretrained(target)
        (target / "generation_config.json").unlink(missing_ok=True)
        inputs = {k: torch.from_numpy(v) for k, v in np.load(source / "inputs.npz").items()}
        with torch.no_grad():
            logits = model(**inputs).logits
        assert logits.dtype == torch.bfloat16
        np.savez_compressed(target / "logits.npz", logits=logits.float().numpy())


if __name__ == "__main__":
    main(sys.argv[1:])  # model types to (re)build; all when none
