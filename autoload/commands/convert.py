"""`autoload convert`: rewrite a checkpoint's weights in another format.

Reading never needs the source framework (every format is read into canonical numpy arrays). Writing
safetensors or pytorch_model.bin needs no framework either; writing tf_model.h5 or flax_model.msgpack
builds the target framework's model to learn its variable names, so that framework must be installed.
Everything is written to a staging folder that replaces the output folder at the end (autoload.atomic_save),
so an interrupted conversion never leaves a folder that looks complete.
"""

from __future__ import annotations

import os
import shutil

from .. import registry
from ..atomic_save import staged_save
from ..auto.config import AutoConfig
from ..hub import HubOptions, is_local
from ..loading import to_canonical
from ..weights import cross_load_flags, find_all_weights, open_weights, write_sharded

TARGET_BACKEND = {"tf": "tf", "flax": "flax"}
_PREFERENCE = ("safetensors", "pt", "flax", "tf")
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".h5", ".msgpack", ".index.json")


def convert_checkpoint(name_or_path, *, to: str, out, max_shard_size="5GB", overwrite: bool = False,
                       progress: bool = True, **hub_kwargs) -> str:  # fmt: skip
    out = os.path.abspath(os.fspath(out))
    if os.path.exists(out) and not overwrite:
        raise FileExistsError(f"{out} already exists; choose another --out or pass --overwrite to replace it.")
    hub_kwargs = {k: v for k, v in hub_kwargs.items() if v is not None}
    options = HubOptions(**hub_kwargs)
    config = AutoConfig.from_pretrained(name_or_path, **hub_kwargs)
    found = {files.format: files for files in find_all_weights(name_or_path, options)}
    if not found:
        raise FileNotFoundError(f"{name_or_path} holds no weight file to convert.")
    source = next(found[f] for f in _PREFERENCE if f in found)

    with staged_save(out, replace_all=True) as staging:
        if to in ("safetensors", "pt"):
            state = to_canonical(open_weights(source), source.format, config)
            write_sharded(_with_progress(state, progress), staging, to, max_shard_size)
            config.save_pretrained(staging)
        else:
            model_class = _model_class(config, TARGET_BACKEND[to])
            flags = cross_load_flags(name_or_path, TARGET_BACKEND[to], options)
            model = model_class.from_pretrained(name_or_path, config=config, **flags, **hub_kwargs)
            model.save_pretrained(staging, safe_serialization=False, max_shard_size=max_shard_size)
        if is_local(name_or_path):
            _copy_side_files(os.path.join(os.fspath(name_or_path), options.subfolder), staging)
    return out


def _model_class(config, backend: str) -> type:
    """The class named in config.architectures (or the base model) for `backend`."""
    spec = registry.arch_spec(config.model_type)
    if spec is None:
        raise ValueError(f"Converting to {backend} needs a built-in architecture; {config.model_type!r} is not one.")
    families = {name: family for family, name in spec.ARCHITECTURES.items()}
    for architecture in config.architectures or []:
        if architecture in families:
            return registry.model_class_for(families[architecture], backend, config)
    return registry.model_class_for("MODEL", backend, config)


def _copy_side_files(folder: str, staging: str) -> None:
    """Tokenizer, processor and generation files travel with the weights."""
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if os.path.isfile(path) and not name.endswith(_WEIGHT_SUFFIXES) and name != "config.json":
            shutil.copy2(path, os.path.join(staging, name))


class _with_progress:
    """A mapping view that shows a progress bar as tensors are read (only for large checkpoints)."""

    def __init__(self, state, enabled: bool):
        self._state = state
        self._bar = None
        if enabled and len(state) > 200:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=len(state), unit="tensor", desc="converting")

    def __getitem__(self, key):
        value = self._state[key]
        if self._bar is not None:
            self._bar.update(1)
        return value

    def __iter__(self):
        return iter(self._state)

    def __len__(self):
        return len(self._state)

    def keys(self):
        return self._state.keys()

    def items(self):
        return ((k, self[k]) for k in self._state)

    def shape(self, key):
        getter = getattr(self._state, "shape", None)
        return getter(key) if callable(getter) else self._state[key].shape

    def dtype(self, key):
        from ..loading import dtype_of

        return dtype_of(self._state, key)
