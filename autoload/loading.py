"""Backend-neutral loading steps shared by every framework's from_pretrained.

find the weight files -> open them lazily -> convert names/layouts to canonical (PyTorch state-dict)
-> align the base-model prefix with the model being built -> report missing / unexpected / mismatched keys.
That last loop is load_canonical, once for every framework: a backend lists its weights (canonical name ->
shape) and supplies "put this numpy array into that weight" and "initialise these weights".
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np

from .errors import WeightMismatchError
from .read_ahead import read_in_order
from .weight_norm import fold_weight_norm
from .weights.arrays import pages_reserved, transposed

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


@contextlib.contextmanager
def collection_paused():
    """Python's cyclic garbage collector paused while a model loads. Building a model allocates thousands of
    small objects, which sets off full collections over everything the framework imported (about 0.1 s of a
    PyTorch bert-base load) while nothing collectable is made; it runs as usual afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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
        flags["variant"] = check_variant(kwargs.pop("variant", None))
        if "channels_first" in kwargs:
            raise TypeError(
                f"{model_class.__name__}.from_pretrained got channels_first={kwargs['channels_first']!r}, which is not "
                "a loading option (transformers 4.57.6 has no such argument either). Every framework here takes "
                "images channels-first, as pixel_values of shape [batch, channels, height, width], like transformers' "
                "PyTorch classes; drop the argument."
            )
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
        state, files = read_canonical_weights(self.source, self.options, backend=backend, config=self.config,
                                              keep_bf16=True, **flags)  # fmt: skip
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
        """Attach the source and the generation config, then return what the caller asked for (warning about
        gaps)."""
        model.name_or_path = self.source or ""
        if hasattr(model, "generate"):
            from .generation import GenerationConfig

            model.generation_config = (GenerationConfig.for_model(self.source, self.config, self.options)
                                       if self.source else GenerationConfig.from_model_config(self.config))  # fmt: skip
        if self.output_loading_info:
            return model, info.as_dict()
        info.warn(self.model_name, where)
        return model


_FLAG_OF_BACKEND = {"torch": "pt", "tf": "tf", "flax": "flax"}


def check_variant(variant):
    if variant is not None and not (isinstance(variant, str) and variant and "/" not in variant
                                    and "\\" not in variant and variant not in (".", "..")):  # fmt: skip
        raise ValueError(f"variant={variant!r} is not a weights variant name like 'fp16' (it names files such as "
                         "model.fp16.safetensors).")
    return variant


def read_canonical_weights(source, options, *, backend: str, config, from_pt=False, from_tf=False,
                           from_flax=False, use_safetensors=None, keep_bf16=False, variant=None):  # fmt: skip
    """Find and open a checkpoint's weights as a lazy canonical mapping (name -> numpy array).

    keep_bf16: bfloat16 tensors come as their raw uint16 bits (the mapping's dtype(name) says "bfloat16"), for
    a loader that keeps them bfloat16 or widens them itself."""
    from .weights import find_weights, open_weights

    files = find_weights(
        source, options, backend=backend, from_pt=from_pt, from_tf=from_tf, from_flax=from_flax,
        use_safetensors=use_safetensors, variant=variant,
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

    def __contains__(self, name) -> bool:  # Mapping's default would read the tensor
        return name in self._names

    def __len__(self) -> int:
        return len(self._names)

    def shape(self, key) -> tuple:
        return shape_of(self._base, self._names[key])

    def dtype(self, key) -> str:
        return dtype_of(self._base, self._names[key])

    def read_slice(self, key, index: tuple) -> np.ndarray:
        return read_slice(self._base, self._names[key], index)

    def read_transposed(self, key, axes: tuple) -> np.ndarray:
        return read_transposed(self._base, self._names[key], axes)


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


def translate_keys(config, available: Mapping) -> Mapping:
    """Checkpoint keys another library wrote, in the model's names where the config says how
    (`config.translate_checkpoint_key(key)`, e.g. DETR's timm ResNet onto our own ResNet)."""
    translate = getattr(config, "translate_checkpoint_key", None)
    if translate is None:
        return available
    names = {translate(key): key for key in available}
    return available if all(new == old for new, old in names.items()) else RenamedMapping(available, names)


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


def dtype_of(state: Mapping, key: str) -> str:
    """The dtype a tensor is stored in ("bfloat16" for raw bfloat16 bits), read from the header where possible."""
    get_dtype = getattr(state, "dtype", None)
    if callable(get_dtype):
        return str(get_dtype(key))
    return np.asarray(state[key]).dtype.name


def read_slice(state: Mapping, key: str, index: tuple) -> np.ndarray:
    """The part `index` (slices per leading axis) of one tensor. Readers that can (safetensors, through the
    mappings over them) read only that part from disk; the others read the tensor and cut it."""
    reader = getattr(state, "read_slice", None)
    if callable(reader):
        return reader(key, tuple(index))
    return np.asarray(state[key])[tuple(index)]


def read_transposed(state: Mapping, key: str, axes: tuple) -> np.ndarray:
    """One tensor with its axes permuted, C-contiguous (a PyTorch weight in TF / Flax's kernel layout). Readers
    that can (safetensors) copy it once, from the file into the new layout; a tensor another reader already
    holds in that layout (a kernel from tf_model.h5 seen through its canonical view) is not copied at all."""
    reader = getattr(state, "read_transposed", None)
    if callable(reader):
        return reader(key, tuple(axes))
    return transposed(np.asarray(state[key]), tuple(axes))


@dataclass(frozen=True)
class TensorSource:
    """A checkpoint tensor not read yet, as load_canonical(lazy=True) hands it to put(): read() gives all of
    it, read(index) only the part a device holds (in the canonical layout, with the target's shape)."""

    state: Mapping
    key: str
    shape: tuple

    def read(self, index: tuple | None = None) -> np.ndarray:
        if index is not None and shape_of(self.state, self.key) == self.shape:
            return read_slice(self.state, self.key, index)
        whole = fit_shape(np.asarray(self.state[self.key]), self.shape)  # unit axes differ: tiny, read whole
        return whole if index is None else whole[tuple(index)]

    def read_transposed(self, axes: tuple) -> np.ndarray:
        """All of it with its axes permuted (see read_transposed), C-contiguous."""
        if shape_of(self.state, self.key) == self.shape:
            return read_transposed(self.state, self.key, axes)
        return transposed(self.read(), tuple(axes))


def _stored_nbytes(state: Mapping, key: str) -> int:
    dtype = dtype_of(state, key)
    try:
        itemsize = 2 if dtype == "bfloat16" else np.dtype(dtype).itemsize
    except TypeError:  # a dtype numpy does not name (the readers refuse those when the tensor is read)
        itemsize = 4
    return math.prod(shape_of(state, key)) * itemsize


def reserve_pages(state: Mapping, keeps_dtype: str):
    """A context in which the reader's arrays for `state` come from memory faulted in on another thread while
    the model is being built (autoload.weights.arrays.pages_reserved). Only for the tensors the model keeps
    as they are read: stored in `keeps_dtype` (the floating dtype of the model's weights) or not floating; a
    tensor converted to another dtype is read into memory freed right after, which is not worth reserving."""
    sizes = []
    for key in state:
        stored = dtype_of(state, key)
        if stored == keeps_dtype or not (stored.startswith(("float", "bfloat")) or stored == "complex64"):
            sizes.append(_stored_nbytes(state, key))
    return pages_reserved(sizes)


def same_up_to_unit_axes(a: tuple, b: tuple) -> bool:
    """True when two shapes differ only by axes of size 1 (a scalar stored as [1], a bias as [1, n])."""
    return [d for d in a if d != 1] == [d for d in b if d != 1]


def fit_shape(array: np.ndarray, shape: tuple) -> np.ndarray:
    """`array` reshaped to `shape` when they differ only by axes of size 1."""
    return array if tuple(array.shape) == tuple(shape) else array.reshape(tuple(shape))


# Buffers a checkpoint may have or lack without consequence: derived from the config (or a counter), so no
# framework reports them missing or unused (older checkpoints store position ids and rotary frequencies).
OPTIONAL_BUFFERS = (".num_batches_tracked", ".relative_position_index", ".position_ids", ".inv_freq", ".masked_bias")


def is_optional_buffer(name: str) -> bool:
    return ("." + name).endswith(OPTIONAL_BUFFERS)


def tied_keys(model, keys: Iterable[str] | None = None) -> set[str]:
    """The canonical keys a model shares with another weight (absent from checkpoints by design), unless its
    config unties the embeddings. `_tied_aliases` are tied whatever the config says (an encoder-decoder's
    encoder and decoder embed_tokens are its shared embedding)."""
    aliases = set(getattr(model, "_tied_aliases", ()))
    if not getattr(model.config, "tie_word_embeddings", True):
        return aliases
    return set(model._tied_weights_keys if keys is None else keys) | aliases


def load_canonical(model, targets: Mapping[str, tuple], state: Mapping, put: Callable, initialise: Callable, *,
                   where: str, ignore_mismatched_sizes: bool = False, tied: Iterable[str] | None = None,
                   lazy: bool = False, read: Callable | None = None) -> LoadingInfo:
    """The loading loop every framework shares: match a checkpoint's canonical tensors to a model's weights.

    targets: every weight of the model, canonical name -> shape in the canonical (PyTorch) layout, in model
    order. Checkpoint names are aligned first (legacy names, base-model prefix). Each weight the checkpoint
    holds with a fitting shape is read once and handed to put(name, array, stored_dtype): a numpy array in the
    canonical layout with exactly the target's shape; bfloat16 tensors come as raw uint16 bits with
    stored_dtype "bfloat16" when the state was opened with keep_bf16. initialise(names) is called once with
    every target put() did not receive (missing, tied, derived buffers, and mismatched ones when
    ignore_mismatched_sizes), so the backend gives those their initial values in one go.

    read(name, source): how a backend wants a tensor read (e.g. a kernel straight into its own layout with
    source.read_transposed); by default source.read(). Reads run on threads (autoload.read_ahead) a few
    tensors ahead of put(), which runs on the calling thread in target order.
    lazy: put() gets a TensorSource instead of the array, to read only the slices it needs (sharded loads).

    Missing keys leave out tied weights (model._tied_weights_keys, or `tied`) and OPTIONAL_BUFFERS; unused
    checkpoint keys leave out OPTIONAL_BUFFERS and model._keys_to_ignore_on_load_unexpected (regexes).
    """
    info = LoadingInfo()
    state = translate_keys(model.config, state)
    state = align_prefix(targets, state, model.base_model_prefix)
    state = fold_weight_norm(targets, state)
    tied = tied_keys(model, tied)
    absent, found = [], []
    for name, shape in targets.items():
        shape = tuple(shape)
        if name not in state:
            if name not in tied and not is_optional_buffer(name):
                info.missing_keys.append(name)
            absent.append(name)
            continue
        stored = shape_of(state, name)
        if not same_up_to_unit_axes(stored, shape):
            if not ignore_mismatched_sizes:
                raise WeightMismatchError(
                    f"{name} has shape {stored} in {where} but {shape} in {type(model).__name__} (config: "
                    f"{type(model.config).__name__}). Check that the config matches the checkpoint, or pass "
                    "ignore_mismatched_sizes=True to re-initialise the mismatched weights."
                )
            info.mismatched_keys.append((name, stored, shape))
            absent.append(name)
            continue
        found.append(TensorSource(state, name, shape))
    if lazy:
        for source in found:
            put(source.key, source, dtype_of(state, source.key))
    else:
        read = read or (lambda name, source: source.read())
        for source, array in read_in_order(found, lambda source: read(source.key, source),
                                           lambda source: _stored_nbytes(source.state, source.key)):
            put(source.key, array, dtype_of(state, source.key))
    ignore = [re.compile(pattern) for pattern in model._keys_to_ignore_on_load_unexpected]
    info.unexpected_keys = [key for key in state if key not in targets and not is_optional_buffer(key)
                            and not any(p.search(key) for p in ignore)]  # fmt: skip
    if absent:
        initialise(absent)
    return info
