"""FlaxPreTrainedModel: a flax.linen module plus its parameter tree, loaded from canonical weights.

Parameters are never initialised just to be overwritten: loading traces the module with
jax.eval_shape (shapes only, no compute), fills that tree from the checkpoint through the shared
converter, and initialises only leaves the checkpoint lacks. Those come from a jitted init that returns
just the missing leaves: XLA drops every other initialiser (and the dummy forward pass) as dead code, and
flax derives each parameter's random key from its path, so the values equal a full init's.
"""

from __future__ import annotations

import copy
import os
import re

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from autoload.atomic_save import saves_atomically
from autoload.configuration import PretrainedConfig
from autoload.convert.flax import canonical_name, canonical_to_flax, flax_to_canonical_state
from autoload.errors import WeightMismatchError
from autoload.generation import GenerationConfig
from autoload.loading import (
    OPTIONAL_BUFFERS,
    LoadingInfo,
    LoadRequest,
    align_prefix,
    fit_shape,
    same_up_to_unit_axes,
    shape_of,
)


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


class FlaxPreTrainedModel:
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

    def __init__(self, config: PretrainedConfig, input_shape=None, seed: int = 0, dtype=jnp.float32,
                 _do_init: bool = True, **module_kwargs):  # fmt: skip
        if not isinstance(config, PretrainedConfig):
            raise TypeError(f"{type(self).__name__} expects a PretrainedConfig, got {type(config).__name__}.")
        self.config = config
        self.dtype = dtype
        self.module = self.module_class(config=config, dtype=dtype, **module_kwargs)
        self.key = jax.random.PRNGKey(seed)
        self._params = self.init_weights(self.key) if _do_init else None

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
        """Shapes and dtypes of every parameter, computed without allocating or running anything."""
        return jax.eval_shape(self.init_weights, self.key)

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
        return self.module.apply(variables, *args, deterministic=not train, rngs=rngs, **inputs)

    def num_parameters(self) -> int:
        return sum(int(np.prod(leaf.shape)) for _, leaf in _leaves_with_paths(self.params))

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
        seed = kwargs.pop("seed", 0)
        request = LoadRequest.parse(cls, pretrained_model_name_or_path, config, kwargs)
        state, where = request.read_weights("flax")
        model = cls(request.config, *model_args, seed=seed, dtype=dtype, _do_init=False)
        info = model._load_canonical(state, where, request.ignore_mismatched_sizes)
        return request.finish(model, info, where)

    def _load_canonical(self, state, where: str, ignore_mismatched_sizes: bool) -> LoadingInfo:
        info = LoadingInfo()
        target = self.abstract_params()
        expected_names = {canonical_name(path) for path, _ in _leaves_with_paths(target)}
        state = align_prefix(expected_names, state, self.base_model_prefix)
        tree, missing = canonical_to_flax(state, target)
        tied = set(self._tied_weights_keys)
        for path, leaf in _leaves_with_paths(target):
            value = _get(tree, path)
            name = canonical_name(path)
            if value is None:
                if "/".join(map(str, path)) not in tied:
                    info.missing_keys.append(name)
                continue
            if not same_up_to_unit_axes(tuple(value.shape), tuple(leaf.shape)):
                ckpt_shape = shape_of(state, name)
                if not ignore_mismatched_sizes:
                    raise WeightMismatchError(
                        f"{name} has shape {ckpt_shape} in {where} but the model needs {tuple(leaf.shape)} "
                        f"(flax layout) in {type(self).__name__}. Check that the config matches the checkpoint, or "
                        "pass ignore_mismatched_sizes=True to re-initialise it."
                    )
                info.mismatched_keys.append((name, ckpt_shape, tuple(leaf.shape)))
                _set(tree, path, None)
                continue
            _set(tree, path, jnp.asarray(fit_shape(value, tuple(leaf.shape)), dtype=leaf.dtype))
        ignore = [re.compile(pattern) for pattern in self._keys_to_ignore_on_load_unexpected]
        info.unexpected_keys = [k for k in state if k not in expected_names and not k.endswith(OPTIONAL_BUFFERS)
                                and not any(p.search(k) for p in ignore)]  # fmt: skip
        absent = [path for path, value in _leaves_with_paths(tree) if value is None]
        for path, value in zip(absent, self.init_leaves(absent)):
            _set(tree, path, value)
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
                        **kwargs) -> None:  # fmt: skip
        from autoload.weights import flatten_tree, write_sharded

        if os.path.isfile(save_directory):
            raise ValueError(f"save_directory {save_directory} is a file; pass a folder.")
        os.makedirs(save_directory, exist_ok=True)
        config = copy.deepcopy(self.config)
        config.architectures = [type(self).__name__.removeprefix("Flax")]
        config.save_pretrained(save_directory)
        params = jax.tree_util.tree_map(np.asarray, params if params is not None else self.params)
        if safe_serialization:
            write_sharded(flax_to_canonical_state(params), save_directory, "safetensors", max_shard_size)
        else:
            write_sharded(flatten_tree(params), save_directory, "flax", max_shard_size)
