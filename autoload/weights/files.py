"""Which weight files a folder or Hub repo holds, which of them a load should use, and opening them lazily."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import CheckpointFormatError, CheckpointNotFoundError
from ..hub import HubOptions, cached_file, resolve_folder
from .sharding import INDEX_NAMES, WEIGHTS_NAMES, index_name, read_index, weights_name

NATIVE_FORMAT = {"torch": "pt", "tf": "tf", "flax": "flax"}
FLAG_FOR_FORMAT = {"pt": "from_pt=True", "safetensors": "from_pt=True", "tf": "from_tf=True", "flax": "from_flax=True"}
_FRAMEWORK_NAME = {"torch": "PyTorch", "tf": "TensorFlow", "flax": "Flax"}

__all__ = ["INDEX_NAMES", "WEIGHTS_NAMES", "WeightFiles", "cross_load_flags", "find_all_weights", "find_weights",
           "open_weights"]  # fmt: skip


@dataclass
class WeightFiles:
    """The files of one checkpoint in one format: a single file, or the shards an index names."""

    format: str  # "safetensors", "pt", "tf" or "flax"
    paths: list[str]  # local paths; shards in the order the index first names them
    index: dict[str, str] | None = None  # weight name -> shard file name, for sharded checkpoints


def _probe(source, fmt: str, options: HubOptions, variant: str | None = None) -> WeightFiles | None:
    """The checkpoint in format `fmt` (its `variant`'s files when given), or None; a single file wins over an
    index."""
    single = cached_file(source, weights_name(fmt, variant), options, required=False)
    if single is not None:
        return WeightFiles(fmt, [single])
    index_path = cached_file(source, index_name(fmt, variant), options, required=False)
    if index_path is None:
        return None
    weight_map, _ = read_index(index_path)
    paths, missing = [], []
    for shard in dict.fromkeys(weight_map.values()):
        path = cached_file(source, shard, options, required=False)
        (paths if path else missing).append(path or shard)
    if missing:
        raise CheckpointNotFoundError(
            f"{index_path} names shard files that are missing from {resolve_folder(source, options)}: "
            f"{', '.join(missing)}. Re-download the checkpoint."
        )
    return WeightFiles(fmt, paths, weight_map)


def find_all_weights(source, options: HubOptions | None = None, variant: str | None = None) -> list[WeightFiles]:
    """Every format present (in `variant` when given), in the order safetensors, pt, tf, flax."""
    options = options or HubOptions()
    return [found for fmt in WEIGHTS_NAMES if (found := _probe(source, fmt, options, variant)) is not None]


def cross_load_flags(source, backend: str, options: HubOptions | None = None) -> dict:
    """The from_pt / from_tf / from_flax flag `backend` needs for this checkpoint ({} when none is needed)."""
    present = [f.format for f in find_all_weights(source, options)]
    if not present or "safetensors" in present or NATIVE_FORMAT[backend] in present:
        return {}
    return {FLAG_FOR_FORMAT[present[0]].split("=")[0]: True}


def find_weights(source, options: HubOptions | None = None, *, backend: str, from_pt=False, from_tf=False,
                 from_flax=False, use_safetensors: bool | None = None, variant: str | None = None) -> WeightFiles:  # fmt: skip
    """Pick the checkpoint files a `backend` load should read.

    from_tf / from_flax: that format. Otherwise safetensors (single or sharded) when present, unless
    use_safetensors=False; then the backend's native format (pytorch_model.bin, tf_model.h5,
    flax_model.msgpack), or pytorch_model.bin for from_pt. use_safetensors=True accepts safetensors only.
    variant="fp16" looks for that variant's files in every format (model.fp16.safetensors,
    model.safetensors.index.fp16.json, pytorch_model.fp16.bin, tf_model.fp16.h5, ...), as transformers names them.
    Raises CheckpointNotFoundError saying which flag would load the formats that are there instead.
    """
    options = options or HubOptions()
    requested = "from_tf" if from_tf else "from_flax" if from_flax else "from_pt" if from_pt else None
    if from_tf or from_flax:
        order = ["tf" if from_tf else "flax"]
    else:
        order = [] if use_safetensors is False else ["safetensors"]
        if not use_safetensors:
            order.append("pt" if from_pt else NATIVE_FORMAT[backend])
    for fmt in order:
        found = _probe(source, fmt, options, variant)
        if found is not None:
            return found
    raise CheckpointNotFoundError(
        _why_nothing_usable(source, options, backend, order, use_safetensors, requested, variant)
    )


def _why_nothing_usable(source, options, backend: str, tried: list[str], use_safetensors, requested,
                        variant: str | None = None) -> str:  # fmt: skip
    where = resolve_folder(source, options)
    present = [fmt for fmt in WEIGHTS_NAMES if fmt not in tried and _has_files(source, fmt, options, variant)]
    if variant is not None and not present:
        plain = [fmt for fmt in WEIGHTS_NAMES if _has_files(source, fmt, options)]
        if plain:
            looked = ", ".join(name for fmt in tried for name in (weights_name(fmt, variant), index_name(fmt, variant)))
            return (f"{where} has no weights of the variant {variant!r} (looked for {looked}), but it has weights "
                    f"without a variant ({', '.join(_name(source, f, options, None) for f in plain)}): use "
                    "variant=None to load those.")  # fmt: skip
    if not present:
        every_name = ", ".join(name for fmt in WEIGHTS_NAMES for name in (weights_name(fmt, variant),
                                                                          index_name(fmt, variant)))  # fmt: skip
        return f"{where} contains no model weights: looked for {every_name}."
    framework = _FRAMEWORK_NAME[backend]
    tried_names = " / ".join(n for fmt in tried for n in (weights_name(fmt, variant), index_name(fmt, variant)))
    missing = f"{where} has no {tried_names}"
    if use_safetensors:
        missing += ", which use_safetensors=True requires"

    def names(formats):
        return ", ".join(_name(source, f, options, variant) for f in formats)

    direct = [fmt for fmt in present if fmt in ("safetensors", NATIVE_FORMAT[backend])]
    if direct:  # only the caller's own option kept these out
        if use_safetensors:
            option = "use_safetensors=True"
        elif use_safetensors is False and "safetensors" in direct:
            option = "use_safetensors=False"
        else:
            option = f"{requested}=True"
        return f"{missing}. It contains {names(direct)}, which {framework} loads directly: drop {option}."
    flags = " or ".join(dict.fromkeys(FLAG_FOR_FORMAT[fmt] for fmt in present))
    return f"{missing}. It contains {names(present)} but no {framework} weights: pass {flags} to load it."


def _has_single(source, fmt: str, options: HubOptions, variant: str | None = None) -> bool:
    return cached_file(source, weights_name(fmt, variant), options, required=False) is not None


def _has_files(source, fmt: str, options: HubOptions, variant: str | None = None) -> bool:
    return (_has_single(source, fmt, options, variant)
            or cached_file(source, index_name(fmt, variant), options, required=False) is not None)  # fmt: skip


def _name(source, fmt: str, options: HubOptions, variant: str | None) -> str:
    """The file name of the format present: its single file, else its index."""
    return weights_name(fmt, variant) if _has_single(source, fmt, options, variant) else index_name(fmt, variant)


# -- opening ----------------------------------------------------------------------------------------------
class ShardedWeights(Mapping):
    """One mapping over all the shards of a checkpoint, in the index's order. A shard is opened the first
    time one of its weights is needed, so reading one weight touches only its own shard (and, for the lazy
    per-tensor readers, only that tensor's bytes)."""

    def __init__(self, shard_of: dict[str, str], open_shard: Callable[[str], Mapping],
                 key_in_shard: Callable[[str], str] = str, index_file: str = "The checkpoint's index"):  # fmt: skip
        self._shard_of = shard_of  # weight name -> shard path
        self._open_shard = open_shard
        self._key_in_shard = key_in_shard
        self._index_file = index_file  # for messages
        self._shards: dict[str, Mapping] = {}

    def _locate(self, name: str) -> tuple[Mapping, str]:
        path = self._shard_of[name]
        if path not in self._shards:
            self._shards[path] = self._open_shard(path)
        shard, key = self._shards[path], self._key_in_shard(name)
        if key not in shard:
            raise CheckpointFormatError(
                f"{self._index_file} puts {name!r} in {path}, but that file does not contain it; the shards "
                "and the index do not match. Re-download the checkpoint."
            )
        return shard, key

    def check_index(self) -> None:
        """Open every shard (headers only, for the lazy readers) and check that each holds what the index puts
        in it, so a mismatch is found before a load starts rather than halfway through it."""
        for name in self._shard_of:
            self._locate(name)

    def __getitem__(self, name: str) -> np.ndarray:
        shard, key = self._locate(name)
        return shard[key]

    def shape(self, name: str) -> tuple[int, ...]:
        shard, key = self._locate(name)
        return tuple(shard.shape(key))

    def read_slice(self, name: str, index: tuple) -> np.ndarray:
        from ..loading import read_slice

        shard, key = self._locate(name)
        return read_slice(shard, key, index)

    def read_transposed(self, name: str, axes: tuple) -> np.ndarray:
        from ..loading import read_transposed

        shard, key = self._locate(name)
        return read_transposed(shard, key, axes)

    def dtype(self, name: str) -> str:
        shard, key = self._locate(name)
        return shard.dtype(key)

    def __contains__(self, name) -> bool:
        return name in self._shard_of

    def __iter__(self) -> Iterator[str]:
        return iter(self._shard_of)

    def __len__(self) -> int:
        return len(self._shard_of)


def _opener(fmt: str, keep_bf16: bool) -> Callable[[str], Mapping]:
    """The reader of one format (only its module is imported)."""
    if fmt == "safetensors":
        from .safetensors_io import SafetensorsReader

        return lambda path: SafetensorsReader(path, keep_bf16)
    if fmt == "pt":
        from .torch_pickle import TorchBinReader

        return lambda path: TorchBinReader(path, keep_bf16)
    if fmt == "tf":
        from .tf_h5 import TFH5Reader

        return TFH5Reader
    from .flax_msgpack import FlaxMsgpackReader

    return lambda path: FlaxMsgpackReader(path, keep_bf16)


def open_weights(files: WeightFiles, keep_bf16: bool = False) -> Mapping[str, np.ndarray]:
    """A read-only mapping over the checkpoint's tensors, under the names that format stores:

    safetensors / pt: canonical PyTorch names; tf: full TF weight names (`tf_bert_model/bert/.../kernel:0`,
    also for a sharded tf_model.h5); flax: "/"-joined parameter paths. Tensors are read when asked for; the
    mappings also have shape(name) and dtype(name). bfloat16 tensors are float32 unless keep_bf16=True
    (raw uint16 bits; dtype(name) says "bfloat16").
    """
    if files.format not in WEIGHTS_NAMES:
        raise ValueError(f"Unknown weight format {files.format!r}; expected one of {', '.join(WEIGHTS_NAMES)}.")
    open_file = _opener(files.format, keep_bf16)
    if files.index is None:
        return open_file(files.paths[0])
    path_of = {os.path.basename(path): path for path in files.paths}
    missing = sorted(shard for shard in set(files.index.values()) if not os.path.isfile(path_of.get(shard, "")))
    if missing:
        raise CheckpointNotFoundError(
            f"The {files.format} checkpoint's index names shard files that are missing: {', '.join(missing)} "
            f"(found: {', '.join(files.paths) or 'none'}). Re-download the checkpoint."
        )
    shard_of = {name: path_of[shard] for name, shard in files.index.items()}
    index_file = os.path.join(os.path.dirname(files.paths[0]), INDEX_NAMES[files.format])
    if files.format == "tf":
        from .tf_h5 import shard_dataset_name

        sharded = ShardedWeights(shard_of, open_file, shard_dataset_name, index_file)
    else:
        sharded = ShardedWeights(shard_of, open_file, index_file=index_file)
    sharded.check_index()
    return sharded
