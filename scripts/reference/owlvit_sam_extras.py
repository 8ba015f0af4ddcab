"""Reference outputs of transformers 4.57.6 for what the OWL-ViT and SAM Auto fixtures do not reach: OWL-ViT's
image-guided detection and detection on a non-square image with interpolated positions; SAM's box, mask and
"not a point" prompts, single-mask output, precomputed image embeddings and SamVisionModel. Each case reuses the model fixture's checkpoint
(tests/fixtures/models/<type>/<class>/) and writes tests/fixtures/prompted_vision/<case>/ with inputs.npz,
expected.npz (every output field, flattened as the model fixtures are) and case.json (checkpoint folder, class
when it is not the folder's, method and non-array call arguments).

Run in the side environment that has transformers: `python scripts/reference/owlvit_sam_extras.py`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import torch
import transformers

assert transformers.__version__ == "4.57.6", transformers.__version__

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"
OUT = FIXTURES / "prompted_vision"


def flatten(output) -> dict:
    flat = {}
    for key, value in output.items():
        if value is None:
            continue
        if isinstance(value, (tuple, list)):
            for i, item in enumerate(value):
                flat[f"{key}_{i}"] = item.detach().numpy()
        elif hasattr(value, "items"):
            flat.update({f"{key}_{k}": v for k, v in flatten(value).items()})
        else:
            flat[key] = value.detach().numpy()
    return flat


def write(name: str, checkpoint: str, method: str, inputs: dict, call: dict, cls: str | None = None) -> None:
    folder = FIXTURES / "models" / checkpoint
    model = getattr(transformers, cls or folder.name).from_pretrained(folder).eval()
    with torch.no_grad():
        output = getattr(model, method)(**{k: torch.from_numpy(v) for k, v in inputs.items()}, **call)
    target = OUT / name
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    np.savez_compressed(target / "inputs.npz", **inputs)
    np.savez_compressed(target / "expected.npz", **flatten(output))
    case = {"checkpoint": checkpoint, "method": method, "call": call, **({"class": cls} if cls else {})}
    (target / "case.json").write_text(json.dumps(case, indent=1) + "\n")
    print(name, {k: v.shape for k, v in flatten(output).items()})


def owlvit_cases() -> None:
    detection = "owlvit/OwlViTForObjectDetection"
    given = dict(np.load(FIXTURES / "models" / detection / "inputs.npz"))
    rng = np.random.default_rng(7)
    query = np.ascontiguousarray(given["pixel_values"][:, :, ::-1, :]) + rng.normal(0, 0.5, (2, 3, 32, 32))
    write("owlvit_image_guided", detection, "image_guided_detection",
          {"pixel_values": given["pixel_values"], "query_pixel_values": query.astype(np.float32)},
          {"output_hidden_states": True})  # fmt: skip
    wide = rng.normal(0, 1, (2, 3, 24, 40)).astype(np.float32)
    write("owlvit_interpolated", detection, "forward",
          {"input_ids": given["input_ids"], "attention_mask": given["attention_mask"], "pixel_values": wide},
          {"interpolate_pos_encoding": True})  # fmt: skip


def sam_cases() -> None:
    checkpoint = "sam/SamModel"
    given = dict(np.load(FIXTURES / "models" / checkpoint / "inputs.npz"))
    rng = np.random.default_rng(11)
    points = rng.uniform(0, 32, (2, 2, 1, 2)).astype(np.float32)
    labels = np.array([[[1], [-1]], [[0], [1]]], np.int64)
    boxes = np.array([[[2, 3, 20, 28], [10, 0, 31, 15]], [[0, 0, 31, 31], [5, 8, 12, 30]]], np.float32)
    write("sam_points_and_boxes_single_mask", checkpoint, "forward",
          {"pixel_values": given["pixel_values"], "input_points": points, "input_labels": labels,
           "input_boxes": boxes}, {"multimask_output": False, "output_hidden_states": True})  # fmt: skip
    write("sam_mask_prompt_on_image_embeddings", checkpoint, "forward",
          {"image_embeddings": rng.normal(0, 1, (2, 24, 8, 8)).astype(np.float32), "input_boxes": boxes[:, :1],
           "input_masks": rng.normal(0, 1, (2, 1, 32, 32)).astype(np.float32)}, {})  # fmt: skip
    write("sam_vision_model", checkpoint, "forward", {"pixel_values": given["pixel_values"]},
          {"output_hidden_states": True}, cls="SamVisionModel")  # fmt: skip


if __name__ == "__main__":
    owlvit_cases()
    sam_cases()
