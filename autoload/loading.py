"""Backend-neutral loading steps shared by every framework's from_pretrained.

find the weight files -> open them lazily -> convert names/layouts to canonical (PyTorch state-dict)
-> align the base-model prefix with the model being built -> report missing / unexpected keys.
A backend only turns canonical numpy arrays into its own tensors and puts them in place.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np

logger = logging.getLogger("autoload")


@dataclass
class LoadingInfo:
    missing_keys: list[str] = field(default_factory=list)
    unexpected_keys: list[str] = field(default_factory=list)
    mismatched_keys: list[tuple[str, tuple, tuple]] = field(default_factory=list)
    error_msgs: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "missing_keys": self.missing_keys,
            "unexpected_keys": self.unexpected_keys,
            "mismatched_keys": self.mismatched_keys,
            "error_msgs": self.error_msgs,
        }

    def warn(self, model_name: str, source: str) -> None:
        if self.unexpected_keys:
            logger.warning(
                "Some weights of %s were not used when loading %s: %s", source, model_name, self.unexpected_keys
            )
        if self.missing_keys:
            logger.warning(
                "Some weights of %s were not in %s and are newly initialised: %s. Train the model before using it "
                "for predictions.",
                model_name,
                source,
                self.missing_keys,
            )
        for key, ckpt_shape, model_shape in self.mismatched_keys:
            logger.warning(
                "%s: %s has shape %s in the checkpoint but %s in the model; it was newly initialised.",
                model_name,
                key,
                ckpt_shape,
                model_shape,
            )


IGNORED_LOAD_KWARGS = ("low_cpu_mem_usage", "device_map", "_from_auto", "weights_only", "_do_init", "input_shape")


@dataclass
class LoadRequest:
    """What a from_pretrained call asks for, once its keyword arguments are sorted and the config is known."""

    model_name: str
    source: str
    config: object
    options: object
    flags: dict  # from_pt / from_tf / from_flax / use_safetensors
    output_loading_info: bool = False
    ignore_mismatched_sizes: bool = False

    @classmethod
    def parse(cls, model_class, source, config, kwargs: dict) -> LoadRequest:
        """Sort from_pretrained's keyword arguments (everything framework-specific popped already)."""
        from .configuration import PretrainedConfig
        from .hub import HubOptions

        options = HubOptions.pop_from(kwargs)
        flags = {k: kwargs.pop(k, v) for k, v in
                 (("from_pt", False), ("from_tf", False), ("from_flax", False), ("use_safetensors", None))}  # fmt: skip
        loading_info = kwargs.pop("output_loading_info", False)
        ignore_mismatched = kwargs.pop("ignore_mismatched_sizes", False)
        for key in IGNORED_LOAD_KWARGS:
            kwargs.pop(key, None)
        if isinstance(config, PretrainedConfig):  # a copy, with the call's overrides applied
            config, kwargs = type(config).from_dict(config.to_dict(), return_unused_kwargs=True, **kwargs)
        else:
            config, kwargs = model_class.config_class.from_pretrained(
                source if config is None else config, return_unused_kwargs=True,
                **{k: getattr(options, k) for k in HubOptions.KEYS}, **kwargs,
            )  # fmt: skip
        if kwargs:
            raise TypeError(f"{model_class.__name__}.from_pretrained got unexpected keyword arguments: {sorted(kwargs)}")
        return cls(model_class.__name__, None if source is None else os.fspath(source), config, options, flags,
                   loading_info, ignore_mismatched)  # fmt: skip

    def read_weights(self, backend: str):
        """(lazy canonical state, a description of the files for messages)."""
        flags = {k: v for k, v in self.flags.items() if k != f"from_{_FLAG_OF_BACKEND[backend]}"}
        state, files = read_canonical_weights(self.source, self.options, backend=backend, config=self.config, **flags)
        shards = f" (+{len(files.paths) - 1} shards)" if len(files.paths) > 1 else ""
        self.check_config_sizes(state, files.paths[0] + shards)
        return state, files.paths[0] + shards

    def check_config_sizes(self, state, where: str) -> None:
        """Before the model is built: refuse config sizes implausible for the checkpoint (autoload.config_checks)."""
        from .config_checks import check_config_against_weights
        from .hub import resolve_folder

        config_file = os.path.join(resolve_folder(self.source, self.options), "config.json")
        check_config_against_weights(self.config, state, config_file, where)

    def finish(self, model, info: LoadingInfo, where: str):
        """Attach the generation config, then return what the caller asked for (warning about gaps)."""
        if hasattr(model, "generate"):
            from .generation import GenerationConfig

            model.generation_config = (GenerationConfig.for_model(self.source, self.config, self.options)
                                       if self.source else GenerationConfig.from_model_config(self.config))  # fmt: skip
        if self.output_loading_info:
            return model, info.as_dict()
        info.warn(self.model_name, where)
        return model


_FLAG_OF_BACKEND = {"torch": "pt", "tf": "tf", "flax": "flax"}


def read_canonical_weights(source, options, *, backend: str, config, from_pt=False, from_tf=False,
                           from_flax=False, use_safetensors=None, keep_bf16=False):  # fmt: skip
    """Find and open a checkpoint's weights as a lazy canonical mapping (name -> numpy array)."""
    from .weights import find_weights, open_weights

    files = find_weights(
        source, options, backend=backend, from_pt=from_pt, from_tf=from_tf, from_flax=from_flax,
        use_safetensors=use_safetensors,
    )  # fmt: skip
    raw = open_weights(files, keep_bf16=keep_bf16)
    return to_canonical(raw, files.format, config), files


def to_canonical(raw: Mapping[str, np.ndarray], fmt: str, config) -> Mapping[str, np.ndarray]:
    if fmt in ("safetensors", "pt"):
        return raw
    if fmt == "tf":
        from .convert.tf import tf_weights_to_canonical

        return tf_weights_to_canonical(raw, config)
    if fmt == "flax":
        from .convert.flax import flax_weights_to_canonical

        return flax_weights_to_canonical(raw, config)
    raise ValueError(f"Unknown weight format {fmt!r}")


class RenamedMapping(Mapping):
    """A read-only view of `base` under new key names (new name -> old name), nothing copied."""

    def __init__(self, base: Mapping, new_to_old: dict[str, str]):
        self._base = base
        self._names = new_to_old

    def __getitem__(self, key):
        return self._base[self._names[key]]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def shape(self, key) -> tuple:
        base_shape = getattr(self._base, "shape", None)
        if callable(base_shape):
            return tuple(base_shape(self._names[key]))
        return tuple(np.shape(self._base[self._names[key]]))


# Names older checkpoints use for the same tensors: (old suffix, current suffix), tried both ways.
LEGACY_SUFFIXES = (
    ("LayerNorm.gamma", "LayerNorm.weight"),
    ("LayerNorm.beta", "LayerNorm.bias"),
    (".weight_g", ".parametrizations.weight.original0"),
    (".weight_v", ".parametrizations.weight.original1"),
)


def rename_legacy_keys(expected: Iterable[str], available: Mapping, prefix: str = "") -> Mapping:
    """Map checkpoint keys written under an older naming (LayerNorm gamma/beta, weight-norm g/v) onto the
    names the model uses, in whichever direction the model needs (with or without the base prefix)."""
    expected = set(expected)
    dotted = prefix + "." if prefix else ""

    def wanted(key: str) -> bool:
        bare = key[len(dotted) :] if dotted and key.startswith(dotted) else key
        return key in expected or bare in expected or (dotted and dotted + bare in expected)

    names, changed = {}, False
    for key in available:
        new = key
        if not wanted(key):
            for old_suffix, new_suffix in LEGACY_SUFFIXES + tuple((b, a) for a, b in LEGACY_SUFFIXES):
                candidate = key[: -len(old_suffix)] + new_suffix
                if key.endswith(old_suffix) and wanted(candidate):
                    new = candidate
                    break
        names[new] = key
        changed = changed or new != key
    return RenamedMapping(available, names) if changed else available


def align_prefix(expected: Iterable[str], available: Mapping, prefix: str) -> Mapping:
    """Rename checkpoint keys to the model's: legacy names first (see rename_legacy_keys), then the
    base-model prefix, so a base model loads from a head checkpoint and the other way round.

    Head checkpoints store the base model under `prefix.` (e.g. `bert.encoder…`); a base model's own keys
    have no prefix. Keys are left as they are when both sides agree.
    """
    expected = list(expected)
    available = rename_legacy_keys(expected, available, prefix)
    if not prefix:
        return available
    dotted = prefix + "."
    model_has = any(k.startswith(dotted) for k in expected)
    ckpt_has = any(k.startswith(dotted) for k in available)
    if model_has == ckpt_has:
        return available
    if model_has:  # head model from a base checkpoint
        expected_set = set(expected)
        names = {}
        for k in available:
            names[dotted + k if dotted + k in expected_set else k] = k
        return RenamedMapping(available, names)
    return RenamedMapping(available, {(k[len(dotted) :] if k.startswith(dotted) else k): k for k in available})


def shape_of(state: Mapping, key: str) -> tuple:
    get_shape = getattr(state, "shape", None)
    if callable(get_shape):
        return tuple(get_shape(key))
    return tuple(np.shape(state[key]))


def same_up_to_unit_axes(a: tuple, b: tuple) -> bool:
    """True when two shapes differ only by axes of size 1 (a scalar stored as [1], a bias as [1, n])."""
    return [d for d in a if d != 1] == [d for d in b if d != 1]


def fit_shape(array: np.ndarray, shape: tuple) -> np.ndarray:
    """`array` reshaped to `shape` when they differ only by axes of size 1."""
    return array if tuple(array.shape) == tuple(shape) else array.reshape(tuple(shape))


# Buffers a checkpoint may have or lack without consequence: derived from the config (or a counter).
OPTIONAL_BUFFERS = ("num_batches_tracked", "relative_position_index")
