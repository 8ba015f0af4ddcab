"""Reference for answering a question about an image end to end with transformers 4.57.6: ViltProcessor (the
processor fixture tests/fixtures/processors/vilt) -> a tiny random ViltForQuestionAnswering (written here) -> the
answer through config.id2label. Two crops of different shapes, so the batch is padded and pixel_mask masks patches.
Written to tests/fixtures/vilt_pipeline/ (config.json, model.safetensors, expected.json).
Run with the side environment: python (with transformers 4.57.6 installed, e.g. a side venv) scripts/reference/vilt_pipeline.py
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import transformers
from PIL import Image

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"
PROCESSOR = FIXTURES / "processors" / "vilt"
OUT = FIXTURES / "vilt_pipeline"
CROPS = [(200, 100, 290, 160), (400, 200, 440, 290)]
QUESTIONS = ["How many cats are there?", "What color is the sky?"]
ANSWERS = {0: "yes", 1: "no", 2: "2", 3: "blue", 4: "red"}


def images():
    image = Image.open(FIXTURES / "images" / "rgb.png").convert("RGB")
    return [image.crop(box) for box in CROPS]


def main() -> None:
    processor = transformers.ViltProcessor.from_pretrained(PROCESSOR)
    config = transformers.ViltConfig(
        vocab_size=processor.tokenizer.vocab_size, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=24, max_position_embeddings=40, image_size=64, patch_size=16, id2label=ANSWERS,
        label2id={v: k for k, v in ANSWERS.items()},
    )
    torch.manual_seed(5)
    model = transformers.ViltForQuestionAnswering(config).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.3)
    OUT.mkdir(exist_ok=True)
    model.save_pretrained(OUT)
    inputs = processor(images=images(), text=QUESTIONS, padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = model(**inputs).logits
    expected = {"crops": CROPS, "questions": QUESTIONS, "pixel_mask_kept": inputs["pixel_mask"].sum((1, 2)).tolist(),
                "logits": logits.tolist(), "answers": [ANSWERS[int(i)] for i in logits.argmax(-1)]}  # fmt: skip
    (OUT / "expected.json").write_text(json.dumps(expected) + "\n")
    print(expected["answers"], inputs["pixel_values"].shape, expected["pixel_mask_kept"])


if __name__ == "__main__":
    main()
