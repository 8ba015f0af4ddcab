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
    """name -> numpy array, each tensor read straight from the file into its own array when asked for.

    Reading with readinto (no memory map) keeps the resident memory of a load to the arrays themselves:
    a mapped file's pages would count a second time. bfloat16 tensors come back as float32 (numpy has no
    bfloat16) unless keep_bf16=True, which returns their raw uint16 bits; `dtype(name)` says "bfloat16".
    """

    def __init__(self, path, keep_bf16: bool = False):
        self.path = os.fspath(path)
        header, self._offset = read_header(self.path)
        self.metadata = header.pop("__metadata__", None) or {}
        self._entries = header
        self._keep_bf16 = keep_bf16

    def shape(self, name) -> tuple:
        return tuple(self._entries[name]["shape"])

    def dtype(self, name) -> str:
        return _DTYPES[self._entries[name]["dtype"]]

    def __getitem__(self, name) -> np.ndarray:
        info = self._entries[name]
        start, end = info["data_offsets"]
        code = info["dtype"]
        stored = np.dtype("<u2") if code == "BF16" else np.dtype(_DTYPES[code]).newbyteorder("<")
        array = np.empty(info["shape"], dtype=stored)
        with open(self.path, "rb") as f:
            f.seek(self._offset + start)
            if f.readinto(memoryview(array).cast("B")) != end - start:
                raise CheckpointFormatError(f"{self.path} ended while reading {name!r}; the file is truncated.")
        if code == "BF16" and not self._keep_bf16:
            return (array.astype(np.uint32) << 16).view(np.float32)
        return array

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


def write_safetensors(state: Mapping[str, np.ndarray], path, metadata: dict | None = None) -> None:
    from safetensors.numpy import save_file

    arrays = {name: np.ascontiguousarray(state[name]) for name in state}
    save_file(arrays, os.fspath(path), metadata={"format": "pt"} if metadata is None else metadata)
