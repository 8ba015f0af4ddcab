"""Mixtral's training loss with output_router_logits, from transformers 4.57.6 (run with the side environment's
Python: python scripts/reference/decoder_moe_loss.py).

For the MixtralForCausalLM fixture (right-padded row 1) with labels = input_ids, -100 on padding, writes
tests/fixtures/decoder_extras/moe_loss.json: loss (next-token loss + router_aux_loss_coef * aux_loss) and
aux_loss (load balancing over the non-padding tokens), for the fixture's coefficient and for 0.5, which makes
the auxiliary term large enough to tell apart.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import transformers

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"
FOLDER = FIXTURES / "models" / "mixtral" / "MixtralForCausalLM"


def main():
    inputs = {k: torch.from_numpy(v.astype(np.int64)) for k, v in np.load(FOLDER / "inputs.npz").items()}
    labels = inputs["input_ids"].masked_fill(inputs["attention_mask"] == 0, -100)
    cases = []
    for coef in (None, 0.5):
        overrides = {} if coef is None else {"router_aux_loss_coef": coef}
        model = transformers.AutoModelForCausalLM.from_pretrained(FOLDER, **overrides).eval()
        with torch.no_grad():
            out = model(**inputs, labels=labels, output_router_logits=True)
        cases.append({"config_overrides": overrides, "loss": float(out.loss), "aux_loss": float(out.aux_loss),
                      "router_aux_loss_coef": model.config.router_aux_loss_coef})  # fmt: skip
    reference = {"transformers": transformers.__version__, "labels": labels.tolist(), "cases": cases}
    (FIXTURES / "decoder_extras").mkdir(exist_ok=True)
    (FIXTURES / "decoder_extras" / "moe_loss.json").write_text(json.dumps(reference, indent=1) + "\n")


if __name__ == "__main__":
    main()
