"""pytorch_model.bin without PyTorch, and without running pickled code.

torch.save writes a zip archive `<name>/data.pkl`, `<name>/byteorder`, `<name>/data/<key>`, ...: the pickle
holds the state dict, and each tensor in it is `torch._utils._rebuild_tensor_v2(storage, offset, size,
stride, ...)` where `storage` is a persistent id ("storage", torch.<Type>Storage, key, device, numel) naming
the raw bytes in `<name>/data/<key>`.

The reader unpickles with an allow-list of the globals a state dict needs, and replaces each of them with a
harmless stand-in that only records what it was given: no torch code (and nothing else) ever runs. Any
other global (os.system, builtins.eval, ...) is refused before the pickle can call it. Tensor bytes are read
from the archive only when that tensor is asked for.
"""

from __future__ import annotations

import io
import math
import os
import pickle
import struct
import zipfile
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import CheckpointFormatError, CheckpointNotFoundError, UnsafeCheckpointError
from ._messages import damaged
from .arrays import STAGE_FROM, aligned_empty, read_transposed_into, transposed
from .safetensors_io import bf16_bits_to_float32

_STORAGE_DTYPES = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16", "BFloat16Storage": "bfloat16",
    "LongStorage": "int64", "IntStorage": "int32", "ShortStorage": "int16", "CharStorage": "int8",
    "ByteStorage": "uint8", "BoolStorage": "bool", "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128", "UntypedStorage": "uint8",
}  # fmt: skip
_DEFLATE_MAX_RATIO = 1032  # the most a deflate stream can expand
# Dtype objects (torch.float32 pickles as the global "torch float32") only appear as inert arguments.
_TORCH_DTYPE_NAMES = {"float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool",
                      "float", "double", "half", "long", "int", "short", "complex64", "complex128"}  # fmt: skip


@dataclass(frozen=True)
class _StorageType:
    dtype: str


@dataclass(frozen=True)
class _StorageRef:
    key: str
    dtype: str
    numel: int


@dataclass(frozen=True)
class _TensorRef:
    storage: _StorageRef
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _is_index(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _rebuild_tensor(storage, offset, size, stride, *unused) -> _TensorRef:
    """Stand-in for torch._utils._rebuild_tensor(_v2): checks that the view stays inside its storage,
    since a crafted file could otherwise make as_strided read arbitrary memory."""
    size, stride = tuple(size), tuple(stride)
    if not (isinstance(storage, _StorageRef) and _is_index(offset) and len(size) == len(stride)
            and all(map(_is_index, size + stride))):  # fmt: skip
        raise pickle.UnpicklingError(f"a tensor has invalid storage/offset/size/stride {offset}, {size}, {stride}")
    if 0 not in size:
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= storage.numel:
            raise pickle.UnpicklingError(f"a tensor of size {size} reaches past the end of storage {storage.key}")
    return _TensorRef(storage, offset, size, stride)


def _rebuild_parameter(data, *unused):
    return data


def _encode_text(text: str, encoding: str = "latin1") -> bytes:  # how protocol-2 pickles spell bytes
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8"):
        # other codecs (punycode, idna …) are slow on crafted input and no state dict uses them
        raise pickle.UnpicklingError(f"_codecs.encode with encoding {encoding!r}, which no state dict uses")
    return text.encode(encoding)


_ALLOWED = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("_codecs", "encode"): _encode_text,
    **{("torch", name): _StorageType(dtype) for name, dtype in _STORAGE_DTYPES.items()},
    ("torch.storage", "UntypedStorage"): _StorageType("uint8"),
    **{("torch", name): name for name in _TORCH_DTYPE_NAMES},
}


def _refuse_opcode(unpickler):
    raise pickle.UnpicklingError("it uses the BYTEARRAY8 opcode, which no state dict needs")


def _build_dict_only(unpickler):
    """BUILD sets attributes: a state dict's OrderedDict gets its `_metadata` that way. On anything else it
    could rewrite a tensor reference after its bounds were checked (or a shared stand-in), so it is refused."""
    if len(unpickler.stack) < 2 or type(unpickler.stack[-2]) is not OrderedDict:
        raise pickle.UnpicklingError("it sets the state of an object that is not a state dict (BUILD)")
    pickle._Unpickler.load_build(unpickler)


# The pure-Python unpickler: the C one sizes its memo table by the largest index a PUT opcode names, so a
# few crafted bytes could make it allocate gigabytes. data.pkl is small, so the speed difference is negligible.
class _RestrictedUnpickler(pickle._Unpickler):
    dispatch = {**pickle._Unpickler.dispatch, pickle.BYTEARRAY8[0]: _refuse_opcode,  # allocates before reading
                pickle.BUILD[0]: _build_dict_only}  # fmt: skip

    def __init__(self, data: bytes, path: str, storage_sizes: dict[str, int]):
        super().__init__(io.BytesIO(data))
        self._path, self._storage_sizes = path, storage_sizes

    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        raise UnsafeCheckpointError(
            f"{self._path} tries to use the global {module}.{name} while unpickling. A weights file only needs "
            "tensors, so this file could run code on your machine; it was not loaded. Ask its publisher for a "
            "safetensors copy of the weights, or use another checkpoint."
        )

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType) and isinstance(pid[2], str) and _is_index(pid[4])):  # fmt: skip
            raise UnsafeCheckpointError(
                f"{self._path} contains a persistent reference ({_describe(pid)}) that is not a tensor storage; "
                "not loaded."
            )
        dtype, key, numel = pid[1].dtype, pid[2], pid[4]
        if key not in self._storage_sizes:
            raise CheckpointFormatError(damaged(self._path, f"storage {key} is missing from the archive"))
        if self._storage_sizes[key] < numel * _numpy_dtype(dtype, "<").itemsize:
            raise CheckpointFormatError(damaged(self._path, f"storage {key} is shorter than its {numel} elements"))
        return _StorageRef(key, dtype, numel)


def _describe(value) -> str:
    """A short, bounded description of an untrusted object (its repr could be huge or recurse without end)."""
    if isinstance(value, tuple):
        return f"a tuple of {len(value)} items"
    return f"a {type(value).__name__}"


def _numpy_dtype(dtype: str, byteorder: str) -> np.dtype:
    return np.dtype(byteorder + "u2") if dtype == "bfloat16" else np.dtype(dtype).newbyteorder(byteorder)


class TorchBinReader(Mapping):
    """name -> numpy array over one torch.save zip file. Opening reads only the (small) pickle; a tensor's
    bytes are read when it is asked for. bfloat16 tensors: float32, or raw uint16 bits with keep_bf16=True
    (as SafetensorsReader); `dtype(name)` gives the stored dtype name."""

    def __init__(self, path, keep_bf16: bool = False):
        self.path = os.fspath(path)
        self._keep_bf16 = keep_bf16
        if not os.path.isfile(self.path):
            raise CheckpointNotFoundError(f"{self.path} does not exist.")
        self._file_size = os.path.getsize(self.path)
        try:
            if not zipfile.is_zipfile(self.path):
                raise CheckpointFormatError(damaged(
                    self.path, "not a zip archive: either damaged, or written by torch < 1.6 in the legacy format, "
                    "which autoload does not read",
                    fix="re-download it, or re-save it with a current torch.save (or as safetensors)",
                ))  # fmt: skip
            with zipfile.ZipFile(self.path) as archive:
                loaded = self._unpickle(archive)
        except CheckpointFormatError:
            raise
        except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError, pickle.UnpicklingError, struct.error,
                OverflowError, TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
            # a damaged archive or pickle, or the allowed callables given arguments a state dict never has
            raise CheckpointFormatError(damaged(self.path, f"{type(exc).__name__}: {exc}")) from exc
        if not isinstance(loaded, Mapping):
            raise CheckpointFormatError(f"{self.path} holds a {type(loaded).__name__}, not a state dict of tensors.")
        self._tensors = {name: ref for name, ref in loaded.items() if isinstance(ref, _TensorRef)}
        for name, ref in self._tensors.items():
            nbytes = math.prod(ref.shape) * _numpy_dtype(ref.storage.dtype, "<").itemsize
            if nbytes > self._file_size:  # only a view that repeats its storage's elements could claim this
                raise CheckpointFormatError(damaged(
                    self.path, f"tensor {name!r} of shape {ref.shape} would take {nbytes} bytes, more than the "
                    f"whole file's {self._file_size}"
                ))  # fmt: skip
        if loaded and not self._tensors:
            raise CheckpointFormatError(
                f"{self.path} holds no tensors at its top level (keys: {', '.join(map(str, list(loaded)[:5]))}); "
                "it is probably a training checkpoint rather than a model state dict."
            )

    def _unpickle(self, archive: zipfile.ZipFile):
        pickles = [n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
        if not pickles:
            raise CheckpointFormatError(f"{self.path} is a zip file without data.pkl; it is not a PyTorch checkpoint.")
        for info in archive.infolist():
            self._check_member(info)
        prefix = pickles[0][: -len("data.pkl")]
        self._storages = {info.filename[len(prefix) + 5 :]: info for info in archive.infolist()
                          if info.filename.startswith(prefix + "data/")}  # fmt: skip
        byteorder = "little"
        if prefix + "byteorder" in archive.namelist():
            byteorder = archive.read(prefix + "byteorder").decode("ascii", "replace").strip()
        if byteorder not in ("little", "big"):
            raise CheckpointFormatError(damaged(self.path, f"unknown byteorder {byteorder!r}"))
        self._byteorder = "<" if byteorder == "little" else ">"
        sizes = {key: info.file_size for key, info in self._storages.items()}
        return _RestrictedUnpickler(archive.read(pickles[0]), self.path, sizes).load()

    def _check_member(self, info: zipfile.ZipInfo) -> None:
        """A zip member's declared sizes must fit the real file before anything is sized by them: stored members
        lie inside the file, and deflated ones expand at most as far as deflate can (1032:1)."""
        start = info.header_offset + 30 + len(info.filename.encode("utf-8"))
        if start + info.compress_size > self._file_size:
            raise CheckpointFormatError(damaged(
                self.path, f"the zip member {info.filename} claims {info.compress_size} bytes past the end of the file"
            ))  # fmt: skip
        if info.compress_type == zipfile.ZIP_STORED:
            limit = info.compress_size
        elif info.compress_type == zipfile.ZIP_DEFLATED:
            limit = info.compress_size * _DEFLATE_MAX_RATIO + 1024
        else:
            raise CheckpointFormatError(
                f"{self.path}: the zip member {info.filename} uses compression method {info.compress_type}; "
                "torch.save stores members uncompressed (deflate is read too). Re-save the checkpoint."
            )
        if info.file_size > limit:
            raise CheckpointFormatError(damaged(
                self.path, f"the zip member {info.filename} claims {info.file_size} bytes from {info.compress_size} "
                "stored ones"
            ))  # fmt: skip

    def shape(self, name: str) -> tuple[int, ...]:
        return self._tensors[name].shape

    def dtype(self, name: str) -> str:
        return self._tensors[name].storage.dtype

    def __getitem__(self, name: str) -> np.ndarray:
        ref = self._tensors[name]
        flat = self._read_storage(ref.storage, name)
        if _is_whole_storage(ref):
            array = flat.reshape(ref.shape)  # the common case
        else:
            view = np.lib.stride_tricks.as_strided(flat[ref.offset :] if flat.size else flat, shape=ref.shape,
                                                   strides=[s * flat.itemsize for s in ref.stride], writeable=False)  # fmt: skip
            array = view.copy()
        if self._byteorder == ">":
            array = array.astype(array.dtype.newbyteorder("="))
        if ref.storage.dtype == "bfloat16" and not self._keep_bf16:
            return bf16_bits_to_float32(array)
        return array

    def read_transposed(self, name: str, axes: tuple) -> np.ndarray:
        """self[name].transpose(axes) as a C-contiguous aligned array. A tensor that is the whole of an
        uncompressed storage, little-endian, with a kernel's axes, is copied once from the file straight into
        the new layout (arrays.read_transposed_into); any other is read first, then transposed."""
        ref = self._tensors[name]
        info = self._storages.get(ref.storage.key)
        stored = _numpy_dtype(ref.storage.dtype, self._byteorder)
        nbytes = ref.storage.numel * stored.itemsize
        if (info is None or info.compress_type != zipfile.ZIP_STORED or not _is_whole_storage(ref)
                or self._byteorder != "<" or nbytes < STAGE_FROM or nbytes > info.file_size
                or not axes or tuple(axes)[-1] != 0):  # fmt: skip
            return transposed(self[name], axes)
        out = aligned_empty([ref.shape[a] for a in axes], stored)
        try:
            complete = read_transposed_into(out, self.path, self._data_offset(info), ref.shape, axes)
        except (OSError, ValueError) as exc:
            raise CheckpointFormatError(damaged(self.path, f"reading {name!r} failed: {exc}")) from exc
        if not complete:
            raise CheckpointFormatError(damaged(self.path, f"reading {name!r} failed: the file ends inside it"))
        return bf16_bits_to_float32(out) if ref.storage.dtype == "bfloat16" and not self._keep_bf16 else out

    def _data_offset(self, info: zipfile.ZipInfo) -> int:
        """Where an uncompressed member's bytes start: after its local header, whose name and extra field
        lengths may differ from the central directory's."""
        with open(self.path, "rb") as f:
            f.seek(info.header_offset)
            local_header = f.read(30)
        if len(local_header) != 30 or local_header[:4] != b"PK\x03\x04":
            raise ValueError("a zip member header is damaged")
        name_length, extra_length = struct.unpack("<HH", local_header[26:30])
        return info.header_offset + 30 + name_length + extra_length

    def _read_storage(self, storage: _StorageRef, name: str) -> np.ndarray:
        """The storage's elements, read straight into a new array. torch.save stores members uncompressed,
        so their bytes are read in place, skipping zipfile's per-member overhead and CRC pass; any other
        member goes through zipfile."""
        info = self._storages[storage.key]
        flat = aligned_empty((storage.numel,), _numpy_dtype(storage.dtype, self._byteorder))
        try:
            if info.compress_type != zipfile.ZIP_STORED:
                with zipfile.ZipFile(self.path) as archive:
                    flat[:] = np.frombuffer(archive.read(info), dtype=flat.dtype, count=storage.numel)
                return flat
            with open(self.path, "rb") as f:
                f.seek(self._data_offset(info))
                if f.readinto(flat.view(np.uint8).data) != flat.nbytes:
                    raise ValueError("the file ends inside it")
        except FileNotFoundError:
            raise
        except (zipfile.BadZipFile, NotImplementedError, OSError, ValueError) as exc:
            raise CheckpointFormatError(damaged(self.path, f"reading {name!r} failed: {exc}")) from exc
        return flat

    def __contains__(self, name) -> bool:
        return name in self._tensors

    def __iter__(self) -> Iterator[str]:
        return iter(self._tensors)

    def __len__(self) -> int:
        return len(self._tensors)


def _is_whole_storage(ref: _TensorRef) -> bool:
    """Whether the tensor is its storage's elements in C order, all of them (no view into a shared storage)."""
    return ref.offset == 0 and math.prod(ref.shape) == ref.storage.numel and ref.stride == _c_strides(ref.shape)


def _c_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= n
    return tuple(reversed(strides))


def read_torch_bin(path, keep_bf16: bool = False) -> dict[str, np.ndarray]:
    """Every tensor of a torch.save zip file as name -> numpy array (bfloat16 as float32 unless keep_bf16)."""
    reader = TorchBinReader(path, keep_bf16)
    return {name: reader[name] for name in reader}


# -- writing: the pickle is assembled from opcodes, so torch's classes never need to exist here -------------
_STORAGE_FOR_DTYPE = {dtype: storage for storage, dtype in _STORAGE_DTYPES.items()
                      if dtype != "bfloat16" and storage != "UntypedStorage"}  # fmt: skip


def _global(module: str, name: str) -> bytes:
    return pickle.GLOBAL + f"{module}\n{name}\n".encode()


def _text(text: str) -> bytes:
    data = text.encode("utf-8")
    return pickle.BINUNICODE + struct.pack("<I", len(data)) + data


def _int(value: int) -> bytes:
    if -(2**31) <= value < 2**31:
        return pickle.BININT + struct.pack("<i", value)
    data = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
    return pickle.LONG1 + bytes([len(data)]) + data


def _tuple(items: list[bytes]) -> bytes:
    return pickle.MARK + b"".join(items) + pickle.TUPLE


def _tensor_pickle(key: str, array: np.ndarray, storage_type: str) -> bytes:
    storage = _tuple([_text("storage"), _global("torch", storage_type), _text(key), _text("cpu"), _int(array.size)])
    empty_hooks = _global("collections", "OrderedDict") + pickle.EMPTY_TUPLE + pickle.REDUCE
    strides = [s // array.itemsize for s in array.strides] if array.size else [1] * array.ndim
    arguments = _tuple([storage + pickle.BINPERSID, _int(0), _tuple([_int(n) for n in array.shape]),
                        _tuple([_int(s) for s in strides]), pickle.NEWFALSE, empty_hooks])  # fmt: skip
    return _global("torch._utils", "_rebuild_tensor_v2") + arguments + pickle.REDUCE


def write_torch_bin(state: Mapping[str, np.ndarray], path) -> None:
    """Write name -> array as a torch.save zip file that `torch.load(path, weights_only=True)` reads."""
    path = os.fspath(path)
    archive_name = os.path.splitext(os.path.basename(path))[0] or "archive"
    entries, storages = [], []
    for key, name in enumerate(state):
        array = np.asarray(state[name], order="C")
        if array.dtype.name not in _STORAGE_FOR_DTYPE:
            raise ValueError(f"{name}: dtype {array.dtype} cannot be written to a pytorch_model.bin.")
        array = array.astype(array.dtype.newbyteorder("<"), copy=False)
        entries.append(_text(name) + _tensor_pickle(str(key), array, _STORAGE_FOR_DTYPE[array.dtype.name]))
        storages.append(array)
    data_pkl = (pickle.PROTO + b"\x02" + _global("collections", "OrderedDict") + pickle.EMPTY_TUPLE + pickle.REDUCE
                + pickle.MARK + b"".join(entries) + pickle.SETITEMS + pickle.STOP)  # fmt: skip
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(f"{archive_name}/data.pkl", data_pkl)
        archive.writestr(f"{archive_name}/byteorder", "little")
        for key, array in enumerate(storages):
            with archive.open(f"{archive_name}/data/{key}", "w", force_zip64=array.nbytes >= 2**31) as member:
                member.write(array.reshape(-1).view(np.uint8).data)
        archive.writestr(f"{archive_name}/version", "3\n")
