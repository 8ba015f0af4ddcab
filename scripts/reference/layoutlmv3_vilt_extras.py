"""Reference outputs of transformers 4.57.6 for LayoutLMv3 and ViLT paths the parity fixtures do not cover, written
to tests/fixtures/multimodal_extras/ (layoutlmv3.npz, vilt.npz).

LayoutLMv3 (fixture checkpoints of tests/fixtures/models/layoutlmv3): the text-only forward (no pixel_values: 1-D
positions 0.. and the text boxes only), a token-classification head with 12 labels (RoBERTa's two-layer head;
its weights, initialised by transformers with a fixed seed, are stored) and the QA / token losses.
ViLT (tests/fixtures/models/vilt/ViltForQuestionAnswering): a batch whose second image is padded (pixel_mask
keeps 16x24 of 24x40 pixels), so its position table is resized to a 2x3 grid and masked padding patches fill
its tokens; transformers orders the longest row's patches at random, so only order-free outputs are stored
(logits, pooled output, the text tokens' hidden states) and the soft-label loss.
Run with the side environment: python (with transformers 4.57.6 installed, e.g. a side venv) scripts/reference/layoutlmv3_vilt_extras.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import transformers

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"
MODELS = FIXTURES / "models"
OUT = FIXTURES / "multimodal_extras"


def tensors(folder: Path) -> dict:
    return {k: torch.from_numpy(v) for k, v in np.load(folder / "inputs.npz").items()}


def layoutlmv3() -> dict:
    arrays = {}
    base = MODELS / "layoutlmv3" / "LayoutLMv3Model"
    inputs = tensors(base)
    model = transformers.LayoutLMv3Model.from_pretrained(base).eval()
    text_only = {k: v for k, v in inputs.items() if k != "pixel_values"}
    with torch.no_grad():
        arrays["text_only_last_hidden_state"] = model(**text_only).last_hidden_state.numpy()
    torch.manual_seed(0)
    folder = MODELS / "layoutlmv3" / "LayoutLMv3ForTokenClassification"
    config = transformers.LayoutLMv3Config.from_pretrained(folder, num_labels=12)
    model = transformers.LayoutLMv3ForTokenClassification.from_pretrained(folder, config=config,
                                                                          ignore_mismatched_sizes=True).eval()
    labels = torch.from_numpy(np.random.default_rng(1).integers(0, 12, inputs["input_ids"].shape))
    with torch.no_grad():
        result = model(**inputs, labels=labels)
    arrays.update({f"token12_{k}": v.numpy() for k, v in model.classifier.state_dict().items()})
    arrays.update(token12_labels=labels.numpy(), token12_logits=result.logits.numpy(), token12_loss=result.loss.numpy())
    folder = MODELS / "layoutlmv3" / "LayoutLMv3ForQuestionAnswering"
    model = transformers.LayoutLMv3ForQuestionAnswering.from_pretrained(folder).eval()
    start, end = torch.tensor([3, 30]), torch.tensor([5, 7])  # 30: past the sequence, ignored
    with torch.no_grad():
        arrays["qa_loss"] = model(**inputs, start_positions=start, end_positions=end).loss.numpy()
    arrays.update(qa_start_positions=start.numpy(), qa_end_positions=end.numpy())
    return arrays


def vilt() -> dict:
    folder = MODELS / "vilt" / "ViltForQuestionAnswering"
    inputs = tensors(folder)
    mask = torch.ones_like(inputs["pixel_mask"])
    mask[1, 16:] = 0
    mask[1, :, 24:] = 0
    inputs["pixel_mask"] = mask
    model = transformers.ViltForQuestionAnswering.from_pretrained(folder).eval()
    labels = torch.zeros((2, model.config.num_labels))
    labels[0, 1], labels[1, 3], labels[1, 0] = 1.0, 0.6, 0.3
    torch.manual_seed(0)
    with torch.no_grad():
        result = model(**inputs, labels=labels, output_hidden_states=True)
        encoded = model.vilt(**inputs)
    length = inputs["input_ids"].shape[1]
    return {"padded_pixel_mask": mask.numpy().astype(np.int8), "padded_logits": result.logits.numpy(),
            "padded_loss": result.loss.numpy(), "padded_labels": labels.numpy(),
            "padded_pooler_output": encoded.pooler_output.numpy(),
            "padded_text_hidden": encoded.last_hidden_state[:, :length].numpy(),
            "padded_length": np.array(encoded.last_hidden_state.shape[1])}


def main() -> None:
    OUT.mkdir(exist_ok=True)
    np.savez_compressed(OUT / "layoutlmv3.npz", **layoutlmv3())
    np.savez_compressed(OUT / "vilt.npz", **vilt())


if __name__ == "__main__":
    main()
