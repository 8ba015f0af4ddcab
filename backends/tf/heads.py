"""Task heads in TensorFlow (Keras 3), written once: an architecture's head class names its main layer
class and inherits one of these; `autoload/models/<model_type>.py` HEADS says how it pools and where its
weights live (see autoload.heads.HeadSpec). Mirrors autoload/backends/torch/heads.py.

    class TFBertForSequenceClassification(TFSequenceClassificationModel, TFBertPreTrainedModel):
        pass  # the main layer class comes from TFBertPreTrainedModel.main_layer_class
"""

from __future__ import annotations

import inspect

import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload.heads import HeadSpec, check_eos_counts, head_spec, last_token_pad_id, positions_to_keep

from . import keras_layers
from .activations import get_activation
from .losses import sequence_classification_loss, span_loss, token_loss
from .modeling import Dropout, Layer, TFPreTrainedModel, dense

_PER_CHOICE = ("attention_mask", "token_type_ids", "position_ids", "inputs_embeds", "bbox")


def kept_positions(hidden, logits_to_keep, labels=None):
    """The positions a causal LM scores (transformers' `logits_to_keep`): an int N keeps the last N (0: all), a
    1-D index tensor keeps those positions. Generation scores only the last one."""
    keep = positions_to_keep(logits_to_keep, labels)
    if keep is None:
        return hidden
    if isinstance(keep, int):
        return hidden[:, -keep:]
    return tf.gather(hidden, tf.cast(keep, tf.int32), axis=1)


def masked_mean(hidden, mask):
    """The mean over positions (axis 1) where `mask` is set; over all positions without a mask."""
    if mask is None:
        return tf.reduce_mean(hidden, axis=1)
    keep = tf.cast(mask, hidden.dtype)[..., None]
    return tf.reduce_sum(hidden * keep, axis=1) / tf.reduce_sum(keep, axis=1)


class TFClassificationHead(Layer):
    """dropout -> dense -> activation -> dropout -> out_proj (RoBERTa, ELECTRA, BART-style heads)."""

    def __init__(self, config, out_features: int, activation: str, dropout: float, bias: bool = True,
                 input_width: int | None = None, **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        self.dense = dense(config, config.hidden_size, "dense")
        self.dropout = Dropout(dropout)
        self.act = get_activation(activation)
        self.out_proj = dense(config, out_features, "out_proj", use_bias=bias)
        self.input_width = input_width  # the pooled features' size; None: unknown, built by the call

    def input_sizes(self):
        if self.input_width is None:
            return {}
        return {self.dense: self.input_width, self.out_proj: self.dense.units}

    def call(self, pooled, training=False):
        hidden = self.act(self.dense(self.dropout(pooled, training=training)))
        return self.out_proj(self.dropout(hidden, training=training))


def accepted_keywords(layer) -> set[str] | None:
    """The keyword arguments a layer's call takes, or None when it takes any (**kwargs)."""
    parameters = inspect.signature(layer.call).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return None
    return set(parameters)


class TFMainLayerModel(TFPreTrainedModel):
    """A model whose layers sit in one main layer under the base prefix (`bert/…`), as transformers' TF
    classes nest them; base models return its output as is."""

    # main_layer_class: set by the architecture's TF…PreTrainedModel (not here, so it is never shadowed).
    main_layer_kwargs: dict = {}

    def __init__(self, config, *args, **kwargs):
        # Keyword arguments the main layer takes (add_pooling_layer=False, …) configure it, as in transformers.
        takes = inspect.signature(self.main_layer_class.__init__).parameters
        overrides = {k: kwargs.pop(k) for k in list(kwargs) if k in takes and k not in ("self", "config", "name")}
        super().__init__(config, *args, **kwargs)
        main = self.main_layer_class(config, name=self.base_model_prefix, **{**self.main_layer_kwargs, **overrides})
        setattr(self, self.base_model_prefix, main)
        self._main_keywords = accepted_keywords(main)

    @property
    def main_layer(self):
        return getattr(self, self.base_model_prefix)

    def input_sizes(self):
        return {self.main_layer: None}

    def encode(self, inputs, training=False, **kwargs):
        if self._main_keywords is not None:
            kwargs = {k: v for k, v in kwargs.items() if k in self._main_keywords}
        return self.main_layer(inputs, training=training, **kwargs)


class TFBaseModel(TFMainLayerModel):
    is_base_model = True

    def call(self, input_ids=None, training=False, return_dict=True, **kwargs):
        return out.finish(self.encode(input_ids, training, **kwargs), return_dict)


class TFTaskModel(TFMainLayerModel):
    """A main layer plus one head, built from the architecture's HeadSpec."""

    spec: HeadSpec | None = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if getattr(cls, "config_class", None) is None or getattr(cls, "main_layer_class", None) is None:
            return
        try:
            cls.spec = head_spec(cls)
        except NotImplementedError:
            if cls.spec is None:
                raise
        if cls.spec.prefix:
            cls.base_model_prefix = cls.spec.prefix
        cls.main_layer_kwargs = cls.spec.base_kwargs

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.dropout = Dropout(self.spec.dropout_rate(config))

    def pooled_width(self) -> int | None:
        """The size of the features the output layer reads, where the main layer knows its output width."""
        width = getattr(self.main_layer, "output_width", None)
        if width is None:
            return None
        return 2 * width if self.spec.pooling == "first_and_patch_mean" else width

    def input_sizes(self):
        sizes = super().input_sizes()
        layer = getattr(self, self.spec.attr, None)
        if layer is not None:  # a projection head was given the pooled width when made
            sizes[layer] = None if isinstance(layer, TFClassificationHead) else self.pooled_width()
        if hasattr(self, "lm_head_layer"):
            sizes[self.lm_head_layer] = None
        return sizes

    def pool(self, encoded, input_ids=None, mask=None):
        kind = self.spec.pooling
        if kind == "pooler":
            return encoded.pooler_output
        hidden = encoded.last_hidden_state
        if kind == "first":
            return hidden[:, 0]
        if kind == "mean":
            return tf.reduce_mean(hidden, axis=1)
        if kind == "masked_mean":
            return masked_mean(hidden, mask)
        if kind == "eos":
            if input_ids is None:
                raise ValueError(f"{type(self).__name__} needs input_ids: it reads the end-of-sequence tokens.")
            eos = tf.cast(input_ids == self.config.eos_token_id, tf.int32)
            if tf.executing_eagerly():
                check_eos_counts(tf.reduce_sum(eos, axis=1).numpy())
            last = tf.shape(input_ids)[-1] - 1 - tf.argmax(eos[:, ::-1], axis=-1, output_type=tf.int32)
            return tf.gather(hidden, last, batch_dims=1)
        if kind == "patch_mean":
            return tf.reduce_mean(hidden[:, 1:], axis=1)
        if kind == "first_and_patch_mean":
            return tf.concat([hidden[:, 0], tf.reduce_mean(hidden[:, 1:], axis=1)], axis=-1)
        if kind == "last":
            batch = hidden.shape[0]
            pad = last_token_pad_id(input_ids is not None, self.config.pad_token_id, 1 if batch is None else batch)
            if pad is None:
                return hidden[:, -1]
            positions = tf.range(tf.shape(input_ids)[-1])[None]
            ends = tf.argmax(positions * tf.cast(input_ids != pad, positions.dtype), axis=-1, output_type=tf.int32)
            return tf.gather(hidden, ends, batch_dims=1)
        return hidden

    def add_output_layer(self, out_features: int) -> None:
        if out_features == 0:
            layer = keras_layers.Identity(name=self.spec.attr)
        elif self.spec.projection:
            rate = self.spec.dropout_rate(self.config)
            layer = TFClassificationHead(self.config, out_features, self.spec.projection, rate, self.spec.bias,
                                         self.pooled_width(), name=self.spec.attr)  # fmt: skip
        else:
            layer = dense(self.config, out_features, self.spec.attr, use_bias=self.spec.bias)
        setattr(self, self.spec.attr, layer)

    def output_layer(self, features, training=False):
        layer = getattr(self, self.spec.attr)
        if self.spec.projection:
            return layer(features, training=training)
        return layer(self.dropout(features, training=training))


class TFSequenceClassificationModel(TFTaskModel):
    output_class = out.SequenceClassifierOutput

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.add_output_layer(config.num_labels)

    def call(self, input_ids=None, labels=None, training=False, return_dict=True, **kwargs):
        encoded = self.encode(input_ids, training, **kwargs)
        logits = self.output_layer(self.pool(encoded, input_ids, kwargs.get("attention_mask")), training)
        loss = sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        return out.finish(out.from_encoded(self.output_class, encoded, loss=loss, logits=logits), return_dict)


class TFTokenClassificationModel(TFTaskModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.add_output_layer(config.num_labels)

    def call(self, input_ids=None, labels=None, training=False, return_dict=True, **kwargs):
        encoded = self.encode(input_ids, training, **kwargs)
        logits = self.output_layer(encoded.last_hidden_state, training)
        loss = token_loss(logits, labels) if labels is not None else None
        return out.finish(out.from_encoded(out.TokenClassifierOutput, encoded, loss=loss, logits=logits), return_dict)


class TFQuestionAnsweringModel(TFTaskModel):
    output_class = out.QuestionAnsweringModelOutput

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.add_output_layer(self.spec.span_width(config))

    def call(self, input_ids=None, start_positions=None, end_positions=None, training=False, return_dict=True,
             **kwargs):  # fmt: skip
        encoded = self.encode(input_ids, training, **kwargs)
        start, end = tf.split(self.output_layer(encoded.last_hidden_state, training), 2, axis=-1)
        start, end = tf.squeeze(start, -1), tf.squeeze(end, -1)
        loss = None
        if start_positions is not None and end_positions is not None:
            loss = span_loss(start, end, start_positions, end_positions)
        result = out.from_encoded(self.output_class, encoded, loss=loss, start_logits=start, end_logits=end)
        return out.finish(result, return_dict)


class TFMultipleChoiceModel(TFTaskModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.add_output_layer(1)

    def dummy_inputs(self) -> dict:
        return {k: np.asarray(v)[:, None] for k, v in super().dummy_inputs().items()}

    def call(self, input_ids=None, labels=None, training=False, return_dict=True, **kwargs):
        reference = input_ids if input_ids is not None else kwargs["inputs_embeds"]
        choices = reference.shape[1] if reference.shape[1] is not None else tf.shape(reference)[1]

        def flat(x):  # static sizes kept where known (a served model's lengths are not)
            rest = [size if size is not None else tf.shape(x)[i + 2] for i, size in enumerate(x.shape[2:])]
            return tf.reshape(x, [-1, *rest])

        kwargs = {k: (flat(v) if k in _PER_CHOICE and v is not None else v) for k, v in kwargs.items()}
        ids = flat(input_ids) if input_ids is not None else None
        encoded = self.encode(ids, training, **kwargs)
        pooled = self.pool(encoded, ids, kwargs.get("attention_mask"))
        logits = tf.reshape(self.output_layer(pooled, training), (-1, choices))
        loss = token_loss(logits, labels) if labels is not None else None
        return out.finish(out.from_encoded(out.MultipleChoiceModelOutput, encoded, loss=loss, logits=logits),
                          return_dict)  # fmt: skip


class TFImageClassificationModel(TFTaskModel):
    main_input_name = "pixel_values"
    output_class = out.ImageClassifierOutput

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.add_output_layer(config.num_labels)

    def call(self, pixel_values=None, labels=None, training=False, return_dict=True, **kwargs):
        encoded = self.encode(pixel_values, training, **kwargs)
        logits = self.output_layer(self.pool(encoded), training)
        loss = sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        return out.finish(out.from_encoded(self.output_class, encoded, loss=loss, logits=logits), return_dict)


class TFLanguageModelingModel(TFTaskModel):
    """Vocabulary scores at every position from the architecture's LM head (`build_lm_head`, a layer named
    as transformers' TF class names it). `causal` selects next-token loss and the output class."""

    causal = False
    output_class = out.MaskedLMOutput

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.lm_head_layer = self.build_lm_head(config)

    def build_lm_head(self, config):
        raise NotImplementedError

    def lm_logits(self, hidden):
        """The scores from the last hidden states (an architecture with a stage before its LM head overrides it)."""
        return self.lm_head_layer(hidden)

    def call(self, input_ids=None, labels=None, training=False, return_dict=True, **kwargs):
        encoded = self.encode(input_ids, training, **kwargs)
        logits = self.lm_logits(encoded.last_hidden_state)
        loss = None
        if labels is not None:
            loss = token_loss(logits[:, :-1], labels[:, 1:]) if self.causal else token_loss(logits, labels)
        return out.finish(out.from_encoded(self.output_class, encoded, loss=loss, logits=logits), return_dict)
