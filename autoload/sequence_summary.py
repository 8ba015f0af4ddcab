"""The "sequence summary" a few heads pool with (ELECTRA's multiple choice; XLNet/XLM-style heads): one vector per
sequence from the config's summary_* fields, read once here for every framework, as transformers reads them."""

from __future__ import annotations

from dataclasses import dataclass

from .encoder import check_activation

SUMMARY_TYPES = ("last", "first", "mean", "cls_index")


@dataclass(frozen=True)
class SummaryOptions:
    """kind: which position(s) make the summary ("cls_index" without indices means the last position).
    projection: the width of the `summary` dense layer, None when the config has none (summary_use_proj).
    activation: applied after the projection (None: none). first/last_dropout: before and after it."""

    kind: str
    projection: int | None
    activation: str | None
    first_dropout: float
    last_dropout: float


def summary_options(config) -> SummaryOptions:
    owner = type(config).__name__
    kind = getattr(config, "summary_type", "last")
    if kind not in SUMMARY_TYPES:
        raise NotImplementedError(f"{owner}.summary_type={kind!r} is not supported (transformers implements none "
                                  f"other either); use one of {', '.join(SUMMARY_TYPES)}.")  # fmt: skip
    projection = None
    if getattr(config, "summary_use_proj", False):
        to_labels = getattr(config, "summary_proj_to_labels", False) and config.num_labels > 0
        projection = config.num_labels if to_labels else config.hidden_size
    activation = getattr(config, "summary_activation", None) or None
    if activation is not None:
        check_activation(activation, "summary_activation", owner)
    return SummaryOptions(kind, projection, activation, float(getattr(config, "summary_first_dropout", 0) or 0),
                          float(getattr(config, "summary_last_dropout", 0) or 0))  # fmt: skip
