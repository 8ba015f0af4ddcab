"""Weight files, backend-neutral: readers and writers for every format, numpy in and out.

The names below are imported from their modules when first used, so that loading one format does not import
the readers of the others (a safetensors load skips the pickle, HDF5 and msgpack readers)."""

from __future__ import annotations

import importlib

_MODULE_OF = {
    "WeightFiles": "files", "cross_load_flags": "files", "find_all_weights": "files", "find_weights": "files",
    "open_weights": "files",
    "FlaxMsgpackReader": "flax_msgpack", "flatten_tree": "flax_msgpack", "read_flax_msgpack": "flax_msgpack",
    "unflatten_tree": "flax_msgpack", "write_flax_msgpack": "flax_msgpack",
    "SafetensorsReader": "safetensors_io", "write_safetensors": "safetensors_io",
    "INDEX_NAMES": "sharding", "WEIGHTS_NAMES": "sharding", "index_name": "sharding", "parse_size": "sharding",
    "plan_shards": "sharding", "read_index": "sharding", "shard_name": "sharding", "weights_name": "sharding",
    "write_sharded": "sharding",
    "TFH5Reader": "tf_h5", "read_tf_h5": "tf_h5", "write_tf_h5": "tf_h5",
    "TorchBinReader": "torch_pickle", "read_torch_bin": "torch_pickle", "write_torch_bin": "torch_pickle",
}  # fmt: skip

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
