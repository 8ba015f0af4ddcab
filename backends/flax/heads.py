"""Task heads in Flax (flax.linen), written once: an architecture's head class names its base module and
inherits one of these; `autoload/models/<model_type>.py` HEADS says how it pools and where its weights
live (see autoload.heads.HeadSpec). Mirrors autoload/backends/torch/heads.py.

    class FlaxBertForSequenceClassification(FlaxSequenceClassificationModel, FlaxBertPreTrainedModel):
        pass  # the base module comes from FlaxBertPreTrainedModel.base_module

Each head is a linen module (`…Module`) holding the base module under the base prefix and the output
layer under the spec's attribute, so the parameter tree is the one transformers' Flax classes write.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from autoload import outputs as out
from autoload.heads import HeadSpec, check_eos_counts, head_spec, last_token_pad_id, positions_to_keep

from .activations import get_activation
from .modeling import FlaxPreTrainedModel

_PER_CHOICE = ("attention_mask", "token_type_ids", "position_ids", "inputs_embeds", "bbox")


def _dense(config, features: int, dtype, name: str | None = None, use_bias: bool = True) -> nn.Dense:
    init = nn.initializers.normal(getattr(config, "initializer_range", 0.02))
    return nn.Dense(features, use_bias=use_bias, dtype=dtype, kernel_init=init, name=name)


def kept_positions(hidden, logits_to_keep, labels=None):
    """The positions a causal LM scores (transformers' `logits_to_keep`): an int N keeps the last N (0: all), a
    1-D index array keeps those positions. Generation scores only the last one."""
    keep = positions_to_keep(logits_to_keep, labels)
    if keep is None:
        return hidden
    if isinstance(keep, int):
        return hidden[:, -keep:]
    return hidden[:, jnp.asarray(keep)]


def masked_mean(hidden, mask):
    """The mean over positions (axis 1) where `mask` is set; over all positions without a mask."""
    if mask is None:
        return hidden.mean(1)
    keep = mask[..., None].astype(hidden.dtype)
    return (hidden * keep).sum(1) / keep.sum(1)


class FlaxClassificationHead(nn.Module):
    """dropout -> dense -> activation -> dropout -> out_proj (RoBERTa, ELECTRA, BART-style heads)."""

    config: Any
    out_features: int
    activation: str
    rate: float
    use_bias: bool = True
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, pooled, deterministic=True):
        dropout = nn.Dropout(self.rate)
        hidden = _dense(self.config, self.config.hidden_size, self.dtype, "dense")(dropout(pooled, deterministic))
        hidden = dropout(get_activation(self.activation)(hidden), deterministic)
        return _dense(self.config, self.out_features, self.dtype, "out_proj", self.use_bias)(hidden)


class HeadModule(nn.Module):
    """The base module under `prefix` plus an output layer; subclasses say what the head computes."""

    config: Any
    base_module: Any
    spec: HeadSpec
    prefix: str
    dtype: jnp.dtype = jnp.float32

    def base(self):
        return self.base_module(self.config, dtype=self.dtype, name=self.prefix, **self.spec.base_kwargs)

    def encode(self, inputs, **kwargs):
        return self.base()(inputs, **kwargs)

    def pool(self, encoded, input_ids=None, mask=None):
        kind = self.spec.pooling
        if kind == "pooler":
            return encoded.pooler_output
        hidden = encoded.last_hidden_state
        if kind == "first":
            return hidden[:, 0]
        if kind == "mean":
            return hidden.mean(1)
        if kind == "eos":
            if input_ids is None:
                raise ValueError(f"{type(self).__name__} needs input_ids: it reads the end-of-sequence tokens.")
            eos = input_ids == self.config.eos_token_id
            if not isinstance(eos, jax.core.Tracer):
                check_eos_counts(np.asarray(eos.sum(1)))
            last = input_ids.shape[-1] - 1 - jnp.argmax(eos[:, ::-1], axis=-1)
            return hidden[jnp.arange(hidden.shape[0]), last]
        if kind == "masked_mean":
            return masked_mean(hidden, mask)
        if kind == "patch_mean":
            return hidden[:, 1:].mean(1)
        if kind == "first_and_patch_mean":
            return jnp.concatenate([hidden[:, 0], hidden[:, 1:].mean(1)], axis=-1)
        if kind == "last":
            pad = last_token_pad_id(input_ids is not None, self.config.pad_token_id, hidden.shape[0])
            if pad is None:
                return hidden[:, -1]
            ends = (jnp.arange(input_ids.shape[-1]) * (input_ids != pad)).argmax(-1)
            return hidden[jnp.arange(hidden.shape[0]), ends]
        return hidden

    def output_layer(self, features, out_features: int, deterministic=True):
        if out_features == 0:
            return features
        rate = self.spec.dropout_rate(self.config)
        if self.spec.projection:
            head = FlaxClassificationHead(self.config, out_features, self.spec.projection, rate, self.spec.bias,
                                          dtype=self.dtype, name=self.spec.attr)  # fmt: skip
            return head(features, deterministic)
        features = nn.Dropout(rate)(features, deterministic=deterministic)
        return _dense(self.config, out_features, self.dtype, self.spec.attr, self.spec.bias)(features)


class SequenceClassificationModule(HeadModule):
    @nn.compact
    def __call__(self, input_ids, deterministic=True, return_dict=True, **kwargs):
        encoded = self.encode(input_ids, deterministic=deterministic, **kwargs)
        pooled = self.pool(encoded, input_ids, kwargs.get("attention_mask"))
        logits = self.output_layer(pooled, self.config.num_labels, deterministic)
        return out.finish(out.from_encoded(self.output_class, encoded, logits=logits), return_dict)

    output_class = out.SequenceClassifierOutput


class SequenceClassificationWithPastModule(SequenceClassificationModule):
    output_class = out.SequenceClassifierOutputWithPast


class TokenClassificationModule(HeadModule):
    @nn.compact
    def __call__(self, input_ids, deterministic=True, return_dict=True, **kwargs):
        encoded = self.encode(input_ids, deterministic=deterministic, **kwargs)
        logits = self.output_layer(encoded.last_hidden_state, self.config.num_labels, deterministic)
        return out.finish(out.from_encoded(out.TokenClassifierOutput, encoded, logits=logits), return_dict)


class QuestionAnsweringModule(HeadModule):
    output_class = out.QuestionAnsweringModelOutput

    @nn.compact
    def __call__(self, input_ids, deterministic=True, return_dict=True, **kwargs):
        encoded = self.encode(input_ids, deterministic=deterministic, **kwargs)
        width = self.spec.span_width(self.config)
        start, end = jnp.split(self.output_layer(encoded.last_hidden_state, width, deterministic), 2, axis=-1)
        result = out.from_encoded(self.output_class, encoded, start_logits=start.squeeze(-1), end_logits=end.squeeze(-1))
        return out.finish(result, return_dict)


class MultipleChoiceModule(HeadModule):
    @nn.compact
    def __call__(self, input_ids, deterministic=True, return_dict=True, **kwargs):
        choices = input_ids.shape[1]
        kwargs = {k: (v.reshape((-1, *v.shape[2:])) if k in _PER_CHOICE and v is not None else v)
                  for k, v in kwargs.items()}  # fmt: skip
        ids = input_ids.reshape((-1, input_ids.shape[-1]))
        encoded = self.encode(ids, deterministic=deterministic, **kwargs)
        pooled = self.pool(encoded, ids, kwargs.get("attention_mask"))
        logits = self.output_layer(pooled, 1, deterministic).reshape((-1, choices))
        return out.finish(out.from_encoded(out.MultipleChoiceModelOutput, encoded, logits=logits), return_dict)


class ImageClassificationModule(HeadModule):
    output_class = out.ImageClassifierOutput

    @nn.compact
    def __call__(self, pixel_values, deterministic=True, return_dict=True, **kwargs):
        encoded = self.encode(pixel_values, deterministic=deterministic, **kwargs)
        logits = self.output_layer(self.pool(encoded), self.config.num_labels, deterministic)
        return out.finish(out.from_encoded(self.output_class, encoded, logits=logits), return_dict)


class LanguageModelingModule(HeadModule):
    """Vocabulary scores from the architecture's LM head module (`lm_head`, called with the hidden states and,
    when `embedding_path` names the input embedding inside the base module's parameters, that matrix)."""

    lm_head: Any = None
    embedding_path: tuple = ()
    output_class: Any = out.MaskedLMOutput

    @nn.compact
    def __call__(self, input_ids, deterministic=True, return_dict=True, **kwargs):
        base = self.base()
        encoded = base(input_ids, deterministic=deterministic, **kwargs)
        shared = None
        if self.embedding_path:
            shared = base.variables["params"]
            for key in self.embedding_path:
                shared = shared[key]
        logits = self.lm_head(self.config, dtype=self.dtype, name=self.spec.attr)(encoded.last_hidden_state, shared)
        return out.finish(out.from_encoded(self.output_class, encoded, logits=logits), return_dict)


class FlaxTaskModel(FlaxPreTrainedModel):
    """The model wrapper of a head: `module_class` is the generic head module, given the architecture's
    base module (`base_module`, set by its Flax…PreTrainedModel), the spec and the base prefix."""

    spec: HeadSpec | None = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if getattr(cls, "config_class", None) is None or getattr(cls, "base_module", None) is None:
            return
        try:
            cls.spec = head_spec(cls)
        except NotImplementedError:
            if cls.spec is None:
                raise
        if cls.spec.prefix:
            cls.base_model_prefix = cls.spec.prefix

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, base_module=self.base_module, spec=self.spec, prefix=self.base_model_prefix,
                         **self.module_fields(), **kwargs)  # fmt: skip

    def module_fields(self) -> dict:
        """Further fields of the head module (the LM head's class, …)."""
        return {}


class FlaxSequenceClassificationModel(FlaxTaskModel):
    module_class = SequenceClassificationModule


class FlaxTokenClassificationModel(FlaxTaskModel):
    module_class = TokenClassificationModule


class FlaxQuestionAnsweringModel(FlaxTaskModel):
    module_class = QuestionAnsweringModule


class FlaxMultipleChoiceModel(FlaxTaskModel):
    module_class = MultipleChoiceModule

    def dummy_inputs(self) -> dict:
        return {k: v[:, None] for k, v in super().dummy_inputs().items()}


class FlaxImageClassificationModel(FlaxTaskModel):
    module_class = ImageClassificationModule
    main_input_name = "pixel_values"


class FlaxLanguageModelingModel(FlaxTaskModel):
    """Set `lm_head` (a module class called as head(hidden, shared_embedding)), `embedding_path` and
    `output_class` on the architecture's class."""

    module_class = LanguageModelingModule
    embedding_path: tuple = ()
    output_class = out.MaskedLMOutput

    def module_fields(self) -> dict:
        return {"lm_head": self.lm_head, "embedding_path": self.embedding_path, "output_class": self.output_class}
