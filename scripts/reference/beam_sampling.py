"""Beam sampling references (num_beams > 1 with do_sample=True) from transformers 4.57.6, for
tests/fixtures/generation/beam_sampling.json.

transformers draws each step's candidates with torch.multinomial (without replacement) over the softmax of
the beams' total scores. To compare tokens, that one call is replaced here by draws from a numpy Generator
seeded with the case's seed: per batch row in order, rng.choice(n, size, replace=False, p), which is what
autoload's search calls with generate(seed=...). Both are successive draws without replacement, so only the
random stream differs from transformers' own; everything else (warpers with their minimum kept tokens, which
drawn endings finish, which drawn candidates continue, stopping) is transformers' code.

Run with a Python that has transformers 4.57.6 (never a dependency of autoload):

    python scripts/reference/beam_sampling.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import transformers

assert transformers.__version__ == "4.57.6", transformers.__version__
transformers.logging.set_verbosity_error()

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"
OUT = FIXTURES / "generation" / "beam_sampling.json"
PADDED = {"input_ids": [[0, 0, 0, 5, 17, 3, 44], [8, 4, 90, 33, 71, 6, 12]],
          "attention_mask": [[0, 0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1]]}  # fmt: skip
SOURCE = {"input_ids": [[5, 17, 3, 44, 9, 2], [8, 4, 90, 33, 71, 2]], "attention_mask": [[1] * 6, [1] * 6]}
SAMPLE = {"do_sample": True, "temperature": 1.5, "top_k": 12, "top_p": 0.95}
# (name, folder, auto class, inputs, generate kwargs); endings are made likely (several end tokens, a high
# temperature) so that drawn endings finish hypotheses and some examples stop early. BART's config forces its
# end token at max_length, which leaves one candidate per beam where beam sampling draws two: transformers
# fails there (so does autoload, with a clear error), so these runs turn it off.
CASES = [
    ("llama-3-beams", "llama/LlamaForCausalLM", "AutoModelForCausalLM", PADDED,
     {**SAMPLE, "num_beams": 3, "num_return_sequences": 2, "max_new_tokens": 8, "seed": 0}),
    ("llama-endings", "llama/LlamaForCausalLM", "AutoModelForCausalLM", PADDED,
     {**SAMPLE, "temperature": 3.0, "num_beams": 2, "max_new_tokens": 10, "eos_token_id": [2, 7, 11, 19, 23],
      "seed": 1}),
    ("llama-endings-never", "llama/LlamaForCausalLM", "AutoModelForCausalLM", PADDED,
     {**SAMPLE, "temperature": 3.0, "top_k": 0, "num_beams": 3, "num_return_sequences": 3, "max_new_tokens": 9,
      "eos_token_id": [2, 7, 11], "early_stopping": "never", "length_penalty": 1.5, "seed": 2}),
    ("llama-likely-endings", "llama/LlamaForCausalLM", "AutoModelForCausalLM", PADDED,
     {**SAMPLE, "num_beams": 3, "num_return_sequences": 3, "max_new_tokens": 8, "eos_token_id": [72, 83],
      "length_penalty": 0.5, "seed": 6}),
    # plain beam search, for what it shares with beam sampling: a hypothesis ends with the end token drawn (not the
    # first of them) and, the pad id being 0, short ones are filled with the first end token as transformers does
    ("llama-beam-search-endings", "llama/LlamaForCausalLM", "AutoModelForCausalLM", PADDED,
     {"num_beams": 3, "num_return_sequences": 3, "max_new_tokens": 8, "eos_token_id": [96, 83, 72]}),
    ("bart-3-beams", "bart/BartForConditionalGeneration", "AutoModelForSeq2SeqLM", SOURCE,
     {**SAMPLE, "num_beams": 3, "num_return_sequences": 2, "max_new_tokens": 8, "min_new_tokens": 8,
      "forced_eos_token_id": None, "seed": 3}),
    ("bart-endings-early-stopping", "bart/BartForConditionalGeneration", "AutoModelForSeq2SeqLM", SOURCE,
     {**SAMPLE, "temperature": 2.5, "top_k": 0, "num_beams": 4, "max_new_tokens": 10,
      "eos_token_id": [2, 7, 11, 19], "early_stopping": True, "forced_eos_token_id": None, "seed": 4}),
    ("t5-top-p-only", "t5/T5ForConditionalGeneration", "AutoModelForSeq2SeqLM", SOURCE,
     {"do_sample": True, "temperature": 2.0, "top_k": 0, "top_p": 0.9, "num_beams": 2, "max_new_tokens": 7,
      "eos_token_id": [1, 5],
      "seed": 5}),
]  # fmt: skip


def numpy_multinomial(rng: np.random.Generator):
    def draw(probs, num_samples, replacement=False, *, generator=None):
        assert not replacement
        rows = [rng.choice(row.size, size=num_samples, replace=False, p=row / row.sum())
                for row in probs.double().numpy()]  # fmt: skip
        return torch.from_numpy(np.stack(rows))

    return draw


def main() -> None:
    cases = []
    original = torch.multinomial
    for name, folder, auto, inputs, kwargs in CASES:
        model = getattr(transformers, auto).from_pretrained(FIXTURES / "models" / folder).eval()
        options = {k: v for k, v in kwargs.items() if k != "seed"}
        seed = kwargs.get("seed", 0)
        options.setdefault("pad_token_id", model.config.pad_token_id)
        torch.multinomial = numpy_multinomial(np.random.default_rng(seed))
        try:
            with torch.no_grad():
                sequences = model.generate(**{k: torch.tensor(v) for k, v in inputs.items()}, **options).tolist()
        finally:
            torch.multinomial = original
        cases.append({"name": name, "folder": folder, "inputs": inputs, "kwargs": kwargs, "sequences": sequences})
    OUT.write_text(json.dumps({"transformers": transformers.__version__, "cases": cases}, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
