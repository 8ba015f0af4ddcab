"""Parameter shapes without running initialisers.

Loading needs the shape and dtype of every parameter, which flax learns only by tracing init. Most of that
trace is the initialisers (random sampling, and a key split per parameter) whose values are thrown away, so
while shapes_only() is active a parameter created from (shape, dtype) arguments is traced as zeros of that
shape instead. The switch is per thread: an init running in another thread meanwhile is untouched.
"""

from __future__ import annotations

import contextlib
import threading

import jax.numpy as jnp
import numpy as np
from flax.core import scope as flax_scope

_active = threading.local()
_param = flax_scope.Scope.param


def _shape_of(init_args: tuple, init_kwargs: dict):
    shape = init_args[0] if init_args else init_kwargs.get("shape")
    if isinstance(shape, (tuple, list)) and all(isinstance(n, (int, np.integer)) for n in shape):
        return tuple(int(n) for n in shape)
    return None


def _param_shapes_only(scope, name, init_fn, *init_args, unbox=True, **init_kwargs):
    shape = _shape_of(init_args, init_kwargs)
    if getattr(_active, "on", False) and shape is not None and not scope.has_variable("params", name):
        dtype = init_args[1] if len(init_args) > 1 else init_kwargs.get("dtype", jnp.float32)
        scope.reserve(name, "params")
        value = jnp.zeros(shape, dtype)
        scope.put_variable("params", name, value)
        return value
    return _param(scope, name, init_fn, *init_args, unbox=unbox, **init_kwargs)


flax_scope.Scope.param = _param_shapes_only


@contextlib.contextmanager
def shapes_only():
    """Within this block (this thread), parameters made from a shape are zeros instead of initialised."""
    before = getattr(_active, "on", False)
    _active.on = True
    try:
        yield
    finally:
        _active.on = before
