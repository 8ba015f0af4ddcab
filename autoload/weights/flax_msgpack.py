"""flax_model.msgpack (flax.serialization's format) with msgpack alone.

Arrays are msgpack ext type 1 holding a packed (shape, dtype name, raw bytes); ext 2 a complex number;
ext 3 a numpy scalar. Arrays above flax's chunk limit are stored as a dict marked
`__msgpack_chunked_array__` with a list of flat chunks.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import CheckpointFormatError

_NDARRAY, _COMPLEX, _SCALAR = 1, 2, 3
_CHUNKED = "__msgpack_chunked_array__"


def _decode_ext(code: int, data: bytes):
    import msgpack

    if code == _NDARRAY:
        shape, dtype, buffer = msgpack.unpackb(data, raw=False)
        return np.frombuffer(buffer, dtype=np.dtype(dtype)).reshape(shape).copy()
    if code == _COMPLEX:
        real, imag = msgpack.unpackb(data, raw=False)
        return complex(real, imag)
    if code == _SCALAR:
        dtype, buffer = msgpack.unpackb(data, raw=False)
        return np.frombuffer(buffer, dtype=np.dtype(dtype))[0]
    return msgpack.ExtType(code, data)


def _unchunk(tree):
    if isinstance(tree, dict):
        if tree.get(_CHUNKED):
            chunks = [tree["chunks"][str(i)] if isinstance(tree["chunks"], dict) else tree["chunks"][i]
                      for i in range(len(tree["chunks"]))]  # fmt: skip
            return np.concatenate([np.ravel(c) for c in chunks]).reshape(tree["shape"])
        return {k: _unchunk(v) for k, v in tree.items()}
    return tree


def read_flax_msgpack(path) -> dict:
    import msgpack

    path = os.fspath(path)
    with open(path, "rb") as f:
        raw = f.read()
    try:
        tree = msgpack.unpackb(raw, ext_hook=_decode_ext, raw=False, strict_map_key=False)
    except Exception as exc:  # msgpack raises several unrelated types for bad input
        raise CheckpointFormatError(f"{path} is not a valid msgpack file ({exc}); it is not a Flax state dict.") from exc
    if not isinstance(tree, dict) or not _has_arrays(tree):
        raise CheckpointFormatError(
            f"{path} does not hold a Flax state dict (a nested dict of arrays); found {type(tree).__name__}."
        )
    return _unchunk(tree)


def _has_arrays(tree) -> bool:
    if isinstance(tree, np.ndarray):
        return True
    return isinstance(tree, dict) and any(_has_arrays(v) for v in tree.values())


def _encode(value):
    import msgpack

    if isinstance(value, np.ndarray):
        # tobytes() is C-ordered for any layout; ascontiguousarray would turn 0-d arrays into 1-d ones.
        return msgpack.ExtType(_NDARRAY, msgpack.packb((value.shape, value.dtype.name, value.tobytes())))
    if isinstance(value, np.generic):
        return msgpack.ExtType(_SCALAR, msgpack.packb((value.dtype.name, value.tobytes())))
    if isinstance(value, complex):
        return msgpack.ExtType(_COMPLEX, msgpack.packb((value.real, value.imag)))
    raise TypeError(f"cannot serialise {type(value).__name__} in a Flax state dict")


def write_flax_msgpack(tree: dict, path) -> None:
    import msgpack

    with open(os.fspath(path), "wb") as f:
        f.write(msgpack.packb(_as_numpy(tree), default=_encode, strict_types=True))


def _as_numpy(tree):
    if isinstance(tree, dict):
        return {str(k): _as_numpy(v) for k, v in tree.items()}
    return np.asarray(tree)


def flatten_tree(tree: dict, sep: str = "/", prefix: str = "") -> dict[str, np.ndarray]:
    flat = {}
    for key, value in tree.items():
        name = f"{prefix}{sep}{key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.update(flatten_tree(value, sep, name))
        else:
            flat[name] = value
    return flat


def unflatten_tree(flat: dict, sep: str = "/") -> dict:
    tree: dict = {}
    for name, value in flat.items():
        node = tree
        *parents, leaf = name.split(sep)
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree
