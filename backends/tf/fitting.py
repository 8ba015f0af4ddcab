"""How fit() / evaluate() pair a batch's targets with a model's outputs, as transformers 4.x's TF models did.

Compiled without a loss, a model trains on the loss it computes itself: targets given as `y` become its label
arguments. Compiled with a Keras loss, the loss and metrics see the output fields the targets stand for: a
single target gets the first output that is not the loss, a tuple the first ones in order, a dict the fields
of the same names.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping

_LABEL_NAMES = ("start_positions", "end_positions")


def label_arguments(call) -> list[str]:
    """The arguments of a model's call that take targets (`labels`, `next_sentence_label`, QA positions)."""
    return [name for name in inspect.signature(call).parameters if "label" in name or name in _LABEL_NAMES]


def with_labels(model, x, y):
    """`x` with the targets `y` passed as the model's label arguments."""
    names = label_arguments(model.call)
    if not names:
        raise ValueError(f"{type(model).__name__} computes no loss, so fit() needs one: compile(loss=...).")
    inputs = dict(x) if isinstance(x, Mapping) else {model.main_input_name: x}
    if isinstance(y, Mapping):
        unknown = sorted(set(y) - set(names))
        if unknown:
            raise ValueError(f"targets {unknown} are not labels {type(model).__name__} takes ({', '.join(names)}); "
                             "rename them or compile(loss=...) to use a Keras loss.")  # fmt: skip
        return {**inputs, **y}
    if len(names) > 1:
        raise ValueError(f"{type(model).__name__} takes several labels ({', '.join(names)}): give the targets as a "
                         "dict of them, or compile(loss=...) to use a Keras loss.")  # fmt: skip
    return {**inputs, names[0]: y}


def outputs_for_targets(y_pred, y):
    """The part of a model output that the targets `y` stand for (see the module docstring)."""
    if not isinstance(y_pred, Mapping) or y is None:
        return y_pred
    fields = {name: value for name, value in y_pred.items() if name != "loss"}
    if isinstance(y, Mapping):
        if len(y) == 1:
            (name,) = y
            return y_pred[name] if name in y_pred else next(iter(fields.values()))
        return {name: value for name, value in y_pred.items() if name in y}
    if isinstance(y, (tuple, list)):
        return tuple(fields.values())[: len(y)]
    return next(iter(fields.values()))


def single_target(y):
    """A one-entry dict of targets as its value, matching the one output outputs_for_targets gives for it."""
    if isinstance(y, Mapping) and len(y) == 1:
        return next(iter(y.values()))
    return y
