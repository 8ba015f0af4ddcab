"""Reference DETR training losses of transformers 4.57.6 (DetrForObjectDetection / DetrForSegmentation with
labels), written to tests/fixtures/detr_loss/losses.npz.

The models are the DETR fixtures (tests/fixtures/models/detr/...) with their inputs, in eval mode; each case
passes fixed labels (classes, centre-format boxes and, for segmentation, masks of the input's size) and optionally
switches config.auxiliary_loss on. Stored per case: the labels (label_<case>_<image>_<field>), the total loss
(<case>_loss) and every loss_dict entry (<case>_<name>). Run with the side environment that has transformers:
python (with transformers 4.57.6 installed, e.g. a side venv) scripts/reference/detr_loss.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import transformers

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"
MODELS = FIXTURES / "models" / "detr"
OUT = FIXTURES / "detr_loss"

CASES = {  # case: (head, auxiliary_loss)
    "detection": ("DetrForObjectDetection", False),
    "detection_auxiliary": ("DetrForObjectDetection", True),
    "segmentation": ("DetrForSegmentation", False),
    "segmentation_auxiliary": ("DetrForSegmentation", True),
}


def labels_for(inputs: dict, with_masks: bool) -> list[dict]:
    rng = np.random.default_rng(7)
    height, width = inputs["pixel_values"].shape[-2:]
    labels = []
    for count in (3, 1):  # the second image has fewer targets than the first
        centres = rng.uniform(0.25, 0.75, (count, 2))
        sizes = rng.uniform(0.1, 0.4, (count, 2))
        label = {"class_labels": rng.integers(0, 3, count).astype(np.int64),
                 "boxes": np.concatenate([centres, sizes], 1).astype(np.float32)}
        if with_masks:
            label["masks"] = (rng.uniform(size=(count, height, width)) > 0.6).astype(np.float32)
        labels.append(label)
    return labels


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for case, (head, auxiliary) in CASES.items():
        folder = MODELS / head
        inputs = dict(np.load(folder / "inputs.npz"))
        model = getattr(transformers, head).from_pretrained(folder, auxiliary_loss=auxiliary).eval()
        labels = labels_for(inputs, head == "DetrForSegmentation")
        with torch.no_grad():
            output = model(**{k: torch.from_numpy(v) for k, v in inputs.items()},
                           labels=[{k: torch.from_numpy(v) for k, v in t.items()} for t in labels])
        for i, label in enumerate(labels):
            for key, value in label.items():
                arrays[f"label_{case}_{i}_{key}"] = value
        arrays[f"{case}_loss"] = output.loss.numpy()
        for key, value in output.loss_dict.items():
            arrays[f"{case}_{key}"] = value.numpy()
    np.savez_compressed(OUT / "losses.npz", **arrays)


if __name__ == "__main__":
    main()
