"""Sharded checkpoints: size parsing, shard planning, file and index names as transformers uses them."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping

import numpy as np

from ..errors import CheckpointFormatError

_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30,
          "TIB": 2**40}  # fmt: skip
WEIGHTS_NAMES = {"safetensors": "model.safetensors", "pt": "pytorch_model.bin", "tf": "tf_model.h5",
                 "flax": "flax_model.msgpack"}  # fmt: skip


def parse_size(size) -> int:
    """"2GB" -> 2 * 10**9, "500MiB" -> 500 * 2**20; ints pass through."""
    if isinstance(size, int):
        return size
    match = re.fullmatch(r"\s*([\d.]+)\s*([KMGT]?I?B)\s*", str(size).upper())
    if not match:
        raise ValueError(f"max_shard_size {size!r} is not a size like '2GB', '500MB' or an integer of bytes.")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def index_name(fmt: str) -> str:
    return WEIGHTS_NAMES[fmt] + ".index.json"


def shard_name(fmt: str, index: int, total: int) -> str:
    stem, ext = os.path.splitext(WEIGHTS_NAMES[fmt])
    stem = "model" if fmt == "safetensors" else stem
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
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointFormatError(f"{path} is not valid JSON; re-download it.") from exc
    if not isinstance(data, dict) or not isinstance(data.get("weight_map"), dict):
        raise CheckpointFormatError(f"{path} has no 'weight_map'; it is not a sharded-checkpoint index.")
    return data["weight_map"], data.get("metadata", {})


def _nbytes(state, name) -> int:
    shape = state.shape(name) if callable(getattr(state, "shape", None)) else np.shape(state[name])
    return int(np.prod(shape, dtype=np.int64)) * 4


def write_sharded(state: Mapping[str, np.ndarray], folder, fmt: str, max_shard_size="5GB") -> list[str]:
    """Write `state` as one file or as shards plus an index; returns the file names written."""
    from .flax_msgpack import unflatten_tree, write_flax_msgpack
    from .safetensors_io import write_safetensors
    from .torch_pickle import write_torch_bin

    if fmt not in ("safetensors", "pt", "flax"):
        raise ValueError(f"write_sharded writes 'safetensors', 'pt' or 'flax', not {fmt!r}.")

    def write(part: dict, path: str) -> None:
        if fmt == "safetensors":
            write_safetensors(part, path)
        elif fmt == "pt":
            write_torch_bin(part, path)
        else:
            write_flax_msgpack(unflatten_tree(part), path)

    os.makedirs(folder, exist_ok=True)
    shards = plan_shards({name: _nbytes(state, name) for name in state}, max_shard_size)
    if len(shards) <= 1:
        write({name: np.asarray(state[name]) for name in state}, os.path.join(folder, WEIGHTS_NAMES[fmt]))
        return [WEIGHTS_NAMES[fmt]]
    weight_map, written, total = {}, [], 0
    for i, names in enumerate(shards, start=1):
        file = shard_name(fmt, i, len(shards))
        part = {name: np.asarray(state[name]) for name in names}  # one shard in memory at a time
        total += sum(a.nbytes for a in part.values())
        write(part, os.path.join(folder, file))
        weight_map.update(dict.fromkeys(names, file))
        written.append(file)
    with open(os.path.join(folder, index_name(fmt)), "w", encoding="utf-8") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    return written + [index_name(fmt)]
