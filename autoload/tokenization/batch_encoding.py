"""BatchEncoding: what a tokenizer call returns — a dict of model inputs with attribute access, the
per-sequence alignment helpers of the `tokenizers` encodings, and conversion to framework tensors.

A framework is imported only when its tensor type is asked for.
"""

from __future__ import annotations

from typing import Any

TENSOR_TYPES = ("np", "pt", "tf", "jax")


class BatchEncoding(dict):
    """Model inputs (input_ids, attention_mask …) as a dict, readable as attributes too (`enc.input_ids`)."""

    def __init__(
        self, data: dict | None = None, encoding=None, tensor_type=None, prepend_batch_axis=False, n_sequences=None
    ):
        super().__init__(data or {})
        if encoding is not None and not isinstance(encoding, (list, tuple)):
            encoding = [encoding]
        self._encodings = list(encoding) if encoding is not None else None
        if n_sequences is None and self._encodings:
            n_sequences = self._encodings[0].n_sequences
        self._n_sequences = n_sequences
        self.convert_to_tensors(tensor_type, prepend_batch_axis=prepend_batch_axis)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}; it has {sorted(self)}") from None

    def __getitem__(self, item):
        if isinstance(item, str):
            return super().__getitem__(item)
        if isinstance(item, int) and self._encodings is not None:
            return self._encodings[item]
        raise KeyError(f"use a field name (one of {sorted(self)}) or an int batch index with a fast encoding")

    def __getstate__(self):
        return {"data": dict(self), "encodings": self._encodings, "n_sequences": self._n_sequences}

    def __setstate__(self, state):
        self.update(state["data"])
        self._encodings = state["encodings"]
        self._n_sequences = state["n_sequences"]

    @property
    def data(self) -> dict:
        return self

    @property
    def encodings(self):
        """The `tokenizers.Encoding` of each sequence in the batch (None when built from plain data)."""
        return self._encodings

    @property
    def is_fast(self) -> bool:
        return self._encodings is not None

    @property
    def n_sequences(self) -> int | None:
        return self._n_sequences

    # --- alignment helpers ---------------------------------------------------------------------------

    def _encoding(self, batch_index: int):
        if self._encodings is None:
            raise ValueError("This BatchEncoding carries no tokenizer encodings (it was built from plain data).")
        return self._encodings[batch_index]

    def tokens(self, batch_index: int = 0) -> list[str]:
        return self._encoding(batch_index).tokens

    def word_ids(self, batch_index: int = 0) -> list[int | None]:
        """For each token, the index of the word it comes from (None for special and padding tokens)."""
        return self._encoding(batch_index).word_ids

    def words(self, batch_index: int = 0) -> list[int | None]:
        return self.word_ids(batch_index)

    def sequence_ids(self, batch_index: int = 0) -> list[int | None]:
        """For each token, 0 (first text), 1 (text pair) or None (special and padding tokens)."""
        return self._encoding(batch_index).sequence_ids

    def _split(self, batch_or_index: int, index: int | None) -> tuple[int, int]:
        return (0, batch_or_index) if index is None else (batch_or_index, index)

    def token_to_sequence(self, batch_or_token_index: int, token_index: int | None = None) -> int | None:
        batch, token = self._split(batch_or_token_index, token_index)
        return self._encoding(batch).token_to_sequence(token)

    def token_to_word(self, batch_or_token_index: int, token_index: int | None = None) -> int | None:
        batch, token = self._split(batch_or_token_index, token_index)
        return self._encoding(batch).token_to_word(token)

    def token_to_chars(self, batch_or_token_index: int, token_index: int | None = None):
        batch, token = self._split(batch_or_token_index, token_index)
        return self._encoding(batch).token_to_chars(token)

    def word_to_tokens(self, batch_or_word_index: int, word_index: int | None = None, sequence_index: int = 0):
        batch, word = self._split(batch_or_word_index, word_index)
        return self._encoding(batch).word_to_tokens(word, sequence_index)

    def word_to_chars(self, batch_or_word_index: int, word_index: int | None = None, sequence_index: int = 0):
        batch, word = self._split(batch_or_word_index, word_index)
        return self._encoding(batch).word_to_chars(word, sequence_index)

    def char_to_token(self, batch_or_char_index: int, char_index: int | None = None, sequence_index: int = 0):
        batch, char = self._split(batch_or_char_index, char_index)
        return self._encoding(batch).char_to_token(char, sequence_index)

    def char_to_word(self, batch_or_char_index: int, char_index: int | None = None, sequence_index: int = 0):
        batch, char = self._split(batch_or_char_index, char_index)
        return self._encoding(batch).char_to_word(char, sequence_index)

    # --- tensors -------------------------------------------------------------------------------------

    def convert_to_tensors(self, tensor_type=None, prepend_batch_axis: bool = False) -> BatchEncoding:
        """Turn every field into a tensor of `tensor_type` ("np", "pt", "tf" or "jax") in place."""
        if tensor_type is None:
            return self
        kind = getattr(tensor_type, "value", tensor_type)
        if kind not in TENSOR_TYPES:
            raise ValueError(f"return_tensors={tensor_type!r} is not supported; use one of {TENSOR_TYPES}.")
        convert = _converter(kind)
        for key, value in self.items():
            if prepend_batch_axis:
                value = [value]
            try:
                self[key] = convert(value)
            except (ValueError, TypeError) as exc:
                raise ValueError(
                    f"Unable to create a {kind} tensor from the field {key!r}: its sequences have different "
                    "lengths. Pass padding=True (and truncation=True) to get batched tensors of one length."
                ) from exc
        return self

    def to(self, device) -> BatchEncoding:
        """Move PyTorch tensors to `device` (other values are left as they are)."""
        for key, value in self.items():
            if hasattr(value, "to") and callable(value.to):
                self[key] = value.to(device)
        return self


def _converter(kind: str):
    if kind == "np":
        return _to_numpy
    if kind == "pt":
        import torch

        def to_torch(value):
            if isinstance(value, torch.Tensor):
                return value
            _require_rectangular(value)
            return torch.tensor(value)

        return to_torch
    if kind == "tf":
        import tensorflow as tf

        def to_tf(value):
            if tf.is_tensor(value):
                return value
            _require_rectangular(value)
            return tf.constant(value)

        return to_tf
    import jax.numpy as jnp

    def to_jax(value):
        _require_rectangular(value)
        return jnp.array(value)

    return to_jax


def _to_numpy(value):
    import numpy as np

    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], (list, tuple)):
        if len({len(row) for row in value}) > 1:
            # Ragged rows: an object array of 1-D arrays, as numpy users of tokenizers expect.
            ragged = np.empty(len(value), dtype=object)
            ragged[:] = [np.asarray(row) for row in value]
            return ragged
    return np.asarray(value)


def _require_rectangular(value) -> None:
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], (list, tuple)):
        if len({len(row) for row in value}) > 1:
            raise ValueError("ragged rows")
