"""LLaVA with several images per prompt, as transformers 4.57.6 computes it on the Auto fixture's checkpoint
(tests/fixtures/models/llava/LlavaForConditionalGeneration): a left-padded batch whose first row holds two images and
whose second holds one (pixel_values has one row per image, in prompt order), once with the config's feature
selection and once with vision_feature_layer=-1 / vision_feature_select_strategy="full" passed to the call (17
image tokens per image). Writes tests/fixtures/multimodal_extras/llava_multi_image/cases.npz: per case the inputs,
the logits and image_hidden_states, and generate() tokens (greedy, and beam search with two beams, where transformers
repeats each image row per beam as it repeats every other tensor).

    python scripts/reference/llava_multi_image.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import transformers

assert transformers.__version__ == "4.57.6", transformers.__version__
transformers.logging.set_verbosity_error()

ROOT = Path(__file__).resolve().parents[2] / "tests" / "fixtures"
SOURCE = ROOT / "models" / "llava" / "LlavaForConditionalGeneration"
OUT = ROOT / "multimodal_extras" / "llava_multi_image"
CASES = {"default": {}, "full_last": {"vision_feature_layer": -1, "vision_feature_select_strategy": "full"}}
RUNS = {"greedy": {"num_beams": 1}, "beam2": {"num_beams": 2, "early_stopping": True}}


def prompts(image_tokens: int) -> tuple[np.ndarray, np.ndarray]:
    """Row 0: text, image, text, image, text; row 1: text, image, text, left-padded with 0."""
    image = [98] * image_tokens
    rows = [[1, 19, 58, 65, *image, 29, *image, 22, 93, 14], [1, 47, 69, 6, *image, 29, 50]]
    width = max(len(r) for r in rows)
    ids = np.array([[0] * (width - len(r)) + r for r in rows], np.int64)
    mask = np.array([[0] * (width - len(r)) + [1] * len(r) for r in rows], np.int64)
    return ids, mask


def main() -> None:
    model = transformers.LlavaForConditionalGeneration.from_pretrained(SOURCE).eval()
    pixels = np.load(SOURCE / "inputs.npz")["pixel_values"]
    pixels = np.concatenate([pixels, pixels[:1, :, ::-1]], axis=0)  # a third image: the first upside down
    arrays = {"pixel_values": pixels}
    for name, options in CASES.items():
        ids, mask = prompts(17 if options else 16)
        feeds = {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask),
                 "pixel_values": torch.from_numpy(np.ascontiguousarray(pixels))}  # fmt: skip
        with torch.no_grad():
            output = model(**feeds, **options)
            arrays.update({f"{name}.input_ids": ids, f"{name}.attention_mask": mask,
                           f"{name}.logits": output.logits.numpy(),
                           f"{name}.image_hidden_states": output.image_hidden_states.numpy()})  # fmt: skip
            for run, search in RUNS.items():
                tokens = model.generate(**feeds, **options, **search, do_sample=False, max_new_tokens=5,
                                        min_new_tokens=5, pad_token_id=0, eos_token_id=2)  # fmt: skip
                arrays[f"{name}.{run}"] = tokens.numpy()
                print(name, run, tokens.numpy()[:, ids.shape[1]:].tolist())
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT / "cases.npz", **arrays)


if __name__ == "__main__":
    main()
