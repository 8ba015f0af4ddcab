"""model.safetensors: a lazy reader that validates the header on open, and a writer.

File layout: 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}, optional
"__metadata__": {str: str}}, then the raw little-endian tensor bytes (offsets relative to the data start).
"""

from __future__ import annotations

import json
import math
import os
import struct
from collections.abc import Iterator, Mapping

import numpy as np

from ..errors import CheckpointFormatError
from ..json_files import parse_json
from ._messages import damaged
from .arrays import STAGE_FROM, aligned_empty, read_into, read_transposed_into, transposed

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
    """(tensor entries, metadata, offset of the data section), validated as the safetensors format specifies
    before anything is allocated: a JSON object starting with '{', unique names, known dtypes, non-negative
    integer shapes and offsets, and data offsets that lay the tensors back to back, each exactly as long as
    its shape and dtype say, covering the whole data section. CheckpointFormatError names the file and tensor."""
    path = os.fspath(path)
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) < 8:
            raise CheckpointFormatError(damaged(path, f"{size} bytes, shorter than a safetensors header"))
        (length,) = struct.unpack("<Q", raw)
        if length > size - 8 or length > _MAX_HEADER:
            raise CheckpointFormatError(damaged(path, f"header length {length} but the file has {size} bytes"))
        text = f.read(length)
    if not text.startswith(b"{"):
        raise CheckpointFormatError(damaged(path, "the header does not start with '{'"))
    header = parse_json(text, path, unique_keys=True, message=lambda problem: damaged(path, f"its header {problem}"))
    metadata = header.pop("__metadata__", None)
    if metadata is None:
        metadata = {}
    elif not (isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())):
        raise CheckpointFormatError(_invalid(path, "its __metadata__ must map strings to strings"))
    data_size = size - 8 - length
    for name, entry in header.items():
        _check_entry(path, name, entry)
    _check_layout(path, header, data_size)
    return header, metadata, 8 + length


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_entry(path: str, name: str, entry) -> None:
    try:
        code, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        valid = (isinstance(code, str) and isinstance(shape, list) and isinstance(offsets, list)
                 and len(offsets) == 2 and all(map(_is_count, shape + offsets)))  # fmt: skip
    except (KeyError, TypeError):
        valid = False
    if not valid:
        raise CheckpointFormatError(_invalid(
            path, f"the header entry for tensor {name!r} is not {{dtype: str, shape: [ints >= 0], data_offsets: "
            "[begin, end]}"
        ))  # fmt: skip
    if code not in DTYPES:
        raise CheckpointFormatError(
            f"{path}: tensor {name!r} has dtype {code!r}, which autoload cannot represent in numpy "
            f"(supported: {', '.join(DTYPES)}). Convert the checkpoint to one of those dtypes."
        )
    start, end = offsets
    nbytes = math.prod(shape) * _ITEMSIZE[code]  # Python integers: no overflow
    if end - start != nbytes:
        raise CheckpointFormatError(_invalid(
            path, f"tensor {name!r} of shape {shape} and dtype {code} needs {nbytes} bytes, but its data_offsets "
            f"[{start}, {end}] span {end - start}"
        ))  # fmt: skip


def _check_layout(path: str, header: dict, data_size: int) -> None:
    """The tensors' bytes must follow each other without gaps or overlaps and fill the data section exactly."""
    position, previous = 0, None
    for name, entry in sorted(header.items(), key=lambda item: tuple(item[1]["data_offsets"])):
        start, end = entry["data_offsets"]
        if start != position:
            problem = "overlaps" if start < position else "leaves a gap after"
            after = f"tensor {previous!r}, which ends at byte {position}" if previous else "the start of the data"
            raise CheckpointFormatError(_invalid(
                path, f"tensor {name!r} starts at data byte {start}, which {problem} {after}; tensors must lie back "
                "to back"
            ))  # fmt: skip
        position, previous = end, name
    if position > data_size:
        raise CheckpointFormatError(damaged(
            path, f"tensor {previous!r} ends at data byte {position} but the data section has {data_size} bytes"
        ))  # fmt: skip
    if position != data_size:
        raise CheckpointFormatError(_invalid(
            path, f"the tensors cover {position} bytes of its {data_size}-byte data section; the rest belongs to no "
            "tensor"
        ))  # fmt: skip


def _invalid(path: str, problem: str) -> str:
    return damaged(path, problem, fix="re-download it, or re-save the weights")


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
        array = aligned_empty(entry["shape"], stored)
        if array.nbytes != end - start or not read_into(self.path, self._data_start + start, array):
            raise CheckpointFormatError(damaged(self.path, f"it ended while reading {name!r}"))
        if is_bf16 and not self._keep_bf16:
            return bf16_bits_to_float32(array)
        return array

    def read_transposed(self, name: str, axes: tuple) -> np.ndarray:
        """self[name].transpose(axes) as a C-contiguous aligned array, copied once from the file straight into
        the new layout (arrays.read_transposed_into) where the axes are a kernel's; read first, then transposed,
        for other axes and small tensors."""
        entry = self._entries[name]
        shape = tuple(entry["shape"])
        start, end = entry["data_offsets"]
        is_bf16 = entry["dtype"] == "BF16"
        stored = np.dtype("<u2") if is_bf16 else np.dtype(DTYPES[entry["dtype"]]).newbyteorder("<")
        if end - start < STAGE_FROM or not axes or tuple(axes)[-1] != 0:
            return transposed(self[name], axes)
        out = aligned_empty([shape[a] for a in axes], stored)
        if not read_transposed_into(out, self.path, self._data_start + start, shape, axes):
            raise CheckpointFormatError(damaged(self.path, f"it ended while reading {name!r}"))
        return bf16_bits_to_float32(out) if is_bf16 and not self._keep_bf16 else out

    def read_slice(self, name: str, index: tuple) -> np.ndarray:
        """Only the part `index` (a tuple of step-1 slices, one per leading axis) of a tensor: each contiguous run
        of it is read from disk straight into the result, so a sharded load holds its slice and nothing more.
        (A memory map, as safetensors' get_slice uses, would make a column slice resident in every page of the
        whole tensor: three times the slice for half the columns.) bfloat16 comes as __getitem__ gives it."""
        entry = self._entries[name]
        shape = tuple(entry["shape"])
        index = tuple(index) + (slice(None),) * (len(shape) - len(index))
        if len(index) != len(shape) or not all(isinstance(s, slice) and s.step in (None, 1) for s in index):
            return self[name][index]
        bounds = [s.indices(n)[:2] for s, n in zip(index, shape)]
        partial = [axis for axis, (a, b) in enumerate(bounds) if (a, b) != (0, shape[axis])]
        if not partial:
            return self[name]
        is_bf16 = entry["dtype"] == "BF16"
        stored = np.dtype("<u2") if is_bf16 else np.dtype(DTYPES[entry["dtype"]]).newbyteorder("<")
        part = aligned_empty([max(0, b - a) for a, b in bounds], stored)
        if part.size:
            last = partial[-1]  # axes after it are whole: each run is contiguous in the file
            strides = [math.prod(shape[axis + 1 :]) for axis in range(len(shape))]
            run = (bounds[last][1] - bounds[last][0]) * strides[last] * stored.itemsize
            out = part.reshape(-1).view(np.uint8).data
            base = self._data_start + entry["data_offsets"][0]
            with open(self.path, "rb", buffering=0) as f:
                for n, lead in enumerate(np.ndindex(*part.shape[:last])):
                    first = sum((bounds[axis][0] + i) * strides[axis] for axis, i in enumerate(lead))
                    f.seek(base + (first + bounds[last][0] * strides[last]) * stored.itemsize)
                    if f.readinto(out[n * run : (n + 1) * run]) != run:
                        raise CheckpointFormatError(damaged(self.path, f"it ended while reading {name!r}"))
        return bf16_bits_to_float32(part) if is_bf16 and not self._keep_bf16 else part

    def __contains__(self, name) -> bool:  # Mapping's default would read the tensor
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


_CODES = {name: code for code, name in DTYPES.items()}


def _float32_to_bf16_bits(array: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bits, rounding to nearest even (exact for values widened from bfloat16)."""
    bits = np.ascontiguousarray(array, dtype="<f4").view(np.uint32)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype("<u2")


def write_safetensors(state: Mapping[str, np.ndarray], path, metadata: dict[str, str] | None = None) -> None:
    """Write name -> array to `path`; metadata defaults to {"format": "pt"}, which transformers expects.

    The header is planned from the mapping's shape()/dtype() where it has them, then the tensors are written
    one at a time, so a lazy mapping (a sharded model's parameters, gathered per tensor) is never all in
    memory. bfloat16 arrays (ml_dtypes) and raw bfloat16 bits a mapping calls "bfloat16" are written as BF16."""
    from ..loading import dtype_of, shape_of

    header: dict = {"__metadata__": {"format": "pt"} if metadata is None else dict(metadata)}
    offset = 0
    for name in state:
        dtype, shape = dtype_of(state, name), shape_of(state, name)
        if dtype not in _CODES:
            raise ValueError(f"{name}: safetensors cannot store dtype {dtype} (supported: {', '.join(_CODES)}).")
        nbytes = math.prod(shape) * _ITEMSIZE[_CODES[dtype]]
        header[name] = {"dtype": _CODES[dtype], "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned, as the safetensors library writes it
    with open(os.fspath(path), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for name in state:
            entry = header[name]
            array = np.asarray(state[name])
            if entry["dtype"] == "BF16" and array.dtype == np.float32:  # a reader's widened bfloat16: exact back
                array = _float32_to_bf16_bits(array)
            if tuple(array.shape) != tuple(entry["shape"]) or array.dtype.itemsize != _ITEMSIZE[entry["dtype"]]:
                raise ValueError(f"{name}: the array of shape {array.shape} and dtype {array.dtype} differs from "
                                 f"the announced {entry['shape']} {entry['dtype']}.")  # fmt: skip
            if array.dtype.byteorder == ">":
                array = array.astype(array.dtype.newbyteorder("<"))
            f.write(memoryview(np.ascontiguousarray(array).reshape(-1).view(np.uint8)))
