"""Reference MaskFormer training losses of transformers 4.57.6 (MaskFormerForInstanceSegmentation with
mask_labels and class_labels), written to tests/fixtures/detr_loss/maskformer_losses.npz.

The model is the MaskFormerForInstanceSegmentation fixture with its inputs, in eval mode, with and without
config.use_auxiliary_loss (with output_hidden_states=True, which transformers' auxiliary loss needs). Stored per case: the labels (<case>_<image>_mask_labels / _class_labels) and the loss
(<case>_loss). Run with the side environment that has transformers:
python (with transformers 4.57.6 installed, e.g. a side venv) scripts/reference/maskformer_loss.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import transformers

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"
MODEL = FIXTURES / "models" / "maskformer" / "MaskFormerForInstanceSegmentation"
OUT = FIXTURES / "detr_loss"
CASES = {"plain": False, "auxiliary": True}


def main() -> None:
    inputs = dict(np.load(MODEL / "inputs.npz"))
    height, width = inputs["pixel_values"].shape[-2:]
    rng = np.random.default_rng(11)
    arrays = {}
    for case, auxiliary in CASES.items():
        model = transformers.MaskFormerForInstanceSegmentation.from_pretrained(
            MODEL, use_auxiliary_loss=auxiliary).eval()
        masks, classes = [], []
        for count in (2, 3):
            masks.append((rng.uniform(size=(count, height, width)) > 0.5).astype(np.float32))
            classes.append(rng.integers(0, 3, count).astype(np.int64))
        with torch.no_grad():
            output = model(pixel_values=torch.from_numpy(inputs["pixel_values"]),
                           mask_labels=[torch.from_numpy(m) for m in masks],
                           class_labels=[torch.from_numpy(c) for c in classes],
                           output_hidden_states=True)  # transformers' auxiliary loss fails without it
        for i, (m, c) in enumerate(zip(masks, classes)):
            arrays[f"{case}_{i}_mask_labels"], arrays[f"{case}_{i}_class_labels"] = m, c
        arrays[f"{case}_loss"] = output.loss.numpy()
    np.savez_compressed(OUT / "maskformer_losses.npz", **arrays)


if __name__ == "__main__":
    main()
