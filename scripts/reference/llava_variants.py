"""A LLaVA variant transformers 4.57.6 computes differently from the Auto fixture: features joined from two
vision layers (vision_feature_layer=[-3, -1]) under the "full" strategy (the class token kept), so the projector
takes twice the width and each image gives 17 image tokens. Writes tests/fixtures/multimodal_extras/llava_variant/:
config.json, model.safetensors (transformers' init, seeded), inputs.npz, expected.npz (logits, image_hidden_states).

    python scripts/reference/llava_variants.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import transformers

assert transformers.__version__ == "4.57.6", transformers.__version__

ROOT = Path(__file__).resolve().parents[2] / "tests" / "fixtures"
SOURCE = ROOT / "models" / "llava" / "LlavaForConditionalGeneration"
OUT = ROOT / "multimodal_extras" / "llava_variant"


def main() -> None:
    config = json.loads((SOURCE / "config.json").read_text())
    config.update(vision_feature_layer=[-3, -1], vision_feature_select_strategy="full", image_seq_length=17)
    torch.manual_seed(0)
    model = transformers.LlavaForConditionalGeneration(transformers.LlavaConfig(**config)).eval()
    inputs = dict(np.load(SOURCE / "inputs.npz"))
    token = config["image_token_index"]
    ids = np.concatenate([inputs["input_ids"][:, :4], np.full((2, 1), token), inputs["input_ids"][:, 4:]], axis=1)
    mask = np.concatenate([np.ones((2, 1), np.int64), inputs["attention_mask"]], axis=1)
    feeds = {"input_ids": ids, "attention_mask": mask, "pixel_values": inputs["pixel_values"]}
    with torch.no_grad():
        output = model(**{k: torch.from_numpy(v) for k, v in feeds.items()})
    OUT.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(OUT)
    (OUT / "generation_config.json").unlink(missing_ok=True)
    np.savez_compressed(OUT / "inputs.npz", **feeds)
    np.savez_compressed(OUT / "expected.npz", logits=output.logits.numpy(),
                        image_hidden_states=output.image_hidden_states.numpy())  # fmt: skip
    print("wrote", OUT, {k: v.shape for k, v in feeds.items()})


if __name__ == "__main__":
    main()
