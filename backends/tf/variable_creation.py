"""Initialising a Keras variable from a checkpoint tensor with TensorFlow's two operations and little else.

`tf.Variable(value)` spends ~0.2 ms of Python per variable on creator stacks, name and attribute scopes and
argument checks (in a bert-base TF load, 199 variables: about a fifth of the load). For an eager variable
outside any strategy, creator scope, name scope or function, it amounts to a VarHandleOp with the value's
shape and dtype, the handle's shape data and an AssignVariableOp: `initialise_from` makes those and the same
ResourceVariable around them. Anywhere else, or on a TensorFlow whose internals moved, it takes Keras' own
path, so the result never depends on which path ran."""

from __future__ import annotations

import weakref

import tensorflow as tf

try:
    from keras.src.backend.common.stateless_scope import in_stateless_scope
    from tensorflow.python.eager import context
    from tensorflow.python.framework import ops
    from tensorflow.python.ops import gen_resource_variable_ops, handle_data_util
    from tensorflow.python.ops.resource_variable_ops import BaseResourceVariable, ResourceVariable
except ImportError:  # another TensorFlow / Keras layout: Keras' path only
    context = None

_direct = context is not None


def initialise_from(variable, value: tf.Tensor) -> None:
    """Initialise a pending Keras variable with `value`, a tensor of its shape and dtype."""
    global _direct
    if _direct and _plain_eager_scope():
        try:
            created = _resource_variable(value, variable.name, variable.trainable,
                                         variable._map_synchronization(variable.synchronization),
                                         variable._map_aggregation(variable.aggregation))  # fmt: skip
        except (AttributeError, TypeError):  # internals moved: Keras' path from now on
            _direct = False
        else:
            variable._initialize(created)
            variable._initializer = None
            return
    variable._initializer = lambda shape, dtype=None: value
    variable._deferred_initialize()


def _plain_eager_scope() -> bool:
    """Whether tf.Variable would go straight to an eager ResourceVariable named by its own name."""
    return (
        context.executing_eagerly()
        and not ops.inside_function()
        and not tf.distribute.has_strategy()
        and not ops.get_default_graph()._variable_creator_stack
        and not context.context().scope_name
        and not in_stateless_scope()
    )


def _resource_variable(value: tf.Tensor, name: str, trainable: bool, synchronization, aggregation):
    """What ResourceVariable(value, name=name, ...) builds eagerly: an anonymous resource (freed with its
    handle), its shape data for functions that read it, the value assigned, the Python object around it."""
    shape, dtype = value.shape, value.dtype
    with tf.init_scope():  # as Keras creates variables: not recorded on a gradient tape
        handle = gen_resource_variable_ops.var_handle_op(
            dtype=dtype, shape=shape, shared_name=context.anonymous_name(), debug_name=name + "/", container=""
        )
        handle_data_util.set_handle_data(handle, handle_data_util.create_handle_data(shape, dtype))
        gen_resource_variable_ops.assign_variable_op(handle, value)
    unique_id = f"{name}_{ops.uid()}"
    created = ResourceVariable.__new__(ResourceVariable)
    BaseResourceVariable.__init__(created, trainable=trainable, shape=shape, dtype=dtype, handle=handle,
                                  synchronization=synchronization, aggregation=aggregation, unique_id=unique_id,
                                  handle_name=name, in_graph_mode=False)  # fmt: skip
    handle._parent_trackable = weakref.ref(created)
    handle._name = name + ":0"
    handle._unique_id = unique_id
    return created
