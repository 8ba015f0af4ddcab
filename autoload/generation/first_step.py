"""What generate() gives only to the first decoding step of a decoder-only model (LLaVA's pixel_values, its feature
selection): inputs whose rows need not be the prompts' rows, and the model's own keyword options."""

from __future__ import annotations

import numpy as np


def first_step_rows(rows, count: int) -> np.ndarray:
    """The rows to take of a first-step input with `count` rows when the prompts' rows become `rows`. Before the
    first step the search only repeats each prompt (beams, num_return_sequences); transformers then repeats every
    such input row by row the same number of times, whatever its rows stand for (LLaVA's one row per image
    included), and so does this."""
    rows = np.asarray(rows)
    prompts = int(rows.max()) + 1 if rows.size else 0
    times = rows.size // prompts if prompts else 1
    if prompts and np.array_equal(rows, np.repeat(np.arange(prompts), times)):
        return np.repeat(np.arange(count), times)
    if count == prompts:
        return rows
    raise ValueError(f"Cannot reorder a first-step input of {count} rows to the rows {rows.tolist()}.")


def split_model_options(model, options: dict) -> dict:
    """Pops from generate()'s keyword options those the model's forward takes on the first step
    (`model.generation_forward_options`, e.g. LLaVA's vision_feature_layer) and returns them."""
    names = getattr(model, "generation_forward_options", ())
    return {name: options.pop(name) for name in names if name in options}
