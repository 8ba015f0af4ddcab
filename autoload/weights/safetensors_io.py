"""model.safetensors: a lazy reader that validates the header on open, and a writer.

File layout: 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}, optional
"__metadata__": {str: str}}, then the raw little-endian tensor bytes (offsets relative to the data start).
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterator, Mapping

import numpy as np

from ..errors import CheckpointFormatError
from ._messages import damaged

# safetensors dtype code -> numpy dtype name ("bfloat16" has no numpy dtype; see SafetensorsReader).
DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16", "I64": "int64", "I32": "int32",
          "I16": "int16", "I8": "int8", "U64": "uint64", "U32": "uint32", "U16": "uint16", "U8": "uint8",
          "BOOL": "bool", "C64": "complex64"}  # fmt: skip
_ITEMSIZE = {code: 2 if name == "bfloat16" else np.dtype(name).itemsize for code, name in DTYPES.items()}
_MAX_HEADER = 100_000_000  # the limit the safetensors library itself enforces


def bf16_bits_to_float32(bits: np.ndarray) -> np.ndarray:
    """bfloat16 is the upper half of a float32, so widening the raw bits is exact."""
    return (bits.astype(np.uint32) << 16).view(np.float32)


def read_header(path) -> tuple[dict, dict, int]:
    """(tensor entries, metadata, offset of the data section); raises CheckpointFormatError when the header is
    unreadable or any tensor's bytes lie outside the file."""
    path = os.fspath(path)
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) < 8:
            raise CheckpointFormatError(damaged(path, f"{size} bytes, shorter than a safetensors header"))
        (length,) = struct.unpack("<Q", raw)
        if length > size - 8 or length > _MAX_HEADER:
            raise CheckpointFormatError(damaged(path, f"header length {length} but the file has {size} bytes"))
        try:
            header = json.loads(f.read(length))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CheckpointFormatError(damaged(path, "the header is not valid JSON")) from exc
    if not isinstance(header, dict):
        raise CheckpointFormatError(damaged(path, "the header is not a JSON object"))
    metadata = header.pop("__metadata__", None) or {}
    data_size = size - 8 - length
    for name, entry in header.items():
        _check_entry(path, name, entry, data_size)
    return header, metadata, 8 + length


def _check_entry(path: str, name: str, entry, data_size: int) -> None:
    try:
        code, shape, (start, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
        valid = (all(isinstance(n, int) and n >= 0 for n in (*shape, start, end)) and isinstance(code, str))
    except (KeyError, TypeError, ValueError):
        valid = False
    if not valid:
        raise CheckpointFormatError(damaged(path, f"the header entry for {name!r} is malformed"))
    if code not in DTYPES:
        raise CheckpointFormatError(
            f"{path}: tensor {name!r} has dtype {code}, which autoload cannot represent in numpy "
            f"(supported: {', '.join(DTYPES)}). Convert the checkpoint to one of those dtypes."
        )
    expected = int(np.prod(shape, dtype=np.int64)) * _ITEMSIZE[code]
    if not start <= end <= data_size or end - start != expected:
        raise CheckpointFormatError(damaged(path, f"the bytes of tensor {name!r} lie outside the file's data"))


class SafetensorsReader(Mapping):
    """name -> numpy array for one .safetensors file; each tensor is read from disk only when asked for.

    `keys()`, `shape(name)`, `dtype(name)` and `metadata` come from the header alone. A tensor is read with
    readinto straight into its own array rather than through a memory map, so a load's resident memory is
    the arrays themselves (mapped pages would count a second time).

    bfloat16: numpy has no such dtype, so these tensors come back widened to float32 (exact). With
    keep_bf16=True they come back as their raw uint16 bits instead, for a backend that reinterprets them
    (torch: `torch.from_numpy(a).view(torch.bfloat16)`); `dtype(name)` says "bfloat16" either way.
    """

    def __init__(self, path, keep_bf16: bool = False):
        self.path = os.fspath(path)
        self._entries, self.metadata, self._data_start = read_header(self.path)
        self._keep_bf16 = keep_bf16

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(self._entries[name]["shape"])

    def dtype(self, name: str) -> str:
        return DTYPES[self._entries[name]["dtype"]]

    def __getitem__(self, name: str) -> np.ndarray:
        entry = self._entries[name]
        start, end = entry["data_offsets"]
        is_bf16 = entry["dtype"] == "BF16"
        stored = np.dtype("<u2") if is_bf16 else np.dtype(DTYPES[entry["dtype"]]).newbyteorder("<")
        array = np.empty(entry["shape"], dtype=stored)
        with open(self.path, "rb") as f:
            f.seek(self._data_start + start)
            if f.readinto(array.reshape(-1).view(np.uint8).data) != end - start:
                raise CheckpointFormatError(damaged(self.path, f"it ended while reading {name!r}"))
        if is_bf16 and not self._keep_bf16:
            return bf16_bits_to_float32(array)
        return array

    def __contains__(self, name) -> bool:  # Mapping's default would read the tensor
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


def write_safetensors(state: Mapping[str, np.ndarray], path, metadata: dict[str, str] | None = None) -> None:
    """Write name -> array to `path`; metadata defaults to {"format": "pt"}, which transformers expects."""
    from safetensors.numpy import save_file

    arrays = {name: np.asarray(state[name], order="C") for name in state}  # keeps 0-d arrays 0-d
    save_file(arrays, os.fspath(path), metadata={"format": "pt"} if metadata is None else metadata)
