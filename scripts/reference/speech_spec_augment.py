"""Reference SpecAugment masks from transformers 4.57.6's _compute_mask_indices (the random spans Wav2Vec2, HuBERT
and WavLM mask while training), drawn from numpy's global generator after np.random.seed(seed), so that
autoload.speech.spec_augment_mask can be checked to draw the same masks from the same seed.

Run in the side environment that has transformers: `python scripts/reference/speech_spec_augment.py`. Writes
tests/fixtures/speech_preprocessing/spec_augment.json: one case per entry (seed, shape, prob, span, min_spans,
lengths or null) with the mask as lists of masked positions per row.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from transformers.models.wav2vec2.modeling_wav2vec2 import _compute_mask_indices

OUT = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "speech_preprocessing" / "spec_augment.json"
CASES = [
    {"seed": 0, "shape": [2, 50], "prob": 0.3, "span": 5, "min_spans": 2, "lengths": None},
    {"seed": 1, "shape": [3, 40], "prob": 0.5, "span": 4, "min_spans": 1, "lengths": [40, 23, 9]},
    {"seed": 2, "shape": [2, 20], "prob": 0.05, "span": 10, "min_spans": 0, "lengths": [20, 12]},
    {"seed": 3, "shape": [4, 12], "prob": 0.9, "span": 3, "min_spans": 2, "lengths": [12, 4, 2, 7]},
    {"seed": 4, "shape": [2, 32], "prob": 0.2, "span": 6, "min_spans": 0, "lengths": None},
]


def main() -> None:
    results = []
    for case in CASES:
        np.random.seed(case["seed"])
        mask = None
        if case["lengths"] is not None:
            mask = (torch.arange(case["shape"][1])[None, :] < torch.tensor(case["lengths"])[:, None]).long()
        drawn = _compute_mask_indices(tuple(case["shape"]), case["prob"], case["span"], attention_mask=mask,
                                      min_masks=case["min_spans"])  # fmt: skip
        results.append({**case, "masked": [np.flatnonzero(row).tolist() for row in drawn]})
    OUT.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
