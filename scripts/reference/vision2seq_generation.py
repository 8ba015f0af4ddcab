"""generate() references for the image-to-text fixtures (VisionEncoderDecoder; LLaVA and BLIP where present),
written with transformers 4.57.6 next to the fixture checkpoints.

tests/fixtures/models/<type>/<Class>/generate.json, in the layout of the shared fixtures' generate.json: the
first batch row of inputs.npz (pixel_values, and the prompt where the model takes one), and per run the keyword
arguments and the token sequences transformers' PyTorch generate() returned. min_new_tokens equals
max_new_tokens, so EOS cannot end a run early.

Run with a Python that has transformers 4.57.6 and torch (never a dependency of autoload):

    python scripts/reference/vision2seq_generation.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
import transformers

assert transformers.__version__ == "4.57.6", transformers.__version__
transformers.logging.set_verbosity_error()

MODELS = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "models"
NOTES = ("tokens from transformers 4.57.6 generate(), PyTorch, first batch row only; min_new_tokens=max_new_tokens "
         "so EOS cannot end early")  # fmt: skip

# model_type/class -> the inputs of the first row that generate() takes
CHECKPOINTS = {
    "vision-encoder-decoder/VisionEncoderDecoderModel": ("pixel_values",),
    "llava/LlavaForConditionalGeneration": ("input_ids", "attention_mask", "pixel_values"),
    "blip/BlipForConditionalGeneration": ("pixel_values", "input_ids", "attention_mask"),
    "blip/BlipForQuestionAnswering": ("pixel_values", "input_ids", "attention_mask"),
}


def runs(config) -> dict:
    text = getattr(config, "decoder", None) or getattr(config, "text_config", None) or config
    eos = getattr(config, "eos_token_id", None) or text.eos_token_id
    pad = getattr(config, "pad_token_id", None)
    pad = text.pad_token_id if pad is None else pad
    base = {"do_sample": False, "max_new_tokens": 6, "min_new_tokens": 6, "eos_token_id": eos, "pad_token_id": pad}
    if config.model_type == "blip":  # BLIP's generate() sets them itself (text_config's sep and pad tokens)
        del base["eos_token_id"], base["pad_token_id"]
    return {
        "greedy": {**base, "num_beams": 1},
        "beam3": {**base, "num_beams": 3, "early_stopping": True},
        "constrained_greedy": {**base, "num_beams": 1, "repetition_penalty": 1.5, "no_repeat_ngram_size": 2},
    }


def first_row(inputs, names) -> dict:
    row = {}
    length = int(inputs["attention_mask"][0].sum()) if "attention_mask" in inputs else None
    for name in names:
        value = inputs[name][:1]
        if name in ("input_ids", "attention_mask") and length is not None:
            value = value[:, :length]
        row[name] = value
    return row


def main(selected) -> None:
    for key, names in CHECKPOINTS.items():
        folder = MODELS / key
        if not folder.is_dir() or (selected and key.split("/")[0] not in selected):
            continue
        model = getattr(transformers, folder.name).from_pretrained(folder).eval()
        row = first_row(np.load(folder / "inputs.npz"), names)
        reference = {"inputs": {k: v.tolist() for k, v in row.items()}, "runs": {}, "notes": NOTES}
        for name, kwargs in runs(model.config).items():
            with torch.no_grad():
                sequences = model.generate(**{k: torch.from_numpy(v) for k, v in row.items()}, **kwargs)
            reference["runs"][name] = {"kwargs": kwargs, "sequences": sequences.tolist()}
        (folder / "generate.json").write_text(json.dumps(reference) + "\n")
        print(key, {n: r["sequences"] for n, r in reference["runs"].items()})


if __name__ == "__main__":
    main(sys.argv[1:])
