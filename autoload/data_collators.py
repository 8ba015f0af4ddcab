"""Data collators: lists of tokenized examples -> one padded batch, for PyTorch, TF or numpy
(`return_tensors` "pt", "tf", "np"), with transformers 4.x's names, arguments and fields.

They work in numpy and convert the finished batch, so each behaves alike in every framework; where one draws
random numbers (DataCollatorForLanguageModeling) it draws from numpy (`seed=` fixes the draws), so batches equal
transformers' in distribution, not draw for draw.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .tokenization.base import _pad_row
from .tokenization.batch_encoding import BatchEncoding

RETURN_TENSORS = ("pt", "tf", "np")


def _check_return_tensors(return_tensors: str) -> str:
    if return_tensors not in RETURN_TENSORS:
        raise ValueError(f"return_tensors={return_tensors!r}: data collators make 'pt', 'tf' or 'np' batches.")
    return return_tensors


def _tensor(values, return_tensors: str, dtype: str | None = None):
    """`values` as a tensor of the framework; dtype "int64" / "float32" where transformers fixes it, else the
    framework's own choice for Python numbers (TF: int32)."""
    if dtype is not None:
        array = np.asarray(values, dtype=dtype)
        if return_tensors == "pt":
            import torch

            return torch.from_numpy(array)
        if return_tensors == "tf":
            import tensorflow as tf

            return tf.constant(array)
        return array
    return BatchEncoding({"value": values}, tensor_type=return_tensors)["value"]


def _to_list(value) -> list:
    return value.tolist() if hasattr(value, "tolist") else list(value)


def _as_mappings(features) -> list:
    return [f if isinstance(f, Mapping) else vars(f) for f in features]


def default_data_collator(features: list, return_tensors: str = "pt") -> dict[str, Any]:
    """Stack examples of equal lengths (no padding): "label" / "label_ids" (for TF also "labels") become "labels",
    int64 for integer labels, float32 otherwise; None and string fields are left out."""
    _check_return_tensors(return_tensors)
    features = _as_mappings(features)
    first, batch = features[0], {}
    label_names = ("label", "label_ids", "labels") if return_tensors == "tf" else ("label", "label_ids")
    for name in label_names:
        if first.get(name) is not None:
            labels = np.asarray([np.asarray(f[name]) for f in features])
            integer = np.issubdtype(labels.dtype, np.integer) and labels.dtype != np.bool_
            batch["labels"] = _tensor(labels, return_tensors, "int64" if integer else "float32")
            break
    for key, value in first.items():
        if key not in label_names and value is not None and not isinstance(value, str):
            values = [f[key] for f in features]
            if isinstance(value, np.ndarray) or hasattr(value, "numpy"):
                stacked = np.stack([np.asarray(v) for v in values])
                # as transformers: PyTorch and numpy keep the arrays' dtype, TF converts their numbers anew
                batch[key] = _tensor(stacked.tolist(), "tf") if return_tensors == "tf" else \
                    _tensor(stacked, return_tensors, str(stacked.dtype))  # fmt: skip
            else:
                batch[key] = _tensor(values, return_tensors)
    return batch


def _rename_labels(batch: BatchEncoding) -> BatchEncoding:
    for name in ("label", "label_ids"):
        if name in batch:
            batch["labels"] = batch.pop(name)
    return batch


@dataclass
class DataCollatorWithPadding:
    """Pad the examples with the tokenizer (`padding`, `max_length`, `pad_to_multiple_of` as tokenizer.pad takes
    them); "label" / "label_ids" become "labels"."""

    tokenizer: Any
    padding: bool | str = True
    max_length: int | None = None
    pad_to_multiple_of: int | None = None
    return_tensors: str = "pt"

    def __call__(self, features: list, return_tensors: str | None = None) -> BatchEncoding:
        rt = _check_return_tensors(return_tensors or self.return_tensors)
        batch = self.tokenizer.pad(_as_mappings(features), padding=self.padding, max_length=self.max_length,
                                   pad_to_multiple_of=self.pad_to_multiple_of,
                                   return_tensors=rt)  # fmt: skip
        return _rename_labels(batch)


def _split_labels(features) -> tuple[str, list | None, list[dict]]:
    """(the label field's name, each example's labels or None, the examples without them)."""
    features = _as_mappings(features)
    name = "label" if "label" in features[0] else "labels"
    labels = [f[name] for f in features] if name in features[0] else None
    return name, labels, [{k: v for k, v in f.items() if k != name} for f in features]


def _padded_labels(labels: list, length: int, pad: int, side: str) -> list[list]:
    return [_pad_row(row, length - len(row), pad, side == "left") for row in map(_to_list, labels)]


@dataclass
class DataCollatorForTokenClassification:
    """Pad the inputs with the tokenizer and each example's per-token labels to the same length with
    `label_pad_token_id` (-100: ignored by the loss); the label field keeps its name ("label" or "labels")."""

    tokenizer: Any
    padding: bool | str = True
    max_length: int | None = None
    pad_to_multiple_of: int | None = None
    label_pad_token_id: int = -100
    return_tensors: str = "pt"

    def __call__(self, features: list, return_tensors: str | None = None) -> BatchEncoding:
        rt = _check_return_tensors(return_tensors or self.return_tensors)
        name, labels, inputs = _split_labels(features)
        batch = self.tokenizer.pad(inputs, padding=self.padding, max_length=self.max_length,
                                   pad_to_multiple_of=self.pad_to_multiple_of, return_tensors="np")  # fmt: skip
        if labels is None:
            return batch.convert_to_tensors(rt)
        length = np.shape(batch["input_ids"])[1]
        batch[name] = _padded_labels(labels, length, self.label_pad_token_id, self.tokenizer.padding_side)
        return _converted(batch, rt, dict.fromkeys(batch, "int64"))


def _converted(batch: BatchEncoding, return_tensors: str, dtypes: dict) -> BatchEncoding:
    """Each field as a tensor: of the dtype `dtypes` gives it, else of the framework's choice for its numbers."""
    for key, value in list(batch.items()):
        batch[key] = _tensor(value if key in dtypes else _to_list(value), return_tensors, dtypes.get(key))
    return batch


@dataclass
class DataCollatorForSeq2Seq:
    """Pad the inputs with the tokenizer and the labels with `label_pad_token_id` (to the longest, or
    `max_length` with padding="max_length", rounded up to `pad_to_multiple_of`); with a `model` that has
    prepare_decoder_input_ids_from_labels, add the decoder inputs it makes from the labels."""

    tokenizer: Any
    model: Any = None
    padding: bool | str = True
    max_length: int | None = None
    pad_to_multiple_of: int | None = None
    label_pad_token_id: int = -100
    return_tensors: str = "pt"

    def __call__(self, features: list, return_tensors: str | None = None) -> BatchEncoding:
        rt = _check_return_tensors(return_tensors or self.return_tensors)
        _, labels, inputs = _split_labels(features)
        if labels is not None and all(label is None for label in labels):
            labels = None
        batch = self.tokenizer.pad(inputs, padding=self.padding, max_length=self.max_length,
                                   pad_to_multiple_of=self.pad_to_multiple_of,
                                   return_tensors=rt)  # fmt: skip
        if labels is None:
            batch["labels"] = None
            return batch
        if self.padding is False or self.padding == "do_not_pad":
            batch["labels"] = [_to_list(label) for label in labels]
            return batch
        length = self.max_length if self.padding == "max_length" and self.max_length is not None \
            else max(len(label) for label in labels)  # fmt: skip
        if self.pad_to_multiple_of:
            length = -(-length // self.pad_to_multiple_of) * self.pad_to_multiple_of
        padded = _padded_labels(labels, length, self.label_pad_token_id, self.tokenizer.padding_side)
        batch["labels"] = _tensor(padded, rt, "int64")
        if self.model is not None and hasattr(self.model, "prepare_decoder_input_ids_from_labels"):
            batch["decoder_input_ids"] = self.model.prepare_decoder_input_ids_from_labels(labels=batch["labels"])
        return batch


@dataclass
class DataCollatorForLanguageModeling:
    """Pad the examples (dicts, or lists of ids) and make labels: with mlm, each token that is not special is
    chosen with probability `mlm_probability`, its label kept (others -100); of the chosen, `mask_replace_prob`
    become the mask token, `random_replace_prob` a random token, the rest stay. Without mlm (causal LM), the
    labels are the inputs with padding as -100."""

    tokenizer: Any
    mlm: bool = True
    mlm_probability: float = 0.15
    mask_replace_prob: float = 0.8
    random_replace_prob: float = 0.1
    pad_to_multiple_of: int | None = None
    return_tensors: str = "pt"
    seed: int | None = None

    def __post_init__(self):
        if self.mlm and self.tokenizer.mask_token is None:
            raise ValueError("This tokenizer has no mask token, which masked language modeling needs; pass "
                             "mlm=False to train causal language modeling instead.")  # fmt: skip
        for name in ("mlm_probability", "mask_replace_prob", "random_replace_prob"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be between 0 and 1, got {getattr(self, name)}.")
        if self.mask_replace_prob + self.random_replace_prob > 1:
            raise ValueError("mask_replace_prob + random_replace_prob must be at most 1, got "
                             f"{self.mask_replace_prob} + {self.random_replace_prob}.")  # fmt: skip
        self._rng = np.random.default_rng(self.seed)

    def __call__(self, examples: list, return_tensors: str | None = None) -> BatchEncoding:
        rt = _check_return_tensors(return_tensors or self.return_tensors)
        if isinstance(examples[0], Mapping):
            batch = self.tokenizer.pad(list(examples), pad_to_multiple_of=self.pad_to_multiple_of, return_tensors="np")
        else:
            batch = BatchEncoding({"input_ids": self._padded_ids(examples)})
        special = batch.pop("special_tokens_mask", None)
        ids = np.array(batch["input_ids"], dtype=np.int64)
        # as transformers: ids and labels int64, except padded examples' for causal LM (the framework's own)
        causal_padded = isinstance(examples[0], Mapping) and not self.mlm
        dtypes = {} if causal_padded else dict.fromkeys(("input_ids", "labels"), "int64")
        if self.mlm:
            batch["input_ids"], batch["labels"] = self.mask_tokens(ids, special)
        else:
            labels = ids.copy()
            if self.tokenizer.pad_token_id is not None:
                labels[labels == self.tokenizer.pad_token_id] = -100
            batch["input_ids"], batch["labels"] = ids, labels
        return _converted(batch, rt, dtypes)

    def _padded_ids(self, examples: list) -> np.ndarray:
        rows = [_to_list(example) for example in examples]
        length = max(map(len, rows))
        if self.pad_to_multiple_of:
            length = -(-length // self.pad_to_multiple_of) * self.pad_to_multiple_of
        if any(len(row) != length for row in rows) and self.tokenizer.pad_token_id is None:
            raise ValueError(f"The examples have different lengths and {type(self.tokenizer).__name__} has no "
                             "padding token to pad them with; set tokenizer.pad_token.")  # fmt: skip
        return np.array(_padded_labels(rows, length, self.tokenizer.pad_token_id, self.tokenizer.padding_side))

    def mask_tokens(self, inputs: np.ndarray, special_tokens_mask=None) -> tuple[np.ndarray, np.ndarray]:
        """(masked inputs, labels) for masked language modeling (see the class docstring)."""
        inputs, labels = inputs.copy(), inputs.copy()
        if special_tokens_mask is None:
            special_tokens_mask = np.isin(inputs, list(self.tokenizer.all_special_ids))
        chosen = (self._rng.random(inputs.shape) < self.mlm_probability) & ~np.asarray(special_tokens_mask, bool)
        labels[~chosen] = -100
        masked = (self._rng.random(inputs.shape) < self.mask_replace_prob) & chosen
        inputs[masked] = self.tokenizer.mask_token_id
        if self.mask_replace_prob < 1 and self.random_replace_prob > 0:
            scaled = self.random_replace_prob / (1 - self.mask_replace_prob)
            randomised = (self._rng.random(inputs.shape) < scaled) & chosen & ~masked
            inputs[randomised] = self._rng.integers(0, len(self.tokenizer), inputs.shape)[randomised]
        return inputs, labels
