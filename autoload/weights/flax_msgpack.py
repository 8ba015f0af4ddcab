"""flax_model.msgpack (flax.serialization's format) with msgpack alone.

The file is one msgpack map (the nested parameter dict). Leaves are msgpack extension types: 1 an ndarray,
packed as [shape, dtype name, C-order bytes]; 2 a Python complex, [real, imag]; 3 a numpy scalar,
packed like a 0-d ndarray. An array over 2**30 bytes is stored as a map {"__msgpack_chunked_array__": True,
"shape": {"0": d0, ...}, "chunks": {"0": flat chunk, ...}}, keeping each msgpack object under
its 2**31 - 1 byte limit.
"""

from __future__ import annotations

import functools
import math
import mmap
import os
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import CheckpointFormatError
from ._messages import damaged
from .arrays import aligned_empty
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


# -- lazy reading: the file's structure is parsed from a memory map, each array read when asked for ---------
@dataclass(frozen=True)
class _Stored:
    """An array's place in the file: its bytes at `offset` (in `chunks` for flax's chunked arrays)."""

    shape: tuple[int, ...]
    dtype: str  # numpy name; "bfloat16" is stored as uint16 bits
    chunks: tuple[tuple[int, int], ...]  # (offset, nbytes) per chunk, in order


class FlaxMsgpackReader(Mapping):
    """"/"-joined parameter path -> numpy array over one flax_model.msgpack, like read_flax_msgpack but lazy:
    opening parses only the msgpack structure (through a memory map, so the arrays' bytes are not read), and
    each array is read with readinto straight into its own aligned array when asked for. Scalar leaves come
    as 0-d arrays. `shape(name)` / `dtype(name)` come from the structure; bfloat16 as in SafetensorsReader."""

    def __init__(self, path, keep_bf16: bool = False):
        self.path = os.fspath(path)
        self._keep_bf16 = keep_bf16
        with open(self.path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size == 0:
                raise CheckpointFormatError(_not_a_state_dict(self.path, "the file is empty"))
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                try:
                    tree, end = _Parser(mapped, self.path).value(0, 1)
                    if end != size:
                        raise ValueError(f"{size - end} bytes follow the state dict")
                except CheckpointFormatError:
                    raise
                except _UnsupportedDtype as exc:
                    raise CheckpointFormatError(
                        f"{self.path} holds an array of dtype {exc}, which numpy cannot represent; convert the "
                        "checkpoint to float32, float16 or bfloat16."
                    ) from exc
                except (IndexError, KeyError, ValueError, TypeError, UnicodeDecodeError) as exc:
                    raise CheckpointFormatError(damaged(
                        self.path, f"it is not a Flax state dict, msgpack could not decode it: {exc}"
                    )) from exc  # fmt: skip
        if not isinstance(tree, dict) or not tree:
            raise CheckpointFormatError(_not_a_state_dict(self.path, f"it holds a {type(tree).__name__}, not a map"))
        self._leaves = {}
        for name, leaf in flatten_tree(tree).items():
            if isinstance(leaf, (int, float, complex)):  # numbers in the tree (bools too), as read_flax_msgpack
                leaf = np.asarray(leaf)
            elif not isinstance(leaf, (_Stored, np.ndarray)):  # arrays: decoded complex numbers
                raise CheckpointFormatError(_not_a_state_dict(
                    self.path, f"the entry {name!r} is a {type(leaf).__name__}, not a numeric array"
                ))  # fmt: skip
            self._leaves[name] = leaf
        if not any(isinstance(leaf, _Stored) for leaf in self._leaves.values()):
            raise CheckpointFormatError(_not_a_state_dict(self.path, "it holds no arrays"))

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(self._leaves[name].shape)

    def dtype(self, name: str) -> str:
        leaf = self._leaves[name]
        return leaf.dtype if isinstance(leaf, _Stored) else leaf.dtype.name

    def __getitem__(self, name: str) -> np.ndarray:
        leaf = self._leaves[name]
        if not isinstance(leaf, _Stored):
            return leaf.copy()
        is_bf16 = leaf.dtype == "bfloat16"
        array = aligned_empty(leaf.shape, "<u2" if is_bf16 else leaf.dtype)
        flat = array.reshape(-1).view(np.uint8)
        with open(self.path, "rb") as f:
            position = 0
            for offset, nbytes in leaf.chunks:
                f.seek(offset)
                if f.readinto(flat[position : position + nbytes].data) != nbytes:
                    raise CheckpointFormatError(damaged(self.path, f"it ended while reading {name!r}"))
                position += nbytes
        if is_bf16 and not self._keep_bf16:
            return bf16_bits_to_float32(array)
        return array

    def __contains__(self, name) -> bool:
        return name in self._leaves

    def __iter__(self) -> Iterator[str]:
        return iter(self._leaves)

    def __len__(self) -> int:
        return len(self._leaves)


class _Parser:
    """Just enough msgpack for a Flax state dict: maps with string or integer keys, and the extension types
    flax writes for leaves. Arrays' bytes are located, not read; everything else is small and decoded."""

    def __init__(self, buffer, path: str):
        self._buffer, self._path = buffer, path

    def _check(self, position: int, count: int) -> None:
        if count < 0 or position + count > len(self._buffer):
            raise IndexError(f"an item at byte {position} runs past the end of the file")

    def _take(self, position: int, count: int) -> tuple[bytes, int]:
        self._check(position, count)
        return self._buffer[position : position + count], position + count

    def _unsigned(self, position: int, count: int) -> tuple[int, int]:
        raw, position = self._take(position, count)
        return int.from_bytes(raw, "big"), position

    def value(self, position: int, depth: int):
        """(decoded value, position after it); maps become dicts, array leaves _Stored."""
        if depth > MAX_DEPTH:
            raise CheckpointFormatError(_not_a_state_dict(self._path, f"its maps nest more than {MAX_DEPTH} levels deep"))
        code, position = self._unsigned(position, 1)
        if code <= 0x7F or code >= 0xE0:  # fixints
            return (code if code <= 0x7F else code - 0x100), position
        if 0x80 <= code <= 0x8F or code in (0xDE, 0xDF):
            count, position = (code & 0x0F, position) if code <= 0x8F else self._unsigned(position, 2 if code == 0xDE else 4)
            return self._map(position, count, depth)
        if 0x90 <= code <= 0x9F or code in (0xDC, 0xDD):
            count, position = (code & 0x0F, position) if code <= 0x9F else self._unsigned(position, 2 if code == 0xDC else 4)
            items = []
            for _ in range(count):
                item, position = self.value(position, depth + 1)
                items.append(item)
            return items, position
        if 0xA0 <= code <= 0xBF or code in (0xD9, 0xDA, 0xDB):
            length, position = (code & 0x1F, position) if code <= 0xBF else self._unsigned(position, 1 << (code - 0xD9))
            raw, position = self._take(position, length)
            return bytes(raw).decode("utf-8"), position
        if code in (0xC0, 0xC2, 0xC3):
            return {0xC0: None, 0xC2: False, 0xC3: True}[code], position
        if code in (0xC4, 0xC5, 0xC6):
            length, position = self._unsigned(position, 1 << (code - 0xC4))
            raw, position = self._take(position, length)
            return bytes(raw), position
        if code in (0xCA, 0xCB):
            raw, position = self._take(position, 4 if code == 0xCA else 8)
            return struct.unpack(">f" if code == 0xCA else ">d", raw)[0], position
        if 0xCC <= code <= 0xD3:
            width = 1 << ((code - 0xCC) % 4)
            raw, position = self._take(position, width)
            return int.from_bytes(raw, "big", signed=code >= 0xD0), position
        if 0xD4 <= code <= 0xD8 or code in (0xC7, 0xC8, 0xC9):
            if code >= 0xD4:
                length = 1 << (code - 0xD4)
            else:
                length, position = self._unsigned(position, 1 << (code - 0xC7))
            kind, position = self._unsigned(position, 1)
            return self._extension(kind, position, length), position + length
        raise ValueError(f"byte {code:#x} at {position - 1} starts no msgpack item")

    def _map(self, position: int, count: int, depth: int):
        node = {}
        for _ in range(count):
            key, position = self.value(position, depth + 1)
            item, position = self.value(position, depth + 1)
            node[str(key)] = item
        if _CHUNKED in node:
            return self._chunked(node), position
        return node, position

    def _chunked(self, node: dict) -> _Stored:
        shape = tuple(_in_order(node["shape"]))
        chunks = _in_order(node["chunks"])
        if not chunks or not all(isinstance(c, _Stored) and c.dtype == chunks[0].dtype for c in chunks):
            raise ValueError("a chunked array's chunks are not arrays of one dtype")
        expected = math.prod(shape) * (2 if chunks[0].dtype == "bfloat16" else np.dtype(chunks[0].dtype).itemsize)
        if sum(n for c in chunks for _, n in c.chunks) != expected:
            raise ValueError(f"a chunked array of shape {shape} has chunks of another size")
        return _Stored(shape, chunks[0].dtype, tuple(part for c in chunks for part in c.chunks))

    def _extension(self, kind: int, position: int, length: int):
        end = position + length
        self._check(position, length)  # the whole payload lies in the file
        if kind == _COMPLEX:
            real, imag = msgpack_unpack(bytes(self._buffer[position:end]))
            return np.asarray(complex(real, imag))
        if kind not in (_NDARRAY, _SCALAR):
            raise ValueError(f"unknown msgpack extension type {kind}")
        header, position = self._unsigned(position, 1)
        if header != 0x93:
            raise ValueError("an array extension is not [shape, dtype, bytes]")
        shape, position = self.value(position, 1)
        dtype_name, position = self.value(position, 1)
        code, position = self._unsigned(position, 1)
        if not (isinstance(shape, list) and all(isinstance(n, int) and n >= 0 for n in shape)
                and isinstance(dtype_name, (str, bytes)) and code in (0xC4, 0xC5, 0xC6)):  # fmt: skip
            raise ValueError("an array extension is not [shape, dtype, bytes]")
        nbytes, position = self._unsigned(position, 1 << (code - 0xC4))
        if position + nbytes != end:
            raise ValueError("an array's bytes do not fill its extension")
        dtype_name = dtype_name.decode() if isinstance(dtype_name, bytes) else dtype_name
        itemsize = 2 if dtype_name == "bfloat16" else _numeric_dtype(dtype_name).itemsize
        if math.prod(shape) * itemsize != nbytes:
            raise ValueError(f"an array of shape {shape} and dtype {dtype_name} has {nbytes} bytes")
        if kind == _SCALAR and shape:
            raise ValueError("a scalar extension holds an array")
        return _Stored(tuple(shape), "bfloat16" if dtype_name == "bfloat16" else _numeric_dtype(dtype_name).name,
                       ((position, nbytes),))  # fmt: skip


def _numeric_dtype(name: str) -> np.dtype:
    try:
        dtype = np.dtype(name)
    except TypeError as exc:
        raise _UnsupportedDtype(name) from exc
    if dtype.kind not in "biufc":
        raise _UnsupportedDtype(name)
    return dtype


def msgpack_unpack(data: bytes):
    import msgpack

    return msgpack.unpackb(data)


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
