"""flax_model.msgpack (flax.serialization's format) with msgpack alone.

The file is one msgpack map (the nested parameter dict). Leaves are msgpack extension types: 1 an ndarray,
packed as [shape, dtype name, C-order bytes]; 2 a Python complex, [real, imag]; 3 a numpy scalar,
packed like a 0-d ndarray. An array over 2**30 bytes is stored as a map {"__msgpack_chunked_array__": True,
"shape": {"0": d0, ...}, "chunks": {"0": flat chunk, ...}}, keeping each msgpack object under
its 2**31 - 1 byte limit.
"""

from __future__ import annotations

import functools
import os

import numpy as np

from ..errors import CheckpointFormatError
from ._messages import damaged
from .safetensors_io import bf16_bits_to_float32

_NDARRAY, _COMPLEX, _SCALAR = 1, 2, 3
_CHUNKED = "__msgpack_chunked_array__"
MAX_CHUNK_BYTES = 2**30  # flax's chunk size; the reader accepts any
MAX_DEPTH = 64  # a Flax parameter tree nests about 10 levels


class _UnsupportedDtype(ValueError):
    pass


def _numpy_array(shape, dtype_name: str, buffer: bytes, keep_bf16: bool) -> np.ndarray:
    if dtype_name == "bfloat16":
        bits = np.frombuffer(buffer, dtype="<u2").reshape(shape).copy()
        return bits if keep_bf16 else bf16_bits_to_float32(bits)
    try:
        dtype = np.dtype(dtype_name)
    except TypeError as exc:
        raise _UnsupportedDtype(dtype_name) from exc
    return np.frombuffer(buffer, dtype=dtype).reshape(shape).copy()


def _decode_ext(code: int, data: bytes, keep_bf16: bool = False):
    import msgpack

    if code in (_NDARRAY, _SCALAR):
        shape, dtype_name, buffer = msgpack.unpackb(data, raw=True)
        array = _numpy_array(tuple(shape), dtype_name.decode(), buffer, keep_bf16)
        return array if code == _NDARRAY else array[()]
    if code == _COMPLEX:
        real, imag = msgpack.unpackb(data)
        return complex(real, imag)
    raise ValueError(f"unknown msgpack extension type {code}")


def _in_order(numbered: dict) -> list:
    """flax stores tuples (shapes, chunk lists) as {"0": ..., "1": ...}."""
    return [numbered[str(i)] for i in range(len(numbered))]


def _join_chunks(tree):
    if isinstance(tree, dict):
        if _CHUNKED in tree:
            flat = np.concatenate([np.ravel(chunk) for chunk in _in_order(tree["chunks"])])
            return flat.reshape(_in_order(tree["shape"]))
        return {key: _join_chunks(value) for key, value in tree.items()}
    return tree


def read_flax_msgpack(path, keep_bf16: bool = False) -> dict:
    """The nested parameter dict of a flax msgpack file, leaves as numpy arrays.

    bfloat16 arrays come back as float32, or as their raw uint16 bits with keep_bf16=True."""
    import msgpack

    path = os.fspath(path)
    with open(path, "rb") as f:
        raw = f.read()
    try:
        tree = msgpack.unpackb(raw, ext_hook=functools.partial(_decode_ext, keep_bf16=keep_bf16), raw=False,
                               strict_map_key=False)  # fmt: skip
        _check_tree(tree, path)  # before anything below walks it recursively
        tree = _join_chunks(tree)
    except CheckpointFormatError:
        raise
    except _UnsupportedDtype as exc:
        raise CheckpointFormatError(
            f"{path} holds an array of dtype {exc}, which numpy cannot represent; convert the checkpoint to "
            "float32, float16 or bfloat16."
        ) from exc
    except Exception as exc:  # msgpack raises many unrelated types for bad input
        raise CheckpointFormatError(
            damaged(path, f"it is not a Flax state dict, msgpack could not decode it: {exc}")
        ) from exc
    if not isinstance(tree, dict) or not _has_arrays(tree):
        raise CheckpointFormatError(
            f"{path} is valid msgpack but not a Flax state dict (a nested map of arrays); it holds "
            f"{type(tree).__name__}. Re-download it, or re-save it with flax.serialization.to_bytes."
        )
    return tree


def _check_tree(tree, path: str) -> None:
    """Nested maps at most MAX_DEPTH deep whose leaves are numbers or numeric arrays, walked without recursion."""
    stack = [(tree, (), 1)]
    while stack:
        node, where, depth = stack.pop()
        if isinstance(node, dict):
            if depth > MAX_DEPTH:
                raise CheckpointFormatError(_not_a_state_dict(path, f"its maps nest more than {MAX_DEPTH} levels deep"))
            stack.extend((value, (*where, str(key)), depth + 1) for key, value in node.items())
        elif where and not _is_leaf(node):  # the top level's type is judged by the caller
            raise CheckpointFormatError(_not_a_state_dict(
                path, f"the entry {'/'.join(where)!r} is a {type(node).__name__}, not a numeric array"
            ))  # fmt: skip


def _not_a_state_dict(path: str, problem: str) -> str:
    return (f"{path} is not a Flax state dict: {problem}. Re-download it, or re-save it with "
            "flax.serialization.to_bytes.")  # fmt: skip


def _is_leaf(value) -> bool:
    if isinstance(value, (np.ndarray, np.generic)):
        return value.dtype.kind in "biufc"
    return isinstance(value, (int, float, complex))


def _has_arrays(tree) -> bool:
    if isinstance(tree, np.ndarray):
        return True
    return isinstance(tree, dict) and any(_has_arrays(v) for v in tree.values())


def _pack_ext(value):
    import msgpack

    if isinstance(value, (np.ndarray, np.generic)):
        # tobytes() is C-ordered for any layout (ascontiguousarray would turn 0-d arrays into 1-d ones).
        packed = msgpack.packb((np.shape(value), value.dtype.name, value.tobytes()))
        return msgpack.ExtType(_NDARRAY if isinstance(value, np.ndarray) else _SCALAR, packed)
    if isinstance(value, complex):
        return msgpack.ExtType(_COMPLEX, msgpack.packb((value.real, value.imag)))
    raise TypeError(f"cannot store a {type(value).__name__} in a Flax state dict")


def _prepare(tree):
    """String keys, numpy leaves, and arrays over MAX_CHUNK_BYTES in flax's chunked form."""
    if isinstance(tree, dict):
        return {str(key): _prepare(value) for key, value in tree.items()}
    if isinstance(tree, (np.generic, complex, int, float, bool, str, bytes)) or tree is None:
        return tree
    array = np.asarray(tree)
    if array.nbytes <= MAX_CHUNK_BYTES:
        return array
    per_chunk = max(1, MAX_CHUNK_BYTES // array.itemsize)
    flat = array.reshape(-1)
    chunks = [flat[i : i + per_chunk] for i in range(0, flat.size, per_chunk)]
    return {_CHUNKED: True, "shape": {str(i): n for i, n in enumerate(array.shape)},
            "chunks": {str(i): chunk for i, chunk in enumerate(chunks)}}  # fmt: skip


def write_flax_msgpack(tree: dict, path) -> None:
    """Write a nested dict of arrays so that flax.serialization.msgpack_restore reads it back unchanged."""
    import msgpack

    with open(os.fspath(path), "wb") as f:
        f.write(msgpack.packb(_prepare(tree), default=_pack_ext, strict_types=True))


def flatten_tree(tree: dict, sep: str = "/", prefix: str = "") -> dict:
    """{"a": {"b": x}} -> {"a/b": x}; empty sub-dicts have no leaves and disappear."""
    flat = {}
    for key, value in tree.items():
        name = f"{prefix}{sep}{key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.update(flatten_tree(value, sep, name))
        else:
            flat[name] = value
    return flat


def unflatten_tree(flat: dict, sep: str = "/") -> dict:
    """{"a/b": x} -> {"a": {"b": x}}."""
    tree: dict = {}
    for name, value in flat.items():
        node = tree
        *parents, leaf = name.split(sep)
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree
