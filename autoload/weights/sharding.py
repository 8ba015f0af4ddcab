"""Sharded checkpoints: size parsing, shard planning, file and index names as transformers uses them."""

from __future__ import annotations

import json
import numbers
import os
import re
from collections.abc import Mapping

import numpy as np

from ..errors import CheckpointFormatError
from ..json_files import read_json_file

_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30,
          "TIB": 2**40}  # fmt: skip
WEIGHTS_NAMES = {"safetensors": "model.safetensors", "pt": "pytorch_model.bin", "tf": "tf_model.h5",
                 "flax": "flax_model.msgpack"}  # fmt: skip
INDEX_NAMES = {fmt: name + ".index.json" for fmt, name in WEIGHTS_NAMES.items()}


def parse_size(size) -> int:
    """"2GB" -> 2 * 10**9, "500MiB" -> 500 * 2**20; ints pass through."""
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        return int(size)
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?I?B)\s*", str(size).upper())
    if not match:
        raise ValueError(f"max_shard_size {size!r} is not a size like '2GB', '500MB' or an integer of bytes.")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def with_variant(name: str, variant: str | None) -> str:
    """transformers' rule for weights variants: the variant goes before the last extension, so
    model.safetensors -> model.fp16.safetensors and model.safetensors.index.json -> model.safetensors.index.fp16.json."""
    if variant is None:
        return name
    stem, ext = name.rsplit(".", 1)
    return f"{stem}.{variant}.{ext}"


def weights_name(fmt: str, variant: str | None = None) -> str:
    return with_variant(WEIGHTS_NAMES[fmt], variant)


def index_name(fmt: str, variant: str | None = None) -> str:
    return with_variant(INDEX_NAMES[fmt], variant)


def shard_name(fmt: str, index: int, total: int, variant: str | None = None) -> str:
    """model-00001-of-00003.safetensors; with a variant model.fp16-00001-of-00003.safetensors."""
    stem, ext = os.path.splitext(weights_name(fmt, variant))
    return f"{stem}-{index:05d}-of-{total:05d}{ext}"


def plan_shards(sizes: Mapping[str, int], max_shard_size) -> list[list[str]]:
    """Group names in order into shards no larger than the limit (a larger tensor gets a shard of its own)."""
    limit = parse_size(max_shard_size)
    shards, current, used = [], [], 0
    for name, size in sizes.items():
        if current and used + size > limit:
            shards.append(current)
            current, used = [], 0
        current.append(name)
        used += size
    if current:
        shards.append(current)
    return shards


def read_index(path) -> tuple[dict[str, str], dict]:
    """(weight name -> shard file name, metadata) of a `*.index.json`; CheckpointFormatError when malformed,
    when a name appears twice, or when a shard is not a relative path inside the index's folder."""
    data = read_json_file(path, expect=None, unique_keys=True, fix="Re-download it")
    weight_map = data.get("weight_map") if isinstance(data, dict) else None
    if not isinstance(weight_map, dict):
        raise CheckpointFormatError(f"{path} has no 'weight_map'; it is not a sharded-checkpoint index. Re-download it.")
    if not weight_map:
        raise CheckpointFormatError(f"{path} has an empty 'weight_map': it names no weights. Re-download it.")
    for name, shard in weight_map.items():
        if not _inside_folder(shard):
            raise CheckpointFormatError(
                f"{path} maps {name!r} to {shard!r}, which is not a file name in its folder; an index may only name "
                "shard files beside it. Re-download the checkpoint."
            )
    metadata = data.get("metadata")
    return weight_map, metadata if isinstance(metadata, dict) else {}


def _inside_folder(shard) -> bool:
    """A relative path that stays inside the folder: no absolute path, drive, '..' part, backslash or NUL."""
    if not isinstance(shard, str) or not shard or any(c in shard for c in "\\:\0") or os.path.isabs(shard):
        return False
    parts = shard.split("/")
    return all(part not in ("", ".", "..") for part in parts)


def _nbytes(state: Mapping, name: str) -> int:
    """A tensor's size in bytes, from the mapping's shape()/dtype() when it has them (lazy readers do), so
    planning the shards reads no data."""
    shape, dtype = getattr(state, "shape", None), getattr(state, "dtype", None)
    if callable(shape) and callable(dtype):
        name_of_dtype = str(dtype(name))
        itemsize = 2 if name_of_dtype == "bfloat16" else np.dtype(name_of_dtype).itemsize
        return int(np.prod(shape(name), dtype=np.int64)) * itemsize
    return int(np.asarray(state[name]).nbytes)


def write_sharded(state: Mapping[str, np.ndarray], folder, fmt: str, max_shard_size="5GB",
                  variant: str | None = None, h5_groups: Mapping[str, str] | None = None) -> list[str]:  # fmt: skip
    """Write `state` in format "safetensors", "pt", "flax" ("/"-joined names) or "tf" (full TF weight names)
    as one file, or as shards named like transformers' plus an index when it exceeds max_shard_size; returns
    the file names written (with `variant` in them when given). Files of the same format and variant left in
    `folder` by an earlier save are removed. `h5_groups`: the tf_model.h5 layer group of weights whose name
    does not say it (see tf_h5.group_by_layer)."""
    from .flax_msgpack import unflatten_tree, write_flax_msgpack
    from .safetensors_io import write_safetensors
    from .tf_h5 import group_by_layer, write_tf_h5, write_tf_h5_shard
    from .torch_pickle import write_torch_bin

    if fmt not in WEIGHTS_NAMES:
        raise ValueError(f"write_sharded writes {', '.join(map(repr, WEIGHTS_NAMES))}, not {fmt!r}.")

    def write(part: dict, path: str, sharded: bool) -> None:
        if fmt == "safetensors":
            write_safetensors(part, path)
        elif fmt == "pt":
            write_torch_bin(part, path)
        elif fmt == "flax":
            write_flax_msgpack(unflatten_tree(part), path)
        elif sharded:
            write_tf_h5_shard(path, part)
        else:
            write_tf_h5(path, group_by_layer(part, h5_groups))

    def part_of(names) -> Mapping:
        if fmt == "safetensors":  # written tensor by tensor: a lazy state is never all in memory
            return _Part(state, names)
        return {name: np.asarray(state[name]) for name in names}

    os.makedirs(folder, exist_ok=True)
    shards = plan_shards({name: _nbytes(state, name) for name in state}, max_shard_size)
    kind = fmt if variant is None else f"{fmt}.{variant}"
    if len(shards) <= 1:
        single = weights_name(fmt, variant)
        write(part_of(list(state)), os.path.join(folder, single), False)
        _remove_stale_files(folder, kind, keep={single})
        return [single]
    weight_map, written, total = {}, [], 0
    for i, names in enumerate(shards, start=1):
        file = shard_name(fmt, i, len(shards), variant)
        part = part_of(names)  # at most one shard in memory at a time
        total += sum(_nbytes(part, name) for name in names)
        write(part, os.path.join(folder, file), True)
        weight_map.update(dict.fromkeys(names, file))
        written.append(file)
    with open(os.path.join(folder, index_name(fmt, variant)), "w", encoding="utf-8") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    _remove_stale_files(folder, kind, keep={*written, index_name(fmt, variant)})
    return written + [index_name(fmt, variant)]


class _Part(Mapping):
    """The tensors `names` of `state`, read only when asked for."""

    def __init__(self, state: Mapping, names: list[str]):
        self._state, self._names = state, names

    def __getitem__(self, name):
        return self._state[name]

    def shape(self, name) -> tuple:
        from ..loading import shape_of

        return shape_of(self._state, name)

    def dtype(self, name) -> str:
        from ..loading import dtype_of

        return dtype_of(self._state, name)

    def __iter__(self):
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def weight_file_format(file: str) -> str | None:
    """The weight format whose single file, index or shard (named as transformers names them) `file` is:
    "safetensors", "pt", "tf" or "flax", or "<format>.<variant>" for a variant's files (model.fp16.safetensors
    is "safetensors.fp16"), so that saving one variant leaves the others alone."""
    for fmt in WEIGHTS_NAMES:
        stem, ext = (re.escape(part) for part in WEIGHTS_NAMES[fmt].rsplit(".", 1))
        variant = r"(?:\.(?P<variant>[^/]+?))?"
        patterns = (f"{stem}{variant}-\\d{{5}}-of-\\d{{5}}\\.{ext}", f"{stem}\\.{ext}\\.index{variant}\\.json",
                    f"{stem}{variant}\\.{ext}")  # shards first: their names also fit the single-file pattern
        for pattern in patterns:
            match = re.fullmatch(pattern, file)
            if match:
                return fmt if match.group("variant") is None else f"{fmt}.{match.group('variant')}"
    return None


def _remove_stale_files(folder, fmt: str, keep: set[str]) -> None:
    """Delete this format's files from an earlier save that the new one does not overwrite: a leftover
    single file would be loaded instead of the new shards, and leftover shards confuse anyone listing them."""
    for file in os.listdir(folder):
        ours = weight_file_format(file) == fmt
        if ours and file not in keep and os.path.isfile(os.path.join(folder, file)):
            os.remove(os.path.join(folder, file))
