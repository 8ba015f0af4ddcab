"""Parameter shapes from the arguments that declare them, instead of from running initialisers.

flax learns a parameter's shape by running its initialiser: init traces every initialiser (random sampling,
a key split per parameter) only to throw the values away, and every un-jitted apply traces each initialiser
once more under jax.eval_shape to check the stored parameter's shape (about 40 % of a bert-base forward
pass). A parameter declared with a (shape, dtype) argument needs neither, so within these blocks (per thread;
flax models outside them are untouched):
- shapes_only(): such a parameter is traced as zeros of its shape (for loading, which wants shapes alone);
- shapes_from_arguments(): an existing parameter's shape is checked against the declared shape.

Tracing a stack of layers built alike (the same class and arguments, none its index) traces the same
parameters once per layer (in bert-base the 11 layers after the first were ~80 % of it): within
shapes_only(), such a stack runs its first layer only and says so (`repeat_first_layer`), and
`with_repeated_layers` copies that layer's shapes to the others' names.
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


@contextlib.contextmanager
def shapes_only():
    """Within this block (this thread), parameters made from a shape are zeros instead of initialised, and
    stacks of like layers may trace their first layer only: the block yields the list of such stacks (what
    with_repeated_layers needs)."""
    before = getattr(_mode, "repeats", None)
    _mode.repeats = []
    try:
        with _within("init"):
            yield _mode.repeats
    finally:
        _mode.repeats = before


def repeat_first_layer(stack, names: list[str], given, returned) -> bool:
    """Within shapes_only(): whether the module `stack`, having run its layer names[0] (input array `given`,
    output `returned`), may skip its other layers, which are built as that one is; it may when the output
    has the input's shape and dtype (so each later layer would see what the first saw). Noted for
    with_repeated_layers; False outside shapes_only()."""
    repeats = getattr(_mode, "repeats", None)
    if repeats is None or getattr(_mode, "value", None) != "init" or len(names) < 2:
        return False
    alike = (np.shape(given), given.dtype) == (np.shape(returned), returned.dtype)
    if alike:
        repeats.append((tuple(stack.scope.path), tuple(names)))
    return alike


def as_if_every_layer_ran(count: int, states: tuple, hidden, *per_layer: tuple) -> tuple:
    """What a stack of `count` layers collects, when repeat_first_layer let it stop after the first: its
    hidden states so far (`states`) followed by the first layer's output `hidden` as each later layer's, and
    each per-layer tuple (one entry so far: caches, attention maps …) repeated for every layer."""
    return (states + (hidden,) * (count - 1), *(values * count for values in per_layer))


def with_repeated_layers(tree: dict, repeats: list, collections: tuple[str, ...] = ()) -> dict:
    """`tree` (what shapes_only() traced: the params tree, or the named variable collections) with each noted
    stack's first layer copied under its other layers' names."""
    roots = [tree[name] for name in collections] if collections else [tree]
    for path, names in dict.fromkeys(repeats):
        for root in roots:
            node = root
            for key in path:
                node = node.get(key) if isinstance(node, dict) else None
            if node is None or names[0] not in node:
                continue  # a collection this stack holds nothing of
            for name in names[1:]:
                node[name] = _copied(node[names[0]])
    return tree


def _copied(node):
    return {key: _copied(value) for key, value in node.items()} if isinstance(node, dict) else node


def tracing_shapes() -> bool:
    """True within shapes_only() on this thread: a module whose parameters are declared may skip computing
    what only its output's shape and dtype depend on."""
    return getattr(_mode, "value", None) == "init"


def shapes_from_arguments():
    """Within this block (this thread), applying a module checks each parameter against its declared shape
    without tracing its initialiser."""
    return _within("apply")
