"""Resizing a model's vocabulary (`resize_token_embeddings`), on canonical tensors, for every backend.

The tensors sized by the vocabulary are found by name and shape in canonical layout: token tables and output
projections are [vocab, width] (`….weight`), vocabulary biases [vocab] or [1, vocab] (`….bias`,
`final_logits_bias`). Rows kept keep their values; rows added get the mean of the old rows (transformers draws
them from a normal around that mean with 1e-9 times the rows' covariance: the same within ~1e-5 of a row's
spread; the mean itself is deterministic and equal in every framework), or with mean_resizing=False a normal of
std `initializer_range`; `final_logits_bias` grows with zeros.
"""

from __future__ import annotations

import numpy as np

from .configuration import PretrainedConfig


def text_config(config: PretrainedConfig) -> PretrainedConfig | None:
    """The config that holds the vocabulary size: a nested text / decoder config, or the config itself."""
    for attribute in ("text_config", "decoder"):
        nested = getattr(config, attribute, None)
        if isinstance(nested, PretrainedConfig) and isinstance(getattr(nested, "vocab_size", None), int):
            return nested
    return config if isinstance(getattr(config, "vocab_size", None), int) else None


def new_vocab_size(model_name: str, config: PretrainedConfig, new_num_tokens, pad_to_multiple_of) -> int:
    """The size asked for (`new_num_tokens`, by default the current one), rounded up to `pad_to_multiple_of`."""
    holder = text_config(config)
    if holder is None:
        raise ValueError(f"{model_name} has no token vocabulary (no vocab_size in its config) to resize.")
    size = holder.vocab_size if new_num_tokens is None else new_num_tokens
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size <= 0:
        raise ValueError(f"new_num_tokens must be a positive int, got {new_num_tokens!r}.")
    if pad_to_multiple_of is not None:
        if not isinstance(pad_to_multiple_of, (int, np.integer)) or pad_to_multiple_of <= 0:
            raise ValueError(f"pad_to_multiple_of must be a positive int, got {pad_to_multiple_of!r}.")
        size = -(-size // pad_to_multiple_of) * pad_to_multiple_of
    return int(size)


def vocab_axis(name: str, shape: tuple, vocab: int) -> int | None:
    """The axis of a canonical tensor that the vocabulary sizes, or None for a tensor it does not size."""
    leaf = name.rsplit(".", 1)[-1]
    if leaf == "weight" and len(shape) == 2 and shape[0] == vocab:
        return 0
    if leaf.endswith("bias") and 1 <= len(shape) <= 2 and shape[-1] == vocab and int(np.prod(shape)) == vocab:
        return len(shape) - 1
    return None


def resized(name: str, array: np.ndarray, axis: int, size: int, mean_resizing: bool, initializer_range: float,
            rng: np.random.Generator) -> np.ndarray:  # fmt: skip
    """`array` with its vocabulary axis cut or grown to `size` (see the module docstring for new entries)."""
    old = array.shape[axis]
    if size <= old:
        return np.take(array, np.arange(size), axis=axis)
    rows = np.moveaxis(array, axis, 0)
    added = size - old
    if name.rsplit(".", 1)[-1] == "final_logits_bias":
        new = np.zeros((added, *rows.shape[1:]), dtype=np.float64)
    elif mean_resizing:
        new = np.repeat(rows.astype(np.float64).mean(axis=0, keepdims=True), added, axis=0)
    elif rows.ndim == 1:
        new = np.zeros((added,), dtype=np.float64)
    else:
        new = rng.normal(0.0, initializer_range, (added, *rows.shape[1:]))
    grown = np.concatenate([rows, new.astype(array.dtype)], axis=0)
    return np.ascontiguousarray(np.moveaxis(grown, 0, axis))


def plan(model_name: str, config: PretrainedConfig, shapes: dict[str, tuple], tables: set[str], new_num_tokens,
         pad_to_multiple_of):  # fmt: skip
    """(new size, {canonical name: vocabulary axis}) for a model whose canonical tensors have `shapes`, `tables`
    naming its embedding tables (not projections): a model with no token table sized by the vocabulary (a CTC
    head's vocabulary of characters, an image model's codebook size) is refused, as in transformers."""
    size = new_vocab_size(model_name, config, new_num_tokens, pad_to_multiple_of)
    vocab = text_config(config).vocab_size
    axes = {name: axis for name, shape in shapes.items() if (axis := vocab_axis(name, tuple(shape), vocab)) is not None}
    if not tables & axes.keys():
        raise ValueError(f"{model_name} has no token embeddings sized by its vocabulary ({vocab}) to resize.")
    return size, axes


def set_vocab_size(config: PretrainedConfig, size: int) -> None:
    """The new size in the config (and in a decoder_vocab_size or outer vocab_size that named the old one)."""
    holder = text_config(config)
    old, holder.vocab_size = holder.vocab_size, size
    for owner, field in ((holder, "decoder_vocab_size"), (config, "vocab_size")):
        if owner is not holder or field != "vocab_size":
            if getattr(owner, field, None) == old:
                setattr(owner, field, size)
