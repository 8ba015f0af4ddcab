"""Reference TAPAS training losses of transformers 4.57.6 (TapasForQuestionAnswering with labels), written to
tests/fixtures/tapas_loss/ (losses.npz, cases.json).

The model is the TapasForQuestionAnswering fixture (tests/fixtures/models/tapas/TapasForQuestionAnswering) with
its inputs; each case overrides a few config fields (the supervision modes of the SQA / WTQ / WikiSQL
checkpoints) and passes labels, aggregation labels, float answers and numeric values. Run with the side
environment that has transformers: python (with transformers 4.57.6 installed, e.g. a side venv) scripts/reference/tapas_loss.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import transformers

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"
MODEL = FIXTURES / "models" / "tapas" / "TapasForQuestionAnswering"
OUT = FIXTURES / "tapas_loss"

CASES = {
    # weak supervision from the answer (WTQ): aggregate mask, regression (huber) loss, ratio average
    "wtq": {"use_answer_as_supervision": True, "cell_selection_preference": 0.5, "huber_loss_delta": 0.2,
            "answer_loss_cutoff": 50.0},
    "wtq_normalized_first_order": {"use_answer_as_supervision": True, "cell_selection_preference": 0.2,
                                   "use_normalized_answer_loss": True, "average_approximation_function": "first_order",
                                   "average_logits_per_cell": True},
    "wtq_second_order_cutoff": {"use_answer_as_supervision": True, "cell_selection_preference": 0.9,
                                "huber_loss_delta": 1.0, "average_approximation_function": "second_order",
                                "answer_loss_cutoff": 0.01, "temperature": 0.5, "aggregation_temperature": 2.0},
    # strong supervision of the aggregation (WikiSQL-supervised)
    "wikisql_supervised": {"use_answer_as_supervision": False, "aggregation_loss_weight": 0.5},
    # cell selection per token, no aggregation head (SQA-like without the column restriction)
    "per_token": {"num_aggregation_labels": 0, "select_one_column": False, "positive_label_weight": 5.0},
    "no_per_token_loss": {"use_answer_as_supervision": False, "disable_per_token_loss": True},
}


def main() -> None:
    inputs = {k: torch.from_numpy(v) for k, v in np.load(MODEL / "inputs.npz").items()}
    batch, length = inputs["input_ids"].shape
    rng = np.random.default_rng(5)
    labels = np.zeros((batch, length), np.int64)
    labels[0, 11:13] = 1  # a cell of column 1, row 1
    labels[0, 18] = 1  # column 1, row 3
    numeric = np.full((batch, length), np.nan, np.float32)
    numeric[:, 6:] = rng.uniform(0.5, 9.0, (batch, length - 6)).astype(np.float32)
    scale = rng.uniform(1.0, 2.0, (batch, length)).astype(np.float32)
    extras = {"labels": labels, "aggregation_labels": np.array([2, 0]), "float_answer": np.array([np.nan, 7.5], np.float32),
              "numeric_values": numeric, "numeric_values_scale": scale}
    arrays = dict(extras)
    for name, overrides in CASES.items():
        config = transformers.TapasConfig.from_pretrained(MODEL, **overrides)
        model = transformers.TapasForQuestionAnswering.from_pretrained(MODEL, config=config).eval()
        given = {k: torch.from_numpy(v) for k, v in extras.items()}
        if not config.select_one_column:  # transformers' per-token Bernoulli loss needs float labels
            given["labels"] = given["labels"].float()
        with torch.no_grad():
            result = model(**inputs, **given)
        arrays[f"{name}_loss"] = result.loss.numpy()
        arrays[f"{name}_logits"] = result.logits.numpy()
    OUT.mkdir(exist_ok=True)
    np.savez_compressed(OUT / "losses.npz", **arrays)
    (OUT / "cases.json").write_text(json.dumps(CASES, indent=1) + "\n")


if __name__ == "__main__":
    main()
