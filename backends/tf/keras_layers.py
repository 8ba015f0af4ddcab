"""The Keras layer classes the TF models build, with cheaper construction and the same behaviour.

A Keras layer's constructor assigns some forty attributes, and each assignment passes through Keras' tracker
and TensorFlow's (about 5 µs each, even for a plain flag); Keras also inspects the constructor's signature
once per layer. On a bert-base load (215 layers) that was a third of building the model. Here a plain value
(None, bool, int, float, str) replacing a plain value (or none) is stored directly, which is all both
trackers end up doing for it, and each class's constructor signature is worked out once.
"""

from __future__ import annotations

import inspect

import keras

_PLAIN = frozenset({type(None), bool, int, float, str})
# Per class, the names its classes define (properties among them), read at its first instance.
_class_names: dict[type, frozenset] = {}


class FastAttributes:
    """Mixin for keras.layers.Layer subclasses (put it first among the bases)."""

    __slots__ = ()

    def __new__(cls, *args, **kwargs):
        if cls not in _class_names:
            _remember_signatures(cls)
            _class_names[cls] = frozenset(name for base in cls.__mro__ for name in vars(base))
        return super().__new__(cls, *args, **kwargs)

    def __setattr__(self, name, value):
        # A class attribute may be a property whose setter Keras only calls when the value changes (`trainable`
        # propagates to sublayers): such names keep Keras' path, as does an instance __new__ did not make.
        class_names = _class_names.get(type(self))
        if (type(value) in _PLAIN and type(self.__dict__.get(name)) in _PLAIN
                and class_names is not None and name not in class_names):
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)


def _remember_signatures(cls: type) -> None:
    """Store the signature of cls.__init__ on the function (`__signature__`, which inspect.signature returns as
    it is), so Keras' per-layer inspection finds it instead of rebuilding it. Not `build`: Keras wraps each
    layer's bound build with functools.wraps, which would copy a stored signature, `self` included, onto the
    wrapper. Wrapped functions are left alone: getfullargspec does not follow the wrapper."""
    function = cls.__init__
    if inspect.isfunction(function) and not hasattr(function, "__wrapped__") and "__signature__" not in vars(function):
        function.__signature__ = inspect.signature(function)


def _fast(keras_class: type) -> type:
    """keras_class with FastAttributes first among its bases, under the same name."""
    return type(keras_class.__name__, (FastAttributes, keras_class), {"__module__": __name__})


Layer = _fast(keras.layers.Layer)
Model = _fast(keras.Model)
Dense = _fast(keras.layers.Dense)
Embedding = _fast(keras.layers.Embedding)
Identity = _fast(keras.layers.Identity)
LayerNormalization = _fast(keras.layers.LayerNormalization)
GroupNormalization = _fast(keras.layers.GroupNormalization)
BatchNormalization = _fast(keras.layers.BatchNormalization)
Conv1D = _fast(keras.layers.Conv1D)
Conv2D = _fast(keras.layers.Conv2D)
Conv3D = _fast(keras.layers.Conv3D)
Conv1DTranspose = _fast(keras.layers.Conv1DTranspose)
Conv2DTranspose = _fast(keras.layers.Conv2DTranspose)
