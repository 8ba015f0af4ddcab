"""End-to-end text-to-speech references from transformers 4.57.6: VitsTokenizer -> VitsModel -> waveform, with the
tiny fixtures (tests/fixtures/tokenizers/vits, tests/fixtures/models/vits/VitsModel). Written to
tests/fixtures/text_to_speech/vits/ (cases.json + expected.npz):

- `deterministic`: the checkpoint's noise_scale and noise_scale_duration (both 0), a padded batch and one text;
  every framework must give these waveforms.
- `seeded`: noise_scale 0.667 and noise_scale_duration 0.8 (passed to from_pretrained, which sets the config
  transformers' VitsModel copies at construction) with torch.manual_seed(seed) just before the call: PyTorch draws
  the same noise as transformers and must give these waveforms; TensorFlow and Flax draw from their own generators.

Run in the side environment that has transformers: `python scripts/reference/text_to_speech.py`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import transformers
from transformers import VitsModel, VitsTokenizer

assert transformers.__version__ == "4.57.6", transformers.__version__

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"
MODEL = FIXTURES / "models" / "vits" / "VitsModel"
TOKENIZER = FIXTURES / "tokenizers" / "vits"
OUT = FIXTURES / "text_to_speech" / "vits"
NOISE = {"noise_scale": 0.667, "noise_scale_duration": 0.8}
CASES = [
    {"key": "batch", "text": ["Hello world!", "A cat."], "call": {"padding": True}, "load": {}},
    {"key": "one", "text": "Speech, 2 words", "call": {}, "load": {}},
    {"key": "seeded_batch", "text": ["Hello world!", "A cat."], "call": {"padding": True}, "load": NOISE, "seed": 1234},
    {"key": "seeded_one", "text": "Speech, 2 words", "call": {}, "load": NOISE, "seed": 7},
]  # fmt: skip


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    tokenizer = VitsTokenizer.from_pretrained(TOKENIZER)
    arrays, spec = {}, {"model": "models/vits/VitsModel", "tokenizer": "tokenizers/vits", "cases": []}
    for case in CASES:
        model = VitsModel.from_pretrained(MODEL, **case["load"]).eval()
        inputs = tokenizer(case["text"], return_tensors="pt", **case["call"])
        if "seed" in case:
            torch.manual_seed(case["seed"])
        with torch.no_grad():
            out = model(**inputs)
        key = case["key"]
        for name, value in [*inputs.items(), ("waveform", out.waveform), ("sequence_lengths", out.sequence_lengths)]:
            arrays[f"{key}.{name}"] = value.numpy()
        spec["cases"].append(case)
        print(key, tuple(out.waveform.shape), out.sequence_lengths.tolist())
    (OUT / "cases.json").write_text(json.dumps(spec, indent=1) + "\n")
    np.savez_compressed(OUT / "expected.npz", **arrays)


if __name__ == "__main__":
    main()
