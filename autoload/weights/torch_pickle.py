"""pytorch_model.bin without PyTorch, and without running pickled code.

torch.save writes a zip archive: `<name>/data.pkl` (a pickle of the state dict whose tensors point at
storages through persistent ids) and one raw file per storage under `<name>/data/`. The reader below
unpickles with an allow-list that only admits what a state dict needs and rebuilds tensors as numpy
arrays; any other global (os.system, builtins.eval, …) is refused before anything runs.
"""

from __future__ import annotations

import io
import os
import pickle
import struct
import zipfile
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np

from ..errors import CheckpointFormatError, UnsafeCheckpointError

_STORAGE_DTYPES = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16", "BFloat16Storage": "bfloat16",
    "LongStorage": "int64", "IntStorage": "int32", "ShortStorage": "int16", "CharStorage": "int8",
    "ByteStorage": "uint8", "BoolStorage": "bool",
}  # fmt: skip
_TORCH_DTYPES = {"float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool"}


class _StorageType:
    def __init__(self, dtype: str):
        self.dtype = dtype


class _Storage:
    def __init__(self, data: bytes, dtype: str):
        self.data, self.dtype = data, dtype


def _numpy_dtype(dtype: str) -> np.dtype:
    return np.dtype("<u2") if dtype == "bfloat16" else np.dtype(dtype).newbyteorder("<")


def _rebuild_tensor(storage, offset, size, stride, *unused):
    flat = np.frombuffer(storage.data, dtype=_numpy_dtype(storage.dtype))
    if not size:
        array = flat[offset : offset + 1].reshape(())
    else:
        itemsize = flat.itemsize
        array = np.lib.stride_tricks.as_strided(flat[offset:], shape=tuple(size),
                                                strides=tuple(s * itemsize for s in stride))  # fmt: skip
    return _Tensor(np.array(array), storage.dtype)


class _Tensor:
    """A rebuilt tensor and its torch dtype name (bfloat16 arrives as raw uint16 bits)."""

    def __init__(self, array: np.ndarray, dtype: str):
        self.array, self.dtype = array, dtype


def _rebuild_parameter(data, *unused):
    return data


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, archive: zipfile.ZipFile, prefix: str, path: str):
        super().__init__(file)
        self._archive, self._prefix, self._path = archive, prefix, path

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[name])
        if module == "torch" and name in _TORCH_DTYPES:
            return name
        if module == "torch.storage" and name == "UntypedStorage":
            return _StorageType("uint8")
        if module == "_codecs" and name == "encode":
            return lambda text, encoding="latin1": text.encode(encoding)
        raise UnsafeCheckpointError(
            f"{self._path} tries to load {module}.{name} while unpickling. A weights file only needs tensors, "
            "so this file may run code on your machine; it was not loaded. Use a safetensors file instead."
        )

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or len(pid) < 3 or pid[0] != "storage" or not isinstance(pid[1], _StorageType):
            raise UnsafeCheckpointError(f"{self._path} has an unexpected persistent reference {pid!r}; not loaded.")
        try:
            data = self._archive.read(f"{self._prefix}/data/{pid[2]}")
        except KeyError as exc:
            raise CheckpointFormatError(f"{self._path} is missing storage {pid[2]}; the file is corrupt.") from exc
        return _Storage(data, pid[1].dtype)


def read_torch_bin(path, keep_bf16: bool = False) -> dict[str, np.ndarray]:
    """name -> numpy array from a torch.save zip file (bfloat16 as float32 unless keep_bf16)."""
    path = os.fspath(path)
    if not zipfile.is_zipfile(path):
        raise CheckpointFormatError(
            f"{path} is not a zip-format PyTorch file (it is corrupt, or was saved by torch < 1.6 with the legacy "
            "format, which autoload does not read). Re-save it with a current torch.save, or use safetensors."
        )
    try:
        with zipfile.ZipFile(path) as archive:
            pickles = [n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
            if not pickles:
                raise CheckpointFormatError(f"{path} has no data.pkl; it is not a PyTorch checkpoint.")
            prefix = pickles[0].rsplit("/", 1)[0] if "/" in pickles[0] else ""
            loaded = _RestrictedUnpickler(io.BytesIO(archive.read(pickles[0])), archive, prefix, path).load()
    except (zipfile.BadZipFile, EOFError, pickle.UnpicklingError, struct.error) as exc:
        raise CheckpointFormatError(f"{path} is truncated or corrupt ({exc}); re-download it.") from exc
    if not isinstance(loaded, Mapping):
        raise CheckpointFormatError(f"{path} holds a {type(loaded).__name__}, not a state dict of tensors.")
    state = {}
    for name, value in loaded.items():
        if not isinstance(value, _Tensor):
            continue
        array = value.array
        if value.dtype == "bfloat16" and not keep_bf16:
            array = (array.astype(np.uint32) << 16).view(np.float32)
        state[name] = array
    return state


# -- writing ------------------------------------------------------------------------------------------
_STORAGE_OF = {np.dtype(v): k for k, v in _STORAGE_DTYPES.items() if v != "bfloat16"}


def _global(module: str, name: str) -> bytes:
    return pickle.GLOBAL + f"{module}\n{name}\n".encode()


def _unicode(text: str) -> bytes:
    data = text.encode("utf-8")
    return pickle.BINUNICODE + struct.pack("<I", len(data)) + data


def _int(value: int) -> bytes:
    return pickle.BININT + struct.pack("<i", value)


def _tuple(items: list[bytes]) -> bytes:
    return pickle.MARK + b"".join(items) + pickle.TUPLE


def write_torch_bin(state: Mapping[str, np.ndarray], path) -> None:
    """Write a file torch.load(weights_only=True) reads, without torch: the pickle is assembled from
    opcodes, so nothing here needs torch's classes to exist."""
    archive_name = os.path.splitext(os.path.basename(os.fspath(path)))[0] or "archive"
    body, storages = [], []
    for i, name in enumerate(state):
        array = np.ascontiguousarray(state[name])
        if array.dtype not in _STORAGE_OF:
            raise ValueError(f"{name}: dtype {array.dtype} cannot be written to pytorch_model.bin.")
        storages.append(array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes())
        storage = _tuple([_unicode("storage"), _global("torch", _STORAGE_OF[array.dtype]), _unicode(str(i)),
                          _unicode("cpu"), _int(array.size)]) + pickle.BINPERSID  # fmt: skip
        strides = [s // array.itemsize for s in array.strides] if array.size else [1] * array.ndim
        tensor = (_global("torch._utils", "_rebuild_tensor_v2")
                  + _tuple([storage, _int(0), _tuple([_int(d) for d in array.shape]),
                            _tuple([_int(s) for s in strides]), pickle.NEWFALSE,
                            _global("collections", "OrderedDict") + pickle.EMPTY_TUPLE + pickle.REDUCE])
                  + pickle.REDUCE)  # fmt: skip
        body.append(_unicode(name) + tensor)
    data = (pickle.PROTO + b"\x02" + _global("collections", "OrderedDict") + pickle.EMPTY_TUPLE + pickle.REDUCE
            + pickle.MARK + b"".join(body) + pickle.SETITEMS + pickle.STOP)  # fmt: skip
    with zipfile.ZipFile(os.fspath(path), "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(f"{archive_name}/data.pkl", data)
        archive.writestr(f"{archive_name}/byteorder", "little")
        for i, raw in enumerate(storages):
            archive.writestr(f"{archive_name}/data/{i}", raw)
        archive.writestr(f"{archive_name}/version", "3\n")
