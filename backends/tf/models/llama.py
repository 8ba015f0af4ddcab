"""Llama in TensorFlow (Keras 3); Mistral and Qwen2 reuse it. transformers never had TF Llama: the layer
names follow the PyTorch module names, so the shared converter maps them with its generic rules."""

from __future__ import annotations

import keras
import tensorflow as tf

from autoload import outputs as out
from autoload.models.llama import LlamaConfig
from autoload.rope import rope_kind

from ..activations import get_activation
from ..attention import attend, causal_bias, extend_cache, merge_heads, split_heads
from ..generation import TFGenerationMixin
from ..losses import sequence_classification_loss, span_loss, token_loss
from ..modeling import Layer, NamedWeight, TFPreTrainedModel, dense, weights_init
from ..rotary import apply_rotary, rotary_cos_sin
from .gpt2 import last_token_index


class TFLlamaRMSNorm(keras.layers.Layer):
    def __init__(self, size: int, eps: float, **kwargs):
        super().__init__(**kwargs)
        self.size, self.eps = size, eps

    def build(self, input_shape=None):
        self.weight = self.add_weight(name="weight", shape=(self.size,), initializer="ones")
        self.built = True

    def call(self, hidden):
        x = tf.cast(hidden, tf.float32)
        x = x * tf.math.rsqrt(tf.reduce_mean(tf.square(x), axis=-1, keepdims=True) + self.eps)
        return self.weight * tf.cast(x, hidden.dtype)


class TFLlamaAttention(Layer):
    def __init__(self, config: LlamaConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        qkv_bias, out_bias = config.qkv_bias, config.output_bias
        heads, kv, dim = config.num_attention_heads, config.num_key_value_heads, config.head_dim
        self.q_proj = dense(config, heads * dim, "q_proj", use_bias=qkv_bias)
        self.k_proj = dense(config, kv * dim, "k_proj", use_bias=qkv_bias)
        self.v_proj = dense(config, kv * dim, "v_proj", use_bias=qkv_bias)
        self.o_proj = dense(config, config.hidden_size, "o_proj", use_bias=out_bias)

    def call(self, hidden, cos=None, sin=None, bias=None, past=None):
        c = self.config
        q = apply_rotary(split_heads(self.q_proj(hidden), c.num_attention_heads, c.head_dim), cos, sin)
        k = apply_rotary(split_heads(self.k_proj(hidden), c.num_key_value_heads, c.head_dim), cos, sin)
        k, v = extend_cache(past, k, split_heads(self.v_proj(hidden), c.num_key_value_heads, c.head_dim))
        groups = c.num_attention_heads // c.num_key_value_heads
        context = attend(q, tf.repeat(k, groups, axis=1), tf.repeat(v, groups, axis=1), bias, c.head_dim**-0.5)
        return self.o_proj(merge_heads(context)), (k, v)


class TFLlamaMLP(Layer):
    def __init__(self, config: LlamaConfig, **kwargs):
        super().__init__(**kwargs)
        bias = getattr(config, "mlp_bias", False)
        self.gate_proj = dense(config, config.intermediate_size, "gate_proj", use_bias=bias)
        self.up_proj = dense(config, config.intermediate_size, "up_proj", use_bias=bias)
        self.down_proj = dense(config, config.hidden_size, "down_proj", use_bias=bias)
        self.act = get_activation(config.hidden_act)

    def call(self, x):
        return self.down_proj(self.act(self.gate_proj(x)) * self.up_proj(x))


class TFLlamaDecoderLayer(Layer):
    def __init__(self, config: LlamaConfig, **kwargs):
        super().__init__(**kwargs)
        self.input_layernorm = TFLlamaRMSNorm(config.hidden_size, config.rms_norm_eps, name="input_layernorm")
        self.self_attn = TFLlamaAttention(config, name="self_attn")
        self.post_attention_layernorm = TFLlamaRMSNorm(config.hidden_size, config.rms_norm_eps,
                                                       name="post_attention_layernorm")  # fmt: skip
        self.mlp = TFLlamaMLP(config, name="mlp")

    def call(self, hidden, cos=None, sin=None, bias=None, past=None):
        attended, cache = self.self_attn(self.input_layernorm(hidden), cos=cos, sin=sin, bias=bias, past=past)
        hidden = hidden + attended
        return hidden + self.mlp(self.post_attention_layernorm(hidden)), cache


def _window(config, index: int):
    if getattr(config, "layer_types", None):
        return config.sliding_window if config.layer_types[index] == "sliding_attention" else None
    return getattr(config, "sliding_window", None)


class TFLlamaMainLayer(Layer):
    def __init__(self, config: LlamaConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.embed_tokens = NamedWeight((config.vocab_size, config.hidden_size), "weight", weights_init(config),
                                        name="embed_tokens")  # fmt: skip
        self.layers = [TFLlamaDecoderLayer(config, name=f"layers_._{i}") for i in range(config.num_hidden_layers)]
        self.norm = TFLlamaRMSNorm(config.hidden_size, config.rms_norm_eps, name="norm")

    def call(self, input_ids, attention_mask=None, past_key_values=None, use_cache=False, output_hidden_states=False,
             training=False):  # fmt: skip
        c = self.config
        length = input_ids.shape[-1]
        past_length = 0 if not past_key_values else past_key_values[0][0].shape[2]
        if length is not None and past_length + length > c.max_position_embeddings and rope_kind(c) != "dynamic":
            raise ValueError(
                f"Sequence length {past_length + length} is longer than max_position_embeddings "
                f"({c.max_position_embeddings})."
            )
        positions = tf.range(past_length, past_length + tf.shape(input_ids)[-1])[None]
        hidden = self.embed_tokens(input_ids)
        cos, sin = rotary_cos_sin(c, positions, past_length + (length or 0), hidden.dtype)
        states, caches = (), ()
        for i, layer in enumerate(self.layers):
            states += (hidden,)
            bias = causal_bias(tf.shape(input_ids)[-1], past_length, attention_mask, hidden.dtype, _window(c, i))
            hidden, cache = layer(hidden, cos=cos, sin=sin, bias=bias,
                                  past=past_key_values[i] if past_key_values else None)  # fmt: skip
            caches += (cache,)
        hidden = self.norm(hidden)
        return out.BaseModelOutputWithPast(
            last_hidden_state=hidden, past_key_values=caches if use_cache else None,
            hidden_states=states + (hidden,) if output_hidden_states else None,
        )  # fmt: skip


class TFLlamaPreTrainedModel(TFPreTrainedModel):
    config_class = LlamaConfig
    base_model_prefix = "model"

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        setattr(self, self.base_model_prefix, TFLlamaMainLayer(config, name=self.base_model_prefix))

    def _encode(self, input_ids, kwargs, training):
        keys = ("attention_mask", "past_key_values", "use_cache", "output_hidden_states")
        main = getattr(self, self.base_model_prefix)
        return main(input_ids, **{k: kwargs.get(k) for k in keys}, training=training)


class TFLlamaModel(TFLlamaPreTrainedModel):
    is_base_model = True

    def call(self, input_ids=None, training=False, return_dict=True, **kwargs):
        return out.finish(self._encode(input_ids, kwargs, training), return_dict)


class TFLlamaForCausalLM(TFGenerationMixin, TFLlamaPreTrainedModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        if not config.tie_word_embeddings:
            self.lm_head = dense(config, config.vocab_size, "lm_head", use_bias=False)

    def call(self, input_ids=None, labels=None, training=False, return_dict=True, **kwargs):
        encoded = self._encode(input_ids, kwargs, training)
        if self.config.tie_word_embeddings:
            logits = tf.matmul(encoded.last_hidden_state, self.model.embed_tokens.weight, transpose_b=True)
        else:
            logits = self.lm_head(encoded.last_hidden_state)
        loss = token_loss(logits[:, :-1], labels[:, 1:]) if labels is not None else None
        return out.finish(out.CausalLMOutputWithPast(loss=loss, logits=logits, past_key_values=encoded.past_key_values,
                            hidden_states=encoded.hidden_states), return_dict)  # fmt: skip


class TFLlamaForSequenceClassification(TFLlamaPreTrainedModel):
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


class TFLlamaForTokenClassification(TFLlamaPreTrainedModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.dropout = keras.layers.Dropout(getattr(config, "classifier_dropout", None) or 0.1)
        self.score = dense(config, config.num_labels, "score")

    def call(self, input_ids=None, labels=None, training=False, return_dict=True, **kwargs):
        encoded = self._encode(input_ids, kwargs, training)
        logits = self.score(self.dropout(encoded.last_hidden_state, training=training))
        loss = token_loss(logits, labels) if labels is not None else None
        return out.finish(out.TokenClassifierOutput(loss=loss, logits=logits, hidden_states=encoded.hidden_states),
                            return_dict)  # fmt: skip


class TFLlamaForQuestionAnswering(TFLlamaPreTrainedModel):
    base_model_prefix = "transformer"  # as the PyTorch QA checkpoints (Mistral's: `model`)

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


def family(prefix: str, config_class, module_name: str, qa_prefix: str = "transformer") -> dict[str, type]:
    """The TF classes of one Llama-like architecture for its config class."""
    bases = {"Model": TFLlamaModel, "ForCausalLM": TFLlamaForCausalLM,
             "ForSequenceClassification": TFLlamaForSequenceClassification,
             "ForTokenClassification": TFLlamaForTokenClassification, "ForQuestionAnswering": TFLlamaForQuestionAnswering}  # fmt: skip
    classes = {}
    for suffix, base in bases.items():
        attrs = {"config_class": config_class, "__module__": module_name}
        if suffix == "ForQuestionAnswering":
            attrs["base_model_prefix"] = qa_prefix
        classes[f"TF{prefix}{suffix}"] = type(f"TF{prefix}{suffix}", (base,), attrs)
    return classes
