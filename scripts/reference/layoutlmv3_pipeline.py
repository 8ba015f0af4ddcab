"""Reference for answering a question about a document end to end with transformers 4.57.6: LayoutLMv3Processor
(the processor fixture tests/fixtures/processors/layoutlmv3, OCR off: words and boxes given) -> a tiny random
LayoutLMv3ForQuestionAnswering (written here) -> the best span of the words (start/end argmax over the word
tokens), decoded. Written to tests/fixtures/layoutlmv3_pipeline/ (config.json, model.safetensors, expected.json).
Run with the side environment: python (with transformers 4.57.6 installed, e.g. a side venv) scripts/reference/layoutlmv3_pipeline.py
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import transformers
from PIL import Image

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"
PROCESSOR = FIXTURES / "processors" / "layoutlmv3"
OUT = FIXTURES / "layoutlmv3_pipeline"
QUESTION = "What is the total amount?"
WORDS = ["Invoice", "number:", "12345", "Date", "2024-01-15", "Total", "amount", "$1,234.56"]
BOXES = [[10, 20, 40, 35], [40, 27, 70, 42], [70, 34, 100, 49], [100, 41, 130, 56], [130, 48, 160, 63],
         [160, 55, 190, 70], [190, 62, 220, 77], [220, 69, 250, 84]]  # fmt: skip


def best_span(start, end, word_ids) -> tuple[int, int]:
    """The highest start + end score over spans of document tokens (word_ids set, sequence 1), end >= start."""
    allowed = [i for i, w in enumerate(word_ids) if w is not None]
    best = max((start[i] + end[j], i, j) for i in allowed for j in allowed if i <= j < i + 8)
    return best[1], best[2]


def main() -> None:
    processor = transformers.LayoutLMv3Processor.from_pretrained(PROCESSOR)
    config = transformers.LayoutLMv3Config(
        vocab_size=len(processor.tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=24, max_position_embeddings=64, coordinate_size=2, shape_size=4, input_size=32,
        patch_size=16, rel_pos_bins=16, max_rel_pos=32, rel_2d_pos_bins=16, max_rel_2d_pos=64, num_labels=2,
    )
    torch.manual_seed(7)
    model = transformers.LayoutLMv3ForQuestionAnswering(config).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.3)
    OUT.mkdir(exist_ok=True)
    model.save_pretrained(OUT)
    image = Image.open(FIXTURES / "images" / "rgb.png").convert("RGB")
    inputs = processor(image, QUESTION, WORDS, boxes=BOXES, return_tensors="pt")
    with torch.no_grad():
        outputs = model(**inputs)
    word_ids = inputs.word_ids(0)
    start, end = best_span(outputs.start_logits[0].tolist(), outputs.end_logits[0].tolist(), word_ids)
    answer = processor.tokenizer.decode(inputs["input_ids"][0, start : end + 1])
    expected = {"question": QUESTION, "words": WORDS, "boxes": BOXES, "input_ids": inputs["input_ids"].tolist(),
                "bbox": inputs["bbox"].tolist(), "word_ids": word_ids, "start_logits": outputs.start_logits.tolist(),
                "end_logits": outputs.end_logits.tolist(), "span": [start, end], "answer": answer}  # fmt: skip
    (OUT / "expected.json").write_text(json.dumps(expected) + "\n")
    print(answer, start, end)


if __name__ == "__main__":
    main()
