"""FlaxPreTrainedModel: a flax.linen module plus its parameter tree, loaded from canonical weights.

Parameters are never initialised just to be overwritten: loading traces the module with
jax.eval_shape (shapes only, no compute), fills that tree from the checkpoint through the shared
converter, and initialises only leaves the checkpoint lacks. Those come from a jitted init that returns
just the missing leaves: XLA drops every other initialiser (and the dummy forward pass) as dead code, and
flax derives each parameter's random key from its path, so the values equal a full init's.
"""

from __future__ import annotations

import contextlib
import copy
import os
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from autoload import resize
from autoload.atomic_save import saves_atomically
from autoload.configuration import PretrainedConfig
from autoload.convert.flax import canonical_name, flax_weights_to_canonical
from autoload.convert.layout import kernel_axes, kernel_shape_as_weight, kernel_to_weight, weight_to_kernel
from autoload.generation import GenerationConfig
from autoload.loading import (
    LoadingInfo,
    LoadRequest,
    check_variant,
    collection_paused,
    dtype_of,
    load_canonical,
    reserve_pages,
)
from autoload.model_mixin import ModelMixin

from .abstract_params import shapes_from_arguments, shapes_only, with_repeated_layers
from .remat import rematerialising


def _cast_floating(params, dtype, mask=None):
    def cast(leaf, chosen=True):
        return leaf.astype(dtype) if chosen and jnp.issubdtype(leaf.dtype, jnp.floating) else leaf

    return jax.tree_util.tree_map(cast, params) if mask is None else jax.tree_util.tree_map(cast, params, mask)


def _leaves_with_paths(tree, path=()):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _leaves_with_paths(value, path + (key,))
        else:
            yield path + (key,), value


def _set(tree, path, value):
    for key in path[:-1]:
        tree = tree[key]
    tree[path[-1]] = value


def _get(tree, path):
    for key in path:
        tree = tree[key]
    return tree


def _skeleton(leaves: dict) -> dict:
    """The nested dict of these leaf paths, every leaf None."""
    tree: dict = {}
    for path in leaves:
        node = tree
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = None
    return tree


def _canonical_shape(path: tuple, shape: tuple) -> tuple:
    return kernel_shape_as_weight(tuple(shape)) if path[-1] == "kernel" else tuple(shape)


def _to_device(array: np.ndarray, stored: str, dtype) -> jax.Array:
    """One transfer to the device. bfloat16 arrives as raw bits and is reinterpreted, not widened, unless the
    parameter is wider; a contiguous array in the parameter's dtype goes as it is (on the CPU, an aligned one
    is not even copied)."""
    if stored == "bfloat16" and array.dtype == np.uint16:
        array = array.view(jnp.bfloat16)
    if array.dtype != dtype:
        array = array.astype(dtype)
    return jax.device_put(array)


def _stored_float_dtype(state, config):
    """The floating dtype a checkpoint stores its weights in (config.dtype first), for dtype="auto"."""
    names = {"float32": jnp.float32, "float16": jnp.float16, "bfloat16": jnp.bfloat16, "float64": jnp.float64}
    configured = getattr(config, "dtype", None)
    if isinstance(configured, str) and configured in names:
        return names[configured]
    for name in state:
        stored = dtype_of(state, name)
        if stored in names:
            return names[stored]
    return jnp.float32


class _HostLeaves(Mapping):
    """A parameter tree as "/"-path -> numpy array, each leaf copied to the host (a sharded one gathered from
    its devices) only when read, so saving holds one tensor (or one shard of the file) at a time."""

    def __init__(self, params):
        self._leaves = {"/".join(map(str, path)): leaf for path, leaf in _leaves_with_paths(params)}

    def __getitem__(self, path) -> np.ndarray:
        return np.asarray(self._leaves[path])

    def shape(self, path) -> tuple:
        return tuple(self._leaves[path].shape)

    def dtype(self, path) -> str:
        return np.dtype(self._leaves[path].dtype).name

    def __iter__(self):
        return iter(self._leaves)

    def __len__(self) -> int:
        return len(self._leaves)


class FlaxPreTrainedModel(ModelMixin):
    config_class: type[PretrainedConfig] | None = None
    module_class: type[nn.Module] | None = None
    base_model_prefix = ""
    main_input_name = "input_ids"
    backend = "flax"
    framework = "flax"
    # Flax leaves (as "/"-paths) the model shares with another leaf: absent from checkpoints by design.
    _tied_weights_keys: list[str] = []
    # Canonical keys (regexes) checkpoints may carry that the model has no use for (buffers, tied copies).
    _keys_to_ignore_on_load_unexpected: list[str] = []
    _gradient_checkpointing = False

    def __init__(self, config: PretrainedConfig, input_shape=None, seed: int = 0, dtype=jnp.float32,
                 _do_init: bool = True, **module_kwargs):  # fmt: skip
        if not isinstance(config, PretrainedConfig):
            raise TypeError(f"{type(self).__name__} expects a PretrainedConfig, got {type(config).__name__}.")
        self.config = config
        self.dtype = dtype
        self.module = self.module_class(config=config, dtype=dtype, **module_kwargs)
        self.seed, self._key = seed, None
        self._params = self.init_weights(self.key) if _do_init else None

    @property
    def key(self):
        """The PRNG key of `seed`, made when first needed: making one compiles two small programs (~0.07 s),
        which a load that initialises nothing never needs."""
        if self._key is None:
            self._key = jax.random.PRNGKey(self.seed)
        return self._key

    # -- hooks ----------------------------------------------------------------------------------------
    def dummy_inputs(self) -> dict:
        """The smallest inputs that reach every parameter (for tracing shapes and initialising)."""
        return {"input_ids": jnp.zeros((1, 1), dtype="i4")}

    def init_weights(self, rng) -> dict:
        """Fresh parameters: the "params" tree, or {"params", "batch_stats"} for models with batch norm."""
        variables = self.module.init({"params": rng, "dropout": rng}, **self.dummy_inputs(), deterministic=True)
        variables = dict(variables)
        return variables if "batch_stats" in variables else variables["params"]

    def abstract_params(self) -> dict:
        """Shapes and dtypes of every parameter, computed without allocating or running anything (nor
        tracing the initialisers)."""
        with shapes_only() as repeats:
            # a new function per call: a trace jax kept from an earlier call would note no stacks
            tree = jax.eval_shape(lambda key: self.init_weights(key), jax.eval_shape(jax.random.PRNGKey, 0))
        return with_repeated_layers(tree, repeats, ("params", "batch_stats") if "batch_stats" in tree else ())

    # -- parameters -----------------------------------------------------------------------------------
    @property
    def params(self) -> dict:
        if self._params is None:
            raise ValueError("This model was built with _do_init=False and has no parameters yet; load or init them.")
        return self._params

    @params.setter
    def params(self, value) -> None:
        self._params = value

    def __call__(self, *args, params=None, train: bool = False, dropout_rng=None, **kwargs):
        rngs = {"dropout": dropout_rng} if dropout_rng is not None else {}
        if train and dropout_rng is None:
            rngs = {"dropout": jax.random.PRNGKey(0)}
        inputs = {k: (jnp.asarray(v) if isinstance(v, (np.ndarray, list)) else v) for k, v in kwargs.items()}
        inputs = {k: v for k, v in inputs.items() if v is not None}
        for flag in ("output_hidden_states", "output_attentions", "return_dict"):
            if inputs.get(flag) is None:
                inputs[flag] = getattr(self.config, flag)
        params = params if params is not None else self.params
        variables = params if "batch_stats" in params else {"params": params}
        with shapes_from_arguments(), rematerialising(self._gradient_checkpointing):
            return self.module.apply(variables, *args, deterministic=not train, rngs=rngs, **inputs)

    # -- training -------------------------------------------------------------------------------------
    def enable_gradient_checkpointing(self) -> None:
        """From now on, calls run each layer of the model's layer stacks under nn.remat: a backward pass
        recomputes a layer's activations instead of keeping them (same parameters, same gradients). Refused
        for models whose layers are not built in one of the stacks that can (see backends/flax/remat.py)."""
        with rematerialising(True) as stacks:
            self.abstract_params()
        if not stacks:
            raise NotImplementedError(f"{type(self).__name__} has no layer stack that supports gradient checkpointing "
                                      "in Flax (the encoder, decoder, seq2seq, GPT and CLIP stacks do); it is not "
                                      "built for this architecture.")  # fmt: skip
        self._gradient_checkpointing = True

    def disable_gradient_checkpointing(self) -> None:
        self._gradient_checkpointing = False

    @property
    def is_gradient_checkpointing(self) -> bool:
        return self._gradient_checkpointing

    def num_parameters(self) -> int:
        return sum(int(np.prod(leaf.shape)) for _, leaf in _leaves_with_paths(self.params))

    def to_bf16(self, params, mask=None):
        """`params` with their floating-point leaves cast to bfloat16 (those where `mask`, a tree of bools shaped
        like params, is True); the model's own params are left as they are."""
        return _cast_floating(params, jnp.bfloat16, mask)

    def to_fp16(self, params, mask=None):
        """As to_bf16, to float16."""
        return _cast_floating(params, jnp.float16, mask)

    def to_fp32(self, params, mask=None):
        """As to_bf16, to float32."""
        return _cast_floating(params, jnp.float32, mask)

    def resize_token_embeddings(self, new_num_tokens: int | None = None, pad_to_multiple_of: int | None = None,
                                mean_resizing: bool = True) -> None:
        """Grow or cut every parameter the vocabulary sizes (token tables, output projections, vocabulary biases)
        to `new_num_tokens` rows, replacing `model.params`, and set the config's vocab_size (transformers' Flax
        classes had no such method). New rows: see autoload.resize."""
        leaves = dict(_leaves_with_paths(self.params))
        names = {path: canonical_name(path) for path in leaves}
        shapes = {names[p]: kernel_shape_as_weight(v.shape) if p[-1] == "kernel" else tuple(v.shape)
                  for p, v in leaves.items()}  # fmt: skip
        tables = {names[path] for path in leaves if path[-1] == "embedding"}
        size, axes = resize.plan(type(self).__name__, self.config, shapes, tables, new_num_tokens, pad_to_multiple_of)
        chosen = [path for path in leaves if names[path] in axes]
        for path in chosen:
            sharding = getattr(leaves[path], "sharding", None)
            if sharding is not None and len(sharding.device_set) > 1:
                raise ValueError(f"{'/'.join(map(str, path))} is sharded over several devices: resize the token "
                                 "embeddings before placing the parameters on a mesh.")  # fmt: skip
        rng = np.random.default_rng()
        initializer_range = getattr(resize.text_config(self.config), "initializer_range", 0.02)
        params = jax.tree_util.tree_map(lambda leaf: leaf, self.params)  # new containers, the same leaves
        for path in chosen:
            leaf, kernel = leaves[path], path[-1] == "kernel"
            array = np.asarray(leaf).astype(np.float32)
            array = resize.resized(names[path], kernel_to_weight(array) if kernel else array, axes[names[path]],
                                   size, mean_resizing, initializer_range, rng)  # fmt: skip
            _set(params, path, jnp.asarray(weight_to_kernel(array) if kernel else array, dtype=leaf.dtype))
        self.params = params
        resize.set_vocab_size(self.config, size)
        self.module = self.module.clone()  # a new module: no compiled program keeps the old shapes
        self._jitted_step = None

    # -- construction ---------------------------------------------------------------------------------
    @classmethod
    def _from_config(cls, config, seed: int = 0, dtype=jnp.float32, **kwargs):
        config = copy.deepcopy(config)
        for key, value in kwargs.items():
            setattr(config, key, value)
        model = cls(config, seed=seed, dtype=dtype)
        if hasattr(model, "generate"):
            model.generation_config = GenerationConfig.from_model_config(config)
        return model

    @classmethod
    def from_config(cls, config, **kwargs):
        return cls._from_config(config, **kwargs)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *model_args, config=None, dtype=jnp.float32, **kwargs):
        """dtype: the computation dtype (parameters stay float32), or "auto": the checkpoint's floating dtype
        for both, so a bfloat16 checkpoint loads as bfloat16 without passing through float32.

        mesh (a jax.sharding.Mesh) with partition_rules (None: autoload.partitioning.default_partition_rules, or
        a list of (regex over the canonical parameter name, PartitionSpec of the canonical layout)): every
        parameter is created as a jax.Array sharded over the mesh, each device reading only its slice of the
        checkpoint's tensor."""
        with collection_paused():
            return cls._from_pretrained(pretrained_model_name_or_path, *model_args, config=config, dtype=dtype,
                                        **kwargs)  # fmt: skip

    @classmethod
    def _from_pretrained(cls, pretrained_model_name_or_path, *model_args, config=None, dtype=jnp.float32, **kwargs):
        seed = kwargs.pop("seed", 0)
        mesh, rules = kwargs.pop("mesh", None), kwargs.pop("partition_rules", None)
        if rules is not None and mesh is None:
            raise ValueError("partition_rules needs mesh=: pass the jax.sharding.Mesh to shard the parameters over.")
        placement = None
        if mesh is not None:
            from .sharding import MeshPlacement

            placement = MeshPlacement(mesh, rules)
        request = LoadRequest.parse(cls, pretrained_model_name_or_path, config, kwargs)
        state, where = request.read_weights("flax")
        params_dtype = None
        if isinstance(dtype, str) and dtype == "auto":
            params_dtype = dtype = _stored_float_dtype(state, request.config)
        keeps = np.dtype(params_dtype or jnp.float32).name
        with contextlib.nullcontext() if placement is not None else reserve_pages(state, keeps):
            model = cls(request.config, *model_args, seed=seed, dtype=dtype, _do_init=False)
            info = model._load_canonical(state, where, request.ignore_mismatched_sizes, params_dtype, placement)
        return request.finish(model, info, where)

    def _load_canonical(self, state, where: str, ignore_mismatched_sizes: bool, params_dtype=None,
                        placement=None) -> LoadingInfo:  # fmt: skip
        """Fill the parameter tree (shapes from abstract_params) from the checkpoint, one device transfer per
        array (kernels read straight into their layout); the leaves the checkpoint lacks come from init_leaves.
        params_dtype: the floating dtype of the loaded leaves (None: each leaf's own). placement
        (sharding.MeshPlacement): every leaf sharded over its mesh, each device reading only its slice; every
        leaf's sharding is checked before anything is read."""
        leaves = dict(_leaves_with_paths(self.abstract_params()))
        path_of = {canonical_name(path): path for path in leaves}
        targets = {name: _canonical_shape(path, leaves[path].shape) for name, path in path_of.items()}
        tree = _skeleton(leaves)
        shardings = {} if placement is None else \
            {path: placement.sharding(name, path, leaves[path].shape) for name, path in path_of.items()}

        def dtype_of_leaf(path):
            floating = jnp.issubdtype(leaves[path].dtype, jnp.floating)
            return params_dtype if params_dtype is not None and floating else leaves[path].dtype

        def read(name: str, source):
            # A kernel is read straight into its own layout, so the transfer adopts it without a copy.
            if path_of[name][-1] == "kernel":
                return source.read_transposed(kernel_axes(len(source.shape)))
            return source.read()

        def put(name: str, array, stored: str) -> None:
            path = path_of[name]
            if placement is not None:  # `array` is a TensorSource: each device reads its slice
                _set(tree, path, placement.load(array, stored, path, leaves[path].shape, dtype_of_leaf(path),
                                                shardings[path]))  # fmt: skip
                return
            _set(tree, path, _to_device(array, stored, dtype_of_leaf(path)))

        def initialise(names: list[str]) -> None:
            paths = [path_of[name] for name in names]
            for path, value in zip(paths, self.init_leaves(paths)):
                value = value if params_dtype is None or not jnp.issubdtype(value.dtype, jnp.floating) \
                    else value.astype(params_dtype)
                _set(tree, path, value if placement is None else jax.device_put(value, shardings[path]))

        tied = [canonical_name(path) for path in self._tied_weights_keys]
        info = load_canonical(self, targets, state, put, initialise, where=where, lazy=placement is not None,
                              read=read, ignore_mismatched_sizes=ignore_mismatched_sizes, tied=tied)  # fmt: skip
        self._params = tree
        return info

    def init_leaves(self, paths: list[tuple]) -> list:
        """Fresh values for just these leaves (paths into the init_weights tree), computing nothing else."""
        if not paths:
            return []
        return jax.jit(lambda rng: [_get(self.init_weights(rng), path) for path in paths])(self.key)

    # -- saving ---------------------------------------------------------------------------------------
    @saves_atomically  # staged, so an interrupted save never leaves a mix of old and new files
    def save_pretrained(self, save_directory, params=None, safe_serialization: bool = False, max_shard_size="10GB",
                        variant: str | None = None, **kwargs) -> None:  # fmt: skip
        from autoload.weights import write_sharded

        if os.path.isfile(save_directory):
            raise ValueError(f"save_directory {save_directory} is a file; pass a folder.")
        os.makedirs(save_directory, exist_ok=True)
        config = copy.deepcopy(self.config)
        config.architectures = [type(self).__name__.removeprefix("Flax")]
        config.save_pretrained(save_directory)
        params = params if params is not None else self.params
        if safe_serialization:  # each leaf comes to the host (gathered from its devices) only as it is written
            write_sharded(flax_weights_to_canonical(_HostLeaves(params)), save_directory, "safetensors",
                          max_shard_size, variant=check_variant(variant))  # fmt: skip
        else:
            write_sharded(_HostLeaves(params), save_directory, "flax", max_shard_size, variant=check_variant(variant))
