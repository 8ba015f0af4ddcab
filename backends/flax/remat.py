"""Gradient checkpointing for Flax models (`model.enable_gradient_checkpointing()`, as transformers' Flax
classes had): while a model with it on is called, its layer stacks build each layer under `nn.remat`, so a
backward pass recomputes a layer's activations from its input instead of keeping them. The parameter tree
is the same either way (remat keeps the layer's name and scope).

The switch is per thread and read when the stack builds its layers, which happens inside the model's call
(under the caller's `jax.jit` / `jax.grad` too), so no module field has to be threaded through every
architecture. A stack names which of its layer's positional arguments are Python values (flags such as
`deterministic`): remat traces every other argument, and keyword arguments must be arrays or None.
"""

from __future__ import annotations

import contextlib
import threading

from flax import linen as nn

_state = threading.local()
_wrapped: dict[tuple, type] = {}


@contextlib.contextmanager
def rematerialising(enabled: bool):
    """Within this block (this thread), checkpointed wraps layers in nn.remat when `enabled`; the block yields
    a list that gets one entry per stack that did."""
    before = getattr(_state, "used", None)
    _state.used = [] if enabled else None
    try:
        yield _state.used
    finally:
        _state.used = before


def checkpointed(cls: type, static_argnums: tuple[int, ...]) -> type:
    """`cls`, or `cls` under nn.remat within rematerialising(True). static_argnums: the positions of the
    layer's Python-valued call arguments, counted as nn.remat counts them (`self` is 0)."""
    used = getattr(_state, "used", None)
    if used is None:
        return cls
    used.append(cls.__name__)
    key = (cls, static_argnums)
    if key not in _wrapped:  # one class per layer class: flax keys its caches on the class
        _wrapped[key] = nn.remat(cls, static_argnums=static_argnums)
    return _wrapped[key]
