"""Which weight files a folder or Hub repo holds, which of them a load should use, and opening them."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from ..errors import CheckpointFormatError, CheckpointNotFoundError
from ..hub import HubOptions, cached_file, resolve_folder
from .sharding import WEIGHTS_NAMES, index_name, read_index

NATIVE_FORMAT = {"torch": "pt", "tf": "tf", "flax": "flax"}
FLAG_FOR_FORMAT = {"pt": "from_pt=True", "safetensors": "from_pt=True", "tf": "from_tf=True", "flax": "from_flax=True"}
_FRAMEWORK_NAME = {"torch": "PyTorch", "tf": "TensorFlow", "flax": "Flax"}


@dataclass
class WeightFiles:
    format: str  # "safetensors", "pt", "tf" or "flax"
    paths: list[str]
    index: dict | None = None  # weight name -> shard file name, for sharded checkpoints


def _probe(source, fmt: str, options: HubOptions) -> WeightFiles | None:
    single = cached_file(source, WEIGHTS_NAMES[fmt], options, required=False)
    if single is not None:
        return WeightFiles(fmt, [single])
    index_path = cached_file(source, index_name(fmt), options, required=False)
    if index_path is None:
        return None
    weight_map, _ = read_index(index_path)
    paths, missing = [], []
    for shard in dict.fromkeys(weight_map.values()):
        path = cached_file(source, shard, options, required=False)
        (paths if path else missing).append(path or shard)
    if missing:
        raise CheckpointNotFoundError(
            f"{index_path} lists shard files that are missing from {resolve_folder(source, options)}: "
            f"{', '.join(missing)}. Re-download the checkpoint."
        )
    return WeightFiles(fmt, paths, weight_map)


def find_all_weights(source, options: HubOptions | None = None) -> list[WeightFiles]:
    """Every format present, in the order safetensors, pt, tf, flax."""
    options = options or HubOptions()
    return [found for fmt in WEIGHTS_NAMES if (found := _probe(source, fmt, options)) is not None]


def cross_load_flags(source, backend: str, options: HubOptions | None = None) -> dict:
    """The from_pt / from_tf / from_flax flag `backend` needs for this checkpoint ({} when none is needed)."""
    present = [f.format for f in find_all_weights(source, options)]
    if not present or "safetensors" in present or NATIVE_FORMAT[backend] in present:
        return {}
    return {FLAG_FOR_FORMAT[present[0]].split("=")[0]: True}


def find_weights(source, options: HubOptions | None = None, *, backend: str, from_pt=False, from_tf=False,
                 from_flax=False, use_safetensors: bool | None = None) -> WeightFiles:  # fmt: skip
    options = options or HubOptions()
    where = resolve_folder(source, options)
    if from_tf or from_flax:
        fmt = "tf" if from_tf else "flax"
        found = _probe(source, fmt, options)
        if found is None:
            raise CheckpointNotFoundError(
                f"{where} has no {WEIGHTS_NAMES[fmt]} (nor {index_name(fmt)}), which from_{fmt}=True asks for."
                + _others_hint(source, options, exclude=fmt)
            )
        return found
    order = [] if use_safetensors is False else ["safetensors"]
    if not use_safetensors:
        order.append("pt" if from_pt else NATIVE_FORMAT[backend])
    for fmt in order:
        found = _probe(source, fmt, options)
        if found is not None:
            return found
    looked_for = ", ".join(f"{WEIGHTS_NAMES[f]} / {index_name(f)}" for f in order)
    if use_safetensors:
        raise CheckpointNotFoundError(f"{where} has no {looked_for}, and use_safetensors=True was passed.")
    raise CheckpointNotFoundError(
        f"{where} has no weights {_FRAMEWORK_NAME[backend]} can load directly (looked for {looked_for})."
        + _others_hint(source, options, exclude=None)
    )


def _others_hint(source, options, exclude) -> str:
    present = [f for f in find_all_weights(source, options) if f.format != exclude]
    if not present:
        return " It holds no weight file in any format."
    names = ", ".join(os.path.basename(f.paths[0]) if f.index is None else index_name(f.format) for f in present)
    return f" It contains {names}: pass {FLAG_FOR_FORMAT[present[0].format]} to load it."


class ShardedSafetensors(Mapping):
    """One mapping over all shards; a tensor's shard is opened only when one of its tensors is read."""

    def __init__(self, files: WeightFiles, keep_bf16: bool):
        from .safetensors_io import SafetensorsReader

        by_name = {os.path.basename(p): p for p in files.paths}
        self._where = {name: by_name[shard] for name, shard in files.index.items()}
        self._readers: dict[str, SafetensorsReader] = {}
        self._open = lambda path: SafetensorsReader(path, keep_bf16)

    def _reader(self, name):
        path = self._where[name]
        if path not in self._readers:
            self._readers[path] = self._open(path)
        return self._readers[path]

    def __getitem__(self, name):
        return self._reader(name)[name]

    def shape(self, name):
        return self._reader(name).shape(name)

    def dtype(self, name):
        return self._reader(name).dtype(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


def open_weights(files: WeightFiles, keep_bf16: bool = False) -> Mapping:
    """A mapping of the files' tensors under the names that format uses (flax: '/'-joined paths)."""
    from .flax_msgpack import flatten_tree, read_flax_msgpack
    from .safetensors_io import SafetensorsReader
    from .tf_h5 import read_tf_h5
    from .torch_pickle import read_torch_bin

    if files.format == "safetensors":
        return SafetensorsReader(files.paths[0], keep_bf16) if files.index is None else ShardedSafetensors(files, keep_bf16)
    merged: dict = {}
    for path in files.paths:
        if files.format == "pt":
            merged.update(read_torch_bin(path, keep_bf16))
        elif files.format == "flax":
            merged.update(flatten_tree(read_flax_msgpack(path)))
        elif files.index is not None:
            raise CheckpointFormatError(f"Sharded tf_model.h5 checkpoints are not supported yet ({path}); "
                                        "convert it with transformers or load the safetensors weights.")  # fmt: skip
        else:
            merged.update(read_tf_h5(path))
    return merged
