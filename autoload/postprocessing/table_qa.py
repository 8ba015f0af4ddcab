"""TAPAS table question answering: cell-selection and aggregation logits -> answer coordinates, in numpy, as
transformers' TapasTokenizer.convert_logits_to_predictions computes them."""

from __future__ import annotations

import numpy as np

from .arrays import to_numpy

# The 7 token type ids of a TAPAS encoding, in order.
TOKEN_TYPES = ["segment_ids", "column_ids", "row_ids", "prev_labels", "column_ranks", "inv_column_ranks",
               "numeric_relations"]  # fmt: skip
# exp(88.72) is float32's largest value: logits below -88.7 are raised to it so the sigmoid never overflows.
_LOWEST_LOGIT = -88.7


def logits_to_predictions(data, logits, logits_agg=None, cell_classification_threshold: float = 0.5):
    """(answer coordinates,) or (answer coordinates, aggregation indices): per example the sorted (row, column)
    pairs of the cells whose tokens' mean probability exceeds the threshold, and argmax of logits_agg. An example
    whose encoding has no table cell is left out of the coordinates."""
    for name in ("input_ids", "attention_mask", "token_type_ids"):
        if name not in data:
            raise ValueError(f"convert_logits_to_predictions needs the encoding's {name!r} in data; got {sorted(data)}.")
    logits = to_numpy(logits).copy()
    logits[logits < _LOWEST_LOGIT] = _LOWEST_LOGIT
    probabilities = 1 / (1 + np.exp(-logits)) * to_numpy(data["attention_mask"])
    token_types = to_numpy(data["token_type_ids"])
    if token_types.ndim != 3 or token_types.shape[-1] != len(TOKEN_TYPES):
        raise ValueError(f"token_type_ids must be (batch, length, {len(TOKEN_TYPES)}) as TapasTokenizer returns them; "
                         f"got shape {token_types.shape}.")  # fmt: skip
    segments, columns, rows = (token_types[:, :, TOKEN_TYPES.index(name)] for name in
                               ("segment_ids", "column_ids", "row_ids"))  # fmt: skip
    coordinates = []
    for example in range(to_numpy(data["input_ids"]).shape[0]):
        width, height = columns[example].max(), rows[example].max()
        if width == 0 and height == 0:
            continue
        cell_probabilities: dict[tuple[int, int], list[float]] = {}
        for index, probability in enumerate(probabilities[example].tolist()):
            column, row = int(columns[example, index]) - 1, int(rows[example, index]) - 1
            if column >= 0 and row >= 0 and segments[example, index] == 1:
                cell_probabilities.setdefault((column, row), []).append(probability)
        selected = []
        for column in range(width):
            for row in range(height):
                values = cell_probabilities.get((column, row))
                if values is not None and np.array(values).mean() > cell_classification_threshold:
                    selected.append((row, column))
        coordinates.append(sorted(selected))
    if logits_agg is None:
        return (coordinates,)
    return coordinates, to_numpy(logits_agg).argmax(axis=-1).tolist()
