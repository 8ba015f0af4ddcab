"""Parameter shapes from the arguments that declare them, instead of from running initialisers.

flax learns a parameter's shape by running its initialiser: init traces every initialiser (random sampling,
a key split per parameter) only to throw the values away, and every un-jitted apply traces each initialiser
once more under jax.eval_shape to check the stored parameter's shape (about 40 % of a bert-base forward
pass). A parameter declared with a (shape, dtype) argument needs neither, so within these blocks (per thread;
flax models outside them are untouched):
- shapes_only(): such a parameter is traced as zeros of its shape (for loading, which wants shapes alone);
- shapes_from_arguments(): an existing parameter's shape is checked against the declared shape.
"""

from __future__ import annotations

import contextlib
import threading

import jax.numpy as jnp
import numpy as np
from flax.core import meta
from flax.core import scope as flax_scope
from flax.errors import ScopeParamShapeError

_mode = threading.local()
_param = flax_scope.Scope.param


def _declared_shape(init_args: tuple, init_kwargs: dict):
    shape = init_args[0] if init_args else init_kwargs.get("shape")
    if isinstance(shape, (tuple, list)) and all(isinstance(n, (int, np.integer)) for n in shape):
        return tuple(int(n) for n in shape)
    return None


def _param_from_arguments(scope, name, init_fn, *init_args, unbox=True, **init_kwargs):
    mode = getattr(_mode, "value", None)
    shape = _declared_shape(init_args, init_kwargs) if mode else None
    if shape is None:
        return _param(scope, name, init_fn, *init_args, unbox=unbox, **init_kwargs)
    exists = scope.has_variable("params", name)
    if mode == "apply" and exists:
        scope.reserve(name, "params")
        value = scope.get_variable("params", name)
        value = meta.unbox(value) if unbox else value
        if np.shape(value) != shape:
            raise ScopeParamShapeError(name, scope.path_text, np.shape(value), shape)
        return value
    if mode == "init" and not exists:
        dtype = init_args[1] if len(init_args) > 1 else init_kwargs.get("dtype", jnp.float32)
        scope.reserve(name, "params")
        value = jnp.zeros(shape, dtype)
        scope.put_variable("params", name, value)
        return value
    return _param(scope, name, init_fn, *init_args, unbox=unbox, **init_kwargs)


flax_scope.Scope.param = _param_from_arguments


@contextlib.contextmanager
def _within(mode: str):
    before = getattr(_mode, "value", None)
    _mode.value = mode
    try:
        yield
    finally:
        _mode.value = before


def shapes_only():
    """Within this block (this thread), parameters made from a shape are zeros instead of initialised."""
    return _within("init")


def tracing_shapes() -> bool:
    """True within shapes_only() on this thread: a module whose parameters are declared may skip computing
    what only its output's shape and dtype depend on."""
    return getattr(_mode, "value", None) == "init"


def shapes_from_arguments():
    """Within this block (this thread), applying a module checks each parameter against its declared shape
    without tracing its initialiser."""
    return _within("apply")
