"""model.safetensors: a lazy, memory-mapped reader that validates the header, and a writer."""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterator, Mapping

import numpy as np

from ..errors import CheckpointFormatError

_DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16", "I64": "int64",
           "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8", "BOOL": "bool"}  # fmt: skip
_ITEMSIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def read_header(path) -> tuple[dict, int]:
    """(header without __metadata__ … kept under "__metadata__", data start offset); validates bounds."""
    size = os.path.getsize(path)
    corrupt = f"{path} is truncated or corrupt (not a valid safetensors file); re-download or re-save it."
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) < 8:
            raise CheckpointFormatError(corrupt)
        (length,) = struct.unpack("<Q", raw)
        if length > size - 8 or length > 100_000_000:
            raise CheckpointFormatError(corrupt)
        try:
            header = json.loads(f.read(length))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CheckpointFormatError(corrupt) from exc
    if not isinstance(header, dict):
        raise CheckpointFormatError(corrupt)
    data_size = size - 8 - length
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            start, end = info["data_offsets"]
            count = int(np.prod(info["shape"], dtype=np.int64))
            expected = count * _ITEMSIZE[info["dtype"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointFormatError(f"{path}: the entry for {name!r} is malformed. {corrupt}") from exc
        if not 0 <= start <= end <= data_size or end - start != expected:
            raise CheckpointFormatError(f"{path}: tensor {name!r} lies outside the file's data. {corrupt}")
    return header, 8 + length


class SafetensorsReader(Mapping):
    """name -> numpy array, read one tensor at a time from a memory map.

    bfloat16 tensors come back as float32 (numpy has no bfloat16) unless keep_bf16=True, which returns
    their raw uint16 bits; `dtype(name)` then still says "bfloat16".
    """

    def __init__(self, path, keep_bf16: bool = False):
        self.path = os.fspath(path)
        header, self._offset = read_header(self.path)
        self.metadata = header.pop("__metadata__", None) or {}
        self._entries = header
        self._keep_bf16 = keep_bf16
        self._map = None

    def _memory(self) -> np.memmap:
        if self._map is None:
            self._map = np.memmap(self.path, dtype=np.uint8, mode="r")
        return self._map

    def shape(self, name) -> tuple:
        return tuple(self._entries[name]["shape"])

    def dtype(self, name) -> str:
        return _DTYPES[self._entries[name]["dtype"]]

    def __getitem__(self, name) -> np.ndarray:
        info = self._entries[name]
        start, end = info["data_offsets"]
        raw = self._memory()[self._offset + start : self._offset + end]
        code = info["dtype"]
        if code == "BF16":
            bits = raw.view("<u2").reshape(info["shape"])
            if self._keep_bf16:
                return np.array(bits)
            return (bits.astype(np.uint32) << 16).view(np.float32)
        return np.array(raw.view(np.dtype(_DTYPES[code]).newbyteorder("<")).reshape(info["shape"]))

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


def write_safetensors(state: Mapping[str, np.ndarray], path, metadata: dict | None = None) -> None:
    from safetensors.numpy import save_file

    arrays = {name: np.ascontiguousarray(state[name]) for name in state}
    save_file(arrays, os.fspath(path), metadata={"format": "pt"} if metadata is None else metadata)
