"""Weight files, backend-neutral: readers and writers for every format, numpy in and out."""

from .files import WeightFiles, cross_load_flags, find_all_weights, find_weights, open_weights
from .flax_msgpack import FlaxMsgpackReader, flatten_tree, read_flax_msgpack, unflatten_tree, write_flax_msgpack
from .safetensors_io import SafetensorsReader, write_safetensors
from .sharding import (
    INDEX_NAMES,
    WEIGHTS_NAMES,
    index_name,
    parse_size,
    plan_shards,
    read_index,
    shard_name,
    weights_name,
    write_sharded,
)
from .tf_h5 import TFH5Reader, read_tf_h5, write_tf_h5
from .torch_pickle import TorchBinReader, read_torch_bin, write_torch_bin

__all__ = [
    "INDEX_NAMES", "WEIGHTS_NAMES", "FlaxMsgpackReader", "SafetensorsReader", "TFH5Reader", "TorchBinReader", "WeightFiles",
    "cross_load_flags", "find_all_weights", "find_weights", "flatten_tree", "open_weights", "parse_size",
    "plan_shards", "read_flax_msgpack", "read_index", "read_tf_h5", "read_torch_bin", "shard_name", "unflatten_tree",
    "write_flax_msgpack", "write_safetensors", "write_sharded", "write_tf_h5", "write_torch_bin", "index_name",
    "weights_name",
]  # fmt: skip
