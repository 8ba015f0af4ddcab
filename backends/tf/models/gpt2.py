"""GPT-2 in TensorFlow (Keras 3), named like transformers' TF GPT-2 (Conv1D `weight` [in, out], bias [1, out])."""

from __future__ import annotations

import keras
import tensorflow as tf

from autoload import outputs as out
from autoload.models.gpt2 import GPT2Config

from ..activations import get_activation
from ..attention import attend, causal_bias, extend_cache, merge_heads, split_heads
from ..generation import TFGenerationMixin
from ..losses import sequence_classification_loss, span_loss, token_loss
from ..modeling import Layer, NamedWeight, TFPreTrainedModel, dense, weights_init


class TFConv1D(keras.layers.Layer):
    def __init__(self, features: int, in_features: int, config, **kwargs):
        super().__init__(**kwargs)
        self.shape_in_out = (in_features, features)
        self.init = weights_init(config)

    def build(self, input_shape=None):
        self.weight = self.add_weight(name="weight", shape=self.shape_in_out, initializer=self.init)
        self.bias = self.add_weight(name="bias", shape=(1, self.shape_in_out[1]), initializer="zeros")
        self.built = True

    def call(self, x):
        return tf.matmul(x, self.weight) + self.bias


class TFAttention(Layer):
    def __init__(self, config: GPT2Config, layer_idx: int, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.c_attn = TFConv1D(3 * config.n_embd, config.n_embd, config, name="c_attn")
        self.c_proj = TFConv1D(config.n_embd, config.n_embd, config, name="c_proj")
        self.resid_dropout = keras.layers.Dropout(config.resid_pdrop)
        head_dim = config.n_embd // config.n_head
        scale = head_dim**-0.5 if config.scale_attn_weights else 1.0
        self.scale = scale / (layer_idx + 1) if config.scale_attn_by_inverse_layer_idx else scale

    def call(self, hidden, bias=None, past=None, training=False):
        c = self.config
        q, k, v = tf.split(self.c_attn(hidden), 3, axis=-1)
        head_dim = c.n_embd // c.n_head
        k, v = extend_cache(past, split_heads(k, c.n_head, head_dim), split_heads(v, c.n_head, head_dim))
        context = merge_heads(attend(split_heads(q, c.n_head, head_dim), k, v, bias, self.scale))
        return self.resid_dropout(self.c_proj(context), training=training), (k, v)


class TFMLP(Layer):
    def __init__(self, config: GPT2Config, **kwargs):
        super().__init__(**kwargs)
        inner = config.n_inner or 4 * config.n_embd
        self.c_fc = TFConv1D(inner, config.n_embd, config, name="c_fc")
        self.c_proj = TFConv1D(config.n_embd, inner, config, name="c_proj")
        self.act = get_activation(config.activation_function)
        self.dropout = keras.layers.Dropout(config.resid_pdrop)

    def call(self, hidden, training=False):
        return self.dropout(self.c_proj(self.act(self.c_fc(hidden))), training=training)


class TFBlock(Layer):
    def __init__(self, config: GPT2Config, layer_idx: int, **kwargs):
        super().__init__(**kwargs)
        eps = config.layer_norm_epsilon
        self.ln_1 = keras.layers.LayerNormalization(epsilon=eps, name="ln_1")
        self.attn = TFAttention(config, layer_idx, name="attn")
        self.ln_2 = keras.layers.LayerNormalization(epsilon=eps, name="ln_2")
        self.mlp = TFMLP(config, name="mlp")

    def call(self, hidden, bias=None, past=None, training=False):
        attended, cache = self.attn(self.ln_1(hidden), bias=bias, past=past, training=training)
        hidden = hidden + attended
        return hidden + self.mlp(self.ln_2(hidden), training=training), cache


class TFGPT2MainLayer(Layer):
    def __init__(self, config: GPT2Config, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        init = weights_init(config)
        self.wte = NamedWeight((config.vocab_size, config.n_embd), "embeddings", init, name="wte")
        self.wpe = NamedWeight((config.n_positions, config.n_embd), "embeddings", init, name="wpe")
        self.drop = keras.layers.Dropout(config.embd_pdrop)
        self.h = [TFBlock(config, i, name=f"h_._{i}") for i in range(config.n_layer)]
        self.ln_f = keras.layers.LayerNormalization(epsilon=config.layer_norm_epsilon, name="ln_f")

    def call(self, input_ids, attention_mask=None, past_key_values=None, use_cache=False, output_hidden_states=False,
             training=False):  # fmt: skip
        length = input_ids.shape[-1]
        past_length = 0 if not past_key_values else past_key_values[0][0].shape[2]
        if length is not None and past_length + length > self.config.n_positions:
            raise ValueError(
                f"Sequence length {past_length + length} is longer than n_positions ({self.config.n_positions})."
            )
        positions = tf.range(past_length, past_length + tf.shape(input_ids)[-1])[None]
        hidden = self.drop(self.wte(input_ids) + self.wpe(positions), training=training)
        bias = causal_bias(tf.shape(input_ids)[-1], past_length, attention_mask, hidden.dtype)
        states, caches = (), ()
        for i, block in enumerate(self.h):
            states += (hidden,)
            hidden, cache = block(hidden, bias=bias, past=past_key_values[i] if past_key_values else None,
                                  training=training)  # fmt: skip
            caches += (cache,)
        hidden = self.ln_f(hidden)
        return out.BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden, past_key_values=caches if use_cache else None,
            hidden_states=states + (hidden,) if output_hidden_states else None,
        )  # fmt: skip


class TFGPT2PreTrainedModel(TFPreTrainedModel):
    config_class = GPT2Config
    base_model_prefix = "transformer"

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.transformer = TFGPT2MainLayer(config, name="transformer")

    def _encode(self, input_ids, kwargs, training):
        keys = ("attention_mask", "past_key_values", "use_cache", "output_hidden_states")
        return self.transformer(input_ids, **{k: kwargs.get(k) for k in keys}, training=training)


class TFGPT2Model(TFGPT2PreTrainedModel):
    is_base_model = True

    def call(self, input_ids=None, training=False, return_dict=True, **kwargs):
        return out.finish(self._encode(input_ids, kwargs, training), return_dict)


class TFGPT2LMHeadModel(TFGenerationMixin, TFGPT2PreTrainedModel):
    def call(self, input_ids=None, labels=None, training=False, return_dict=True, **kwargs):
        encoded = self._encode(input_ids, kwargs, training)
        logits = tf.matmul(encoded.last_hidden_state, self.transformer.wte.weight, transpose_b=True)
        loss = token_loss(logits[:, :-1], labels[:, 1:]) if labels is not None else None
        return out.finish(out.CausalLMOutputWithCrossAttentions(
            loss=loss, logits=logits, past_key_values=encoded.past_key_values,
            hidden_states=encoded.hidden_states), return_dict)  # fmt: skip


def last_token_index(input_ids, pad_token_id):
    if pad_token_id is None:
        if input_ids.shape[0] not in (1, None):  # None: batch unknown while tracing
            raise ValueError("Sequence classification of a batch needs config.pad_token_id to find each row's end.")
        return tf.fill(tf.shape(input_ids)[:1], tf.shape(input_ids)[-1] - 1)
    positions = tf.range(tf.shape(input_ids)[-1])[None]
    return tf.argmax(positions * tf.cast(input_ids != pad_token_id, positions.dtype), axis=-1, output_type=tf.int32)


class TFGPT2ForSequenceClassification(TFGPT2PreTrainedModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.score = dense(config, config.num_labels, "score", use_bias=False)

    def call(self, input_ids=None, labels=None, training=False, return_dict=True, **kwargs):
        encoded = self._encode(input_ids, kwargs, training)
        logits = self.score(encoded.last_hidden_state)
        pooled = tf.gather(logits, last_token_index(input_ids, self.config.pad_token_id), batch_dims=1)
        loss = sequence_classification_loss(pooled, labels, self.config) if labels is not None else None
        return out.finish(out.SequenceClassifierOutputWithPast(loss=loss, logits=pooled,
                            hidden_states=encoded.hidden_states), return_dict)  # fmt: skip


class TFGPT2ForTokenClassification(TFGPT2PreTrainedModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        rate = getattr(config, "classifier_dropout", None)
        self.dropout = keras.layers.Dropout(rate if rate is not None else 0.1)
        self.classifier = dense(config, config.num_labels, "classifier")

    def call(self, input_ids=None, labels=None, training=False, return_dict=True, **kwargs):
        encoded = self._encode(input_ids, kwargs, training)
        logits = self.classifier(self.dropout(encoded.last_hidden_state, training=training))
        loss = token_loss(logits, labels) if labels is not None else None
        return out.finish(out.TokenClassifierOutput(loss=loss, logits=logits, hidden_states=encoded.hidden_states),
                            return_dict)  # fmt: skip


class TFGPT2ForQuestionAnswering(TFGPT2PreTrainedModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.qa_outputs = dense(config, 2, "qa_outputs")

    def call(self, input_ids=None, start_positions=None, end_positions=None, training=False, return_dict=True,
                **kwargs):  # fmt: skip
        encoded = self._encode(input_ids, kwargs, training)
        start, end = tf.split(self.qa_outputs(encoded.last_hidden_state), 2, axis=-1)
        start, end = tf.squeeze(start, -1), tf.squeeze(end, -1)
        loss = span_loss(start, end, start_positions, end_positions) if start_positions is not None else None
        return out.finish(out.QuestionAnsweringModelOutput(loss=loss, start_logits=start, end_logits=end,
                            hidden_states=encoded.hidden_states), return_dict)  # fmt: skip


class TFSequenceSummary(Layer):
    """The multiple-choice head: one vector per choice (at mc_token_ids), projected to a score."""

    def __init__(self, config: GPT2Config, **kwargs):
        super().__init__(**kwargs)
        labels = config.num_labels if config.summary_proj_to_labels and config.num_labels > 0 else config.n_embd
        self.summary = dense(config, labels, "summary") if config.summary_use_proj else None
        self.first_dropout = keras.layers.Dropout(config.summary_first_dropout)

    def call(self, hidden, token_ids=None, training=False):
        if token_ids is None:
            token_ids = tf.fill(tf.shape(hidden)[:-2], tf.shape(hidden)[-2] - 1)
        picked = tf.gather(hidden, token_ids, batch_dims=len(hidden.shape) - 2)
        picked = self.first_dropout(picked, training=training)
        return self.summary(picked) if self.summary is not None else picked


class TFGPT2DoubleHeadsModel(TFGenerationMixin, TFGPT2PreTrainedModel):
    def __init__(self, config, *args, **kwargs):
        config.num_labels = 1
        super().__init__(config, *args, **kwargs)
        self.multiple_choice_head = TFSequenceSummary(config, name="multiple_choice_head")

    def dummy_inputs(self) -> dict:
        return {"input_ids": tf.zeros((1, 2, 2), dtype=tf.int32)}

    def call(self, input_ids=None, mc_token_ids=None, labels=None, mc_labels=None, training=False,
                return_dict=True, **kwargs):  # fmt: skip
        if len(input_ids.shape) == 2:  # generation feeds [batch, seq]
            return TFGPT2LMHeadModel.call(self, input_ids, labels=labels, training=training,
                                             return_dict=return_dict, **kwargs)  # fmt: skip
        shape = tf.shape(input_ids)
        flat = {k: (tf.reshape(v, (-1, v.shape[-1])) if k == "attention_mask" and v is not None else v)
                for k, v in kwargs.items()}  # fmt: skip
        encoded = self._encode(tf.reshape(input_ids, (-1, input_ids.shape[-1])), flat, training)
        hidden = tf.reshape(encoded.last_hidden_state, tf.concat([shape, [-1]], 0))
        logits = tf.matmul(hidden, self.transformer.wte.weight, transpose_b=True)
        mc_logits = tf.squeeze(self.multiple_choice_head(hidden, token_ids=mc_token_ids, training=training), -1)
        mc_loss = token_loss(mc_logits, mc_labels) if mc_labels is not None else None
        return out.finish(out.GPT2DoubleHeadsModelOutput(
            mc_loss=mc_loss, logits=logits, mc_logits=mc_logits, past_key_values=encoded.past_key_values,
            hidden_states=encoded.hidden_states), return_dict)  # fmt: skip
