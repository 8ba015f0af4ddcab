"""TFPreTrainedModel: the Keras 3 base class. Building, loading from canonical weights, saving, training.

Layers carry transformers' TF names, so each variable's path (`tf_bert_model/bert/…/kernel`) is the name
tf_model.h5 files use, and the shared converter in autoload.convert.tf maps it to the canonical name.
"""

from __future__ import annotations

import copy
import functools
import inspect
import math
import mmap
import os
import re
import threading
from collections.abc import Mapping

import keras
import numpy as np
import tensorflow as tf

from autoload import resize
from autoload.atomic_save import saves_atomically
from autoload.configuration import PretrainedConfig
from autoload.convert.layout import kernel_axes, kernel_shape_as_weight, kernel_to_weight, weight_to_kernel
from autoload.convert.tf import canonical_name, is_kernel
from autoload.generation import GenerationConfig
from autoload.loading import LoadingInfo, LoadRequest, check_variant, collection_paused, load_canonical, reserve_pages
from autoload.model_mixin import ModelMixin
from autoload.weights.arrays import ALIGNMENT as _ALIGNMENT

from . import fitting, keras_layers
from .variable_creation import initialise_from

if keras.backend.backend() != "tensorflow":
    raise ImportError(
        f"Keras is configured for the {keras.backend.backend()!r} backend; autoload's TF models need "
        "KERAS_BACKEND=tensorflow set before keras is imported."
    )

class _BuildWithoutValues(keras.StatelessScope):
    """Build a model for loading: the variables it creates stay uninitialised (Keras defers their
    initialisation, so nothing is allocated for them), and reading one during the building call gives zeros of
    its shape. Loading then creates each variable from its checkpoint array, or runs its own initializer."""

    def __init__(self):
        super().__init__(initialize_variables=False)
        self._zeros = {}  # one placeholder per shape and dtype

    def get_current_value(self, variable):
        value = super().get_current_value(variable)
        if value is None and getattr(variable, "_value", True) is None:
            key = (tuple(variable.shape), variable.dtype)
            if key not in self._zeros:
                self._zeros[key] = _unwritten_zeros(key[0], tf.as_dtype(variable.dtype))
            value = self._zeros[key]
        return value


def _unwritten_zeros(shape: tuple, dtype: tf.DType) -> tf.Tensor:
    """Zeros of a weight's shape that cost neither a fill nor memory: a fresh anonymous mapping reads as zeros
    (every page the kernel's one zero page) until written, and the tensor adopts it without a copy. The
    building call reads these (an embedding table only a row or two of), never writes them."""
    bits = {tf.bfloat16: np.uint16, tf.float16: np.uint16}.get(dtype, dtype.as_numpy_dtype)
    nbytes = math.prod(shape) * np.dtype(bits).itemsize
    if nbytes < 1 << 20 or np.dtype(bits).kind not in "biuf":
        return tf.zeros(shape, dtype)
    value = _adopt(np.frombuffer(mmap.mmap(-1, nbytes), bits).reshape(shape))
    return tf.bitcast(value, dtype) if value.dtype != dtype else value


def _initialise_pending(variables=None) -> None:
    """Initialise `variables` (by default every variable a _BuildWithoutValues left pending) by their own
    initializers, or the checkpoint's array where loading set one, and remove them from Keras' list of
    pending variables."""
    pending = _pending()
    chosen = pending if variables is None else variables
    for variable in chosen:
        if variable._value is None:
            variable._deferred_initialize()
    _forget_pending(chosen)


def _pending() -> list:
    from keras.src.backend.common import global_state

    return list(global_state.get_global_attribute("uninitialized_variables") or [])


def _forget_pending(variables=None) -> None:
    """Remove `variables` (by default all) from Keras' list of variables awaiting initialisation."""
    from keras.src.backend.common import global_state

    drop = {id(v) for v in (_pending() if variables is None else variables)}
    global_state.set_global_attribute("uninitialized_variables", [v for v in _pending() if id(v) not in drop])


def weights_init(config, initializer=None):
    """The initializer for a new weight: `initializer`, by default a truncated normal of the config's
    initializer_range for kernels and embeddings."""
    if initializer is not None:
        return initializer
    return keras.initializers.TruncatedNormal(stddev=getattr(config, "initializer_range", 0.02))


def dense(config, units: int, name: str, use_bias: bool = True) -> keras_layers.Dense:
    return keras_layers.Dense(units, name=name, use_bias=use_bias, kernel_initializer=weights_init(config))


class Layer(keras_layers.Layer):
    """Base for composite layers. Each builds, from the sizes it knows (input_sizes), the sublayers it can build
    without a call, so a model made of such layers creates its variables with no call at all (a building call
    pays Keras' and TensorFlow's per-op cost in every layer: half a second of CPU on bert-base). Sublayers it
    does not list build on their first call (never by a symbolic pass per layer, which costs seconds)."""

    def input_sizes(self) -> dict:
        """{sublayer: the size of the last axis of its input, or its whole input shape (a tuple, as
        channels_last gives a convolution), or None where its weights need none} (see build_sublayers)."""
        return {}

    def build(self, input_shape=None):
        build_sublayers(self)
        self.built = True


# Tests turn it off to compare with what a building call alone creates.
BUILD_FROM_SIZES = True


def build_sublayers(layer) -> None:
    """Build the sublayers `layer.input_sizes()` lists, each within the layer's name scope (a sublayer's build
    opens its own), so variable paths are those a building call gives. A size builds the sublayer on
    (None, size); a tuple is the whole input shape (a convolution or BatchNormalization fixes its input's rank;
    a Keras Embedding's table takes any); None builds our own layers and sub-models, which know their sizes,
    and leaves a Keras layer to its first call."""
    if not BUILD_FROM_SIZES:
        return
    for sublayer, size in layer.input_sizes().items():
        if sublayer is None or sublayer.built:
            continue
        if size is not None:
            sublayer.build(size if isinstance(size, tuple) else (None, size))
        elif isinstance(sublayer, (Layer, NamedWeight, TFPreTrainedModel)):
            sublayer.build()


def channels_last(channels: int | None, spatial=(None, None)) -> tuple | None:
    """The input shape input_sizes gives a channels-last convolution (or BatchNormalization) on maps of
    `channels`: (None, *spatial, channels); None where the channels are unknown (it builds on its first call).
    spatial: the map's other axes, (None,) for a 1-D convolution over time."""
    return None if channels is None else (None, *spatial, channels)


class Dropout(keras_layers.Layer):
    """keras.layers.Dropout(rate) drawing its masks from the seed generator of the model being called (every
    TFPreTrainedModel has one), not from a generator and variable of its own: making those took about a tenth
    of a bert-base load (37 dropout layers). Called outside a model's call, it makes its own generator."""

    def __init__(self, rate: float, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate <= 1:
            raise ValueError(f"Dropout rate must be between 0 and 1, got {rate}.")
        self.rate = float(rate)
        self.own_seed_generator = None
        self.built = True

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        return keras.random.dropout(inputs, self.rate, seed=self._seed_generator())

    def _seed_generator(self):
        if _calling.models:
            return _calling.models[-1].dropout_seed_generator
        if self.own_seed_generator is None:
            self.own_seed_generator = keras.random.SeedGenerator(name="seed_generator")
        return self.own_seed_generator


class _Calling(threading.local):
    models: list  # the TFPreTrainedModels whose call is running on this thread, innermost last

    def __init__(self):
        self.models = []


_calling = _Calling()


class NamedWeight(keras_layers.Layer):
    """A layer holding one variable, for weights transformers' TF classes create under a name scope
    (e.g. `word_embeddings/weight`)."""

    def __init__(self, shape, weight_name: str, initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self._spec = (weight_name, tuple(shape), initializer)
        self.weight = None

    def build(self, input_shape=None):
        # Created here, not in __init__, so the variable's path carries the enclosing layers' names.
        if self.weight is None:
            name, shape, initializer = self._spec
            self.weight = self.add_weight(name=name, shape=shape, initializer=initializer)
        self.built = True

    def call(self, ids):
        return tf.gather(self.weight, ids)


def _snake(name: str) -> str:
    """Keras 2's automatic layer names (TFBertForMaskedLM -> tf_bert_for_masked_lm), which h5 files keep."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


class TFPreTrainedModel(ModelMixin, keras_layers.Model):
    config_class: type[PretrainedConfig] | None = None
    base_model_prefix = ""
    main_input_name = "input_ids"
    backend = "tf"
    framework = "tf"
    # Canonical keys tied to another weight (shared embeddings): absent from checkpoints by design.
    _tied_weights_keys: list[str] = []
    # Patterns of checkpoint keys the model has no variable for by design (aliases, unused tables).
    _keys_to_ignore_on_load_unexpected: list[str] = []
    # tf_model.h5 only: a variable also written under a second name (name suffix -> the copy's suffix), where
    # transformers' TF class keeps two variables for one canonical weight and reads the copy.
    _h5_copies: dict[str, str] = {}
    # tf_model.h5 only: a variable written under another name and layer group (name after the model scope ->
    # (group, name)), where transformers' TF class gives it a layer of its own outside the scopes its Keras
    # layers make (BART's `model.shared`) or a top-level weight with no scope (`final_logits_bias`).
    _h5_renames: dict[str, tuple[str, str]] = {}
    _push_safetensors = False  # push_to_hub writes tf_model.h5, as transformers' TF classes did
    # TF base models nest their layers under the base prefix (`bert/…`) where PyTorch base models
    # have none; their canonical names drop it, so both frameworks name the same tensor alike.
    is_base_model = False

    def canonical_name(self, tf_name: str) -> str:
        name = canonical_name(tf_name)
        dotted = self.base_model_prefix + "."
        return name[len(dotted) :] if self.is_base_model and name.startswith(dotted) else name

    def __init__(self, config: PretrainedConfig, *args, **kwargs):
        if not isinstance(config, PretrainedConfig):
            raise TypeError(f"{type(self).__name__} expects a PretrainedConfig, got {type(config).__name__}.")
        super().__init__(name=kwargs.pop("name", _snake(type(self).__name__)))
        self.config = config
        self.dropout_seed_generator = keras.random.SeedGenerator(name="dropout_seed_generator")  # see Dropout

    # -- calling --------------------------------------------------------------------------------------
    def dummy_inputs(self) -> dict:
        return {"input_ids": np.zeros((1, 2), dtype=np.int32)}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "call" in cls.__dict__:
            cls.call = _taking_dicts_and_config_flags(cls.__dict__["call"])

    # -- fit() / evaluate(): targets as labels or matched to outputs (backends/tf/fitting.py) ----------------
    def train_step(self, data):
        return super().train_step(self._batch_with_labels(data))

    def test_step(self, data):
        return super().test_step(self._batch_with_labels(data))

    def predict_step(self, data):
        """A plain dict of the output's fields, which Keras can gather across batches (predict() returns it)."""
        output = super().predict_step(data)
        return dict(output.items()) if isinstance(output, Mapping) else output

    def _batch_with_labels(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if y is not None and self._compile_loss is None:
            x = fitting.with_labels(self, x, y)
        return x, y, sample_weight

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, **kwargs):
        """Without a compiled loss (or without targets), the loss the model computes from its labels."""
        if self._compile_loss is None or y is None:
            loss = y_pred.get("loss") if isinstance(y_pred, Mapping) else None
            if loss is None:
                raise ValueError(
                    f"{type(self).__name__} got no labels to compute its loss from: pass them in the inputs "
                    f"({', '.join(fitting.label_arguments(self.call)) or 'it takes none'}) or as fit()'s targets, "
                    "or compile(loss=...) with a Keras loss."
                )
            return tf.add_n([tf.reduce_mean(loss), *self.losses])
        return super().compute_loss(x=x, y=fitting.single_target(y), y_pred=fitting.outputs_for_targets(y_pred, y),
                                     sample_weight=sample_weight, **kwargs)  # fmt: skip

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        return super().compute_metrics(x, fitting.single_target(y), fitting.outputs_for_targets(y_pred, y),
                                       sample_weight=sample_weight)  # fmt: skip

    def input_sizes(self) -> dict:
        return {}

    def build(self, input_shape=None):
        build_sublayers(self)
        self.built = True

    def build_weights(self) -> None:
        """Create every variable: from the sizes the layers know, and by one eager call on tiny inputs where
        some layer is left unbuilt."""
        if not getattr(self, "_weights_built", False):
            if not self.built:  # the shapes a building call records (Keras' default SavedModel signature reads them)
                self.build({name: np.shape(value) for name, value in self.dummy_inputs().items()})
            self._weights_built_by = "sizes"
            if not all(layer.built for layer in self._flatten_layers(include_self=False)):
                self(self.dummy_inputs(), training=False)
                self._weights_built_by = "call"
            self._weights_built = True

    # -- construction ---------------------------------------------------------------------------------
    @classmethod
    def _from_config(cls, config, **kwargs):
        config = copy.deepcopy(config)
        for key, value in kwargs.items():
            setattr(config, key, value)
        model = cls(config)
        model.build_weights()
        if hasattr(model, "generate"):
            model.generation_config = GenerationConfig.from_model_config(config)
        return model

    @classmethod
    def from_config(cls, config, **kwargs):
        return cls._from_config(config, **kwargs)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *model_args, config=None, **kwargs):
        with collection_paused():
            return cls._from_pretrained(pretrained_model_name_or_path, *model_args, config=config, **kwargs)

    @classmethod
    def _from_pretrained(cls, pretrained_model_name_or_path, *model_args, config=None, **kwargs):
        request = LoadRequest.parse(cls, pretrained_model_name_or_path, config, kwargs)
        state, where = request.read_weights("tf")
        try:
            with reserve_pages(state, keras.config.dtype_policy().variable_dtype):
                with _BuildWithoutValues():
                    model = cls(request.config, *model_args)
                    model.build_weights()
                info = model._load_canonical(state, where, request.ignore_mismatched_sizes)
        except BaseException:
            _forget_pending()  # the model is dropped: initialise none of its variables
            raise
        _initialise_pending()  # what the checkpoint does not cover (e.g. a dropout layer's seed state)
        return request.finish(model, info, where)

    def _variables_by_tf_name(self) -> dict[str, tf.Variable]:
        return {v.path: v for v in self.weights}

    def _load_canonical(self, state, where: str, ignore_mismatched_sizes: bool) -> LoadingInfo:
        """Create each variable of a model built by _BuildWithoutValues from its checkpoint array (one copy,
        into the variable's own memory); the variables the checkpoint lacks get their own initializers."""
        by_name: dict[str, list] = {}
        for tf_name, variable in self._variables_by_tf_name().items():
            by_name.setdefault(self.canonical_name(tf_name), []).append(variable)
        targets = {name: _canonical_shape(variables[0]) for name, variables in by_name.items()}

        def read(name: str, source):
            # A kernel is read straight into its own layout, so the variable can adopt it without a copy.
            if is_kernel(by_name[name][0].path):
                return source.read_transposed(kernel_axes(len(source.shape)))
            return source.read()

        def put(name: str, array, stored: str) -> None:
            variables = by_name[name]
            for i, variable in enumerate(variables):  # variables may adopt the array: one each
                _create_from(variable, array if i == 0 else array.copy(), stored)

        def initialise(names: list[str]) -> None:
            _initialise_pending([variable for name in names for variable in by_name[name]])

        return load_canonical(self, targets, state, put, initialise, where=where, read=read,
                              ignore_mismatched_sizes=ignore_mismatched_sizes)  # fmt: skip

    def num_parameters(self, only_trainable: bool = False) -> int:
        self.build_weights()
        chosen = self.trainable_weights if only_trainable else self.weights
        return sum(math.prod(variable.shape) for variable in {id(v): v for v in chosen}.values())

    # -- vocabulary -----------------------------------------------------------------------------------
    def resize_token_embeddings(self, new_num_tokens: int | None = None, pad_to_multiple_of: int | None = None,
                                mean_resizing: bool = True):
        """Grow or cut every variable the vocabulary sizes (token tables, output projections, vocabulary biases)
        to `new_num_tokens` rows, in place, and set the config's vocab_size; returns the first such variable
        (the input embeddings). New rows: see autoload.resize. Resize before compile() or a strategy's scope."""
        self.build_weights()
        variables = [(variable, self.canonical_name(variable.path)) for variable in self.weights]
        tables = {name for variable, name in variables if len(variable.shape) == 2 and not is_kernel(variable.path)}
        size, axes = resize.plan(type(self).__name__, self.config, {n: _canonical_shape(v) for v, n in variables},
                                 tables, new_num_tokens, pad_to_multiple_of)  # fmt: skip
        chosen = [(variable, name) for variable, name in variables if name in axes]
        distributed = any(isinstance(variable._value, tf.distribute.DistributedValues) for variable, _ in chosen)
        if distributed or tf.distribute.has_strategy():
            raise ValueError("Resize the token embeddings before entering a distribution strategy's scope: the "
                             "variables to replace are distributed.")  # fmt: skip
        rng = np.random.default_rng()
        initializer_range = getattr(resize.text_config(self.config), "initializer_range", 0.02)
        new: dict[str, np.ndarray] = {}  # per canonical name: a weight kept in two variables gets the same rows
        for variable, name in chosen:
            kernel = is_kernel(variable.path)
            if name not in new:
                array = variable.numpy().astype(np.float32)
                new[name] = resize.resized(name, kernel_to_weight(array) if kernel else array, axes[name], size,
                                           mean_resizing, initializer_range, rng)  # fmt: skip
            value = tf.cast(weight_to_kernel(new[name]) if kernel else new[name], variable.dtype)
            # the Keras variable stays (layers and trackers hold it); its TensorFlow variable is replaced
            variable._value = tf.Variable(value, trainable=variable.trainable, name=variable._value.name.split(":")[0])
            variable._shape = tuple(value.shape)
        resize.set_vocab_size(self.config, size)
        self.__dict__.pop("_step_graphs", None)  # compiled generation steps captured the old variables
        self.train_function = self.test_function = self.predict_function = None
        return chosen[0][0]

    # -- serving --------------------------------------------------------------------------------------
    @property
    def input_signature(self) -> dict[str, tf.TensorSpec]:
        """The inputs a served model takes: its dummy inputs with a free batch size (and free lengths for
        token ids and waveforms; images and log-mel features keep the size the config fixes), plus the
        attention mask and, where the config has token types, token_type_ids."""
        specs = {}
        for name, value in self.dummy_inputs().items():
            value = np.asarray(value)
            if value.dtype == bool:  # optional masks such as bool_masked_pos are not served
                continue
            integer = np.issubdtype(value.dtype, np.integer)
            shape = [None] * value.ndim if integer or value.ndim == 2 else [None, *value.shape[1:]]
            specs[name] = tf.TensorSpec(shape, tf.int32 if integer else tf.float32, name=name)
        main = next((k for k in ("input_ids", "input_values") if k in specs), None)
        if main is not None:
            specs["attention_mask"] = tf.TensorSpec(specs[main].shape, tf.int32, name="attention_mask")
        if "input_ids" in specs and (getattr(self.config, "type_vocab_size", 0) or 0) > 1:
            specs["token_type_ids"] = tf.TensorSpec(specs["input_ids"].shape, tf.int32, name="token_type_ids")
        return specs

    def serving_output(self, output) -> dict:
        """The output's tensors by field name; a tuple of tensors (a backbone's feature_maps) as
        `<field>_0`, `<field>_1`, ... as the reference fixtures name them. The cache is not served."""
        served = {}
        for key, value in output.items():
            if tf.is_tensor(value):
                served[key] = value
            elif key != "past_key_values" and isinstance(value, (tuple, list)) and all(map(tf.is_tensor, value)):
                served.update({f"{key}_{i}": item for i, item in enumerate(value)})
        return served

    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None, **kwargs):
        """A SavedModel for TF Serving whose `serve` endpoint (also `serving_default`) takes the tensors of
        `input_signature` by name and returns the output's tensor fields by name."""
        if format != "tf_saved_model" or input_signature is not None:
            return super().export(filepath, format=format, verbose=verbose, input_signature=input_signature, **kwargs)
        self.build_weights()
        archive = keras.export.ExportArchive()
        archive.track(self)
        archive.add_endpoint("serve", lambda inputs: self.serving_output(self(inputs, training=False)),
                             input_signature=[self.input_signature])  # fmt: skip
        archive.write_out(os.fspath(filepath), verbose=bool(verbose))

    # -- saving ---------------------------------------------------------------------------------------
    @saves_atomically  # staged, so an interrupted save never leaves a mix of old and new files
    def save_pretrained(self, save_directory, safe_serialization: bool = False, max_shard_size="10GB",
                        saved_model: bool = False, version: int = 1, variant: str | None = None, **kwargs):  # fmt: skip
        from autoload.convert.layout import kernel_to_weight
        from autoload.convert.tf import is_kernel
        from autoload.weights import write_sharded

        if os.path.isfile(save_directory):
            raise ValueError(f"save_directory {save_directory} is a file; pass a folder.")
        os.makedirs(save_directory, exist_ok=True)
        self.build_weights()
        config = copy.deepcopy(self.config)
        config.architectures = [type(self).__name__.removeprefix("TF")]
        config.save_pretrained(save_directory)
        variables = self._variables_by_tf_name()
        if safe_serialization:
            state = {}
            for tf_name, variable in variables.items():
                array = variable.numpy()
                state.setdefault(self.canonical_name(tf_name), kernel_to_weight(array) if is_kernel(tf_name) else array)
            write_sharded(state, save_directory, "safetensors", max_shard_size, variant=check_variant(variant))
        else:
            named, groups = {}, {}
            for tf_name, variable in variables.items():
                group, renamed = self._h5_renames.get(tf_name.partition("/")[2], (None, None))
                if renamed is None:
                    named[tf_name + ":0"] = variable
                else:
                    named[renamed + ":0"], groups[renamed + ":0"] = variable, group
                for suffix, copy_suffix in self._h5_copies.items():
                    if tf_name.endswith(suffix):
                        named[tf_name.removesuffix(suffix) + copy_suffix + ":0"] = variable
            write_sharded(_NumpyView(named), save_directory, "tf", max_shard_size, variant=check_variant(variant),
                          h5_groups=groups)  # fmt: skip
        if saved_model:  # transformers' TF layout: saved_model/<version>/
            self.export(os.path.join(save_directory, "saved_model", str(version)))


class _NumpyView(Mapping):
    """Variables read one at a time, so a sharded save holds one shard in memory; shapes and dtypes come
    without reading any data."""

    def __init__(self, variables: dict):
        self._variables = variables

    def __getitem__(self, name):
        return self._variables[name].numpy()

    def __iter__(self):
        return iter(self._variables)

    def __len__(self):
        return len(self._variables)

    def shape(self, name):
        return tuple(self._variables[name].shape)

    def dtype(self, name):
        return self._variables[name].dtype


_CONFIG_FLAGS = ("output_hidden_states", "output_attentions", "return_dict")
# Plain (non-tensor) options a model may take through **kwargs. Keras binds a call's **kwargs as one
# argument and refuses one that mixes tensors with plain values, so these are declared by name.
_OPTIONS = (*_CONFIG_FLAGS, "use_cache", "interpolate_pos_encoding", "output_router_logits", "return_loss")


def _taking_dicts_and_config_flags(call):
    """Wrap a model's `call` so that `model(dict_of_inputs)` (what fit() and a SavedModel signature pass)
    works like `model(**inputs)`, and output flags left at None take the config's value."""
    signature = inspect.signature(call)
    parameters = list(signature.parameters.values())
    open_kwargs = bool(parameters) and parameters[-1].kind is inspect.Parameter.VAR_KEYWORD
    flags = [f for f in _CONFIG_FLAGS if open_kwargs or f in signature.parameters]

    @functools.wraps(call)
    def wrapped(self, *args, **kwargs):
        if args and isinstance(args[0], Mapping):
            kwargs = {**args[0], **kwargs}
            args = args[1:]
        for flag in flags:
            if kwargs.get(flag) is None:
                kwargs[flag] = getattr(self.config, flag)
        _calling.models.append(self)
        try:
            return call(self, *args, **kwargs)
        finally:
            _calling.models.pop()

    if open_kwargs:
        named = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None)
                 for name in _OPTIONS if name not in signature.parameters]  # fmt: skip
        wrapped.__signature__ = signature.replace(parameters=parameters[:-1] + named + parameters[-1:])
    return wrapped


def _canonical_shape(variable) -> tuple:
    shape = tuple(variable.shape)
    return kernel_shape_as_weight(shape) if is_kernel(variable.path) else shape


def _create_from(variable, array: np.ndarray, stored: str) -> None:
    """Initialise a pending variable with an array in its layout (kernels already transposed). The variable
    adopts the array's memory when it can (no copy at all); otherwise TensorFlow makes the one copy,
    reinterpreting bfloat16 bits and converting the dtype only when it differs."""
    value = _adopt(array)
    if stored == "bfloat16" and value.dtype == tf.uint16:
        value = tf.bitcast(value, tf.bfloat16)
    if value.dtype != variable.dtype:
        value = tf.cast(value, variable.dtype)
    initialise_from(variable, value)  # left on Keras' pending list, which the end of the load clears at once


def _adopt(array: np.ndarray) -> tf.Tensor:
    """A tensor sharing the array's memory through DLPack where TensorFlow accepts it (C-contiguous, aligned,
    a numeric dtype); tf.convert_to_tensor would copy it first."""
    if array.flags.c_contiguous and array.dtype.kind in "biuf" and array.ctypes.data % _ALIGNMENT == 0 and array.size:
        try:
            return tf.experimental.dlpack.from_dlpack(array.__dlpack__())
        except (TypeError, ValueError, BufferError, tf.errors.InvalidArgumentError):
            pass
    return tf.convert_to_tensor(array)
