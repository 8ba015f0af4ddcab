"""The Keras layer classes the TF models build, with cheaper construction and the same behaviour.

A Keras layer's constructor assigns some forty attributes, and each assignment passes through Keras' tracker
and TensorFlow's (about 5 µs each, even for a plain flag); Keras also inspects the constructor's signature
once per layer. On a bert-base load (215 layers) that was a third of building the model. Here a value neither
tracker acts on is stored directly, which is all both end up doing for it: a plain value (None, bool, int,
float, str) replacing a plain value (or none), or a value of a type neither tracks (a function, an initializer,
a dtype policy, an input spec: not a container, not trackable, not a Keras metric or seed generator). Each
class's constructor signature is worked out once.
"""

from __future__ import annotations

import inspect

import keras
from keras.src.metrics.metric import Metric
from keras.src.random.seed_generator import SeedGenerator
from tensorflow.python.trackable.base import Trackable
from tensorflow.python.trackable.data_structures import NoDependency

_PLAIN = frozenset({type(None), bool, int, float, str})
# What Keras' tracker or TensorFlow's acts on: anything else is stored as it is by both.
_TRACKED = (Trackable, NoDependency, Metric, SeedGenerator, list, tuple, dict, set)
_untracked_types: dict[type, bool] = {}
# Per class, the names its classes define as properties (or other data descriptors), read at its first instance.
_class_properties: dict[type, frozenset] = {}


class FastAttributes:
    """Mixin for keras.layers.Layer subclasses (put it first among the bases)."""

    __slots__ = ()

    def __new__(cls, *args, **kwargs):
        if cls not in _class_properties:
            _remember_signatures(cls)
            _class_properties[cls] = frozenset(name for base in cls.__mro__ for name, value in vars(base).items()
                                               if hasattr(type(value), "__set__"))  # fmt: skip
        return super().__new__(cls, *args, **kwargs)

    def __setattr__(self, name, value):
        # A class attribute may be a property whose setter Keras only calls when the value changes (`trainable`
        # propagates to sublayers): such names keep Keras' path, as does an instance __new__ did not make.
        properties = _class_properties.get(type(self))
        if properties is not None and name not in properties and (
                _untracked(type(value)) if type(value) not in _PLAIN else type(self.__dict__.get(name)) in _PLAIN):
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)


def _untracked(kind: type) -> bool:
    untracked = _untracked_types.get(kind)
    if untracked is None:
        untracked = _untracked_types[kind] = not issubclass(kind, _TRACKED)
    return untracked


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
