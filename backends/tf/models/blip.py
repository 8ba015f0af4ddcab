"""BLIP in TensorFlow (Keras 3): TFBlipModel named as transformers' TF class (`blip/vision_model/…`,
`blip/text_model/…`); the captioning and VQA models name their parts as the PyTorch checkpoints do
(`vision_model/…`, `text_decoder/bert/…`, `text_decoder/cls/predictions/…`, `text_encoder/…`)."""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload.models.blip import BlipConfig, BlipTextConfig, BlipVisionConfig
from autoload.vision import bicubic_matrix

from .. import keras_layers
from ..activations import get_activation
from ..blocks.vision import channels_last, check_pixel_values, to_nhwc
from ..generation import TFCompiledStep, TFGenerationMixin
from ..modeling import Dropout, Layer, TFPreTrainedModel, dense, weights_init

NEG = -10000.0  # BLIP's additive mask value


def layer_norm(eps: float, name: str):
    return keras_layers.LayerNormalization(epsilon=eps, name=name)


# -- the image encoder ----------------------------------------------------------------------------------------
class TFBlipVisionEmbeddings(Layer):
    def __init__(self, config: BlipVisionConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.patch_embedding = keras_layers.Conv2D(config.hidden_size, config.patch_size, strides=config.patch_size,
                                                   kernel_initializer=weights_init(config), name="patch_embedding")  # fmt: skip

    def build(self, input_shape=None):
        c = self.config
        init = keras.initializers.TruncatedNormal(stddev=c.initializer_range)
        self.class_embedding = self.add_weight(name="class_embedding", shape=(1, 1, c.hidden_size), initializer=init)
        self.position_embedding = self.add_weight(name="position_embedding", shape=(1, c.num_positions, c.hidden_size),
                                                  initializer=init)  # fmt: skip
        super().build(input_shape)

    def input_sizes(self):  # the patches: of the (RGB) image, channels-last
        size = self.config.image_size
        return {self.patch_embedding: channels_last(3, (size, size))}

    def positions_for(self, height: int, width: int):
        table = self.position_embedding[0]
        grid = int((table.shape[0] - 1) ** 0.5)
        rows, cols = height // self.config.patch_size, width // self.config.patch_size
        left, right = (tf.constant(bicubic_matrix(grid, n), table.dtype) for n in (rows, cols))
        patches = tf.einsum("rh,hwc,sw->rsc", left, tf.reshape(table[1:], (grid, grid, -1)), right)
        return tf.concat([table[:1], tf.reshape(patches, (rows * cols, -1))], axis=0)[None]

    def call(self, pixel_values, interpolate_pos_encoding=False):
        check_pixel_values(pixel_values, 3)
        if not self.built:
            self.build()
        patches = self.patch_embedding(to_nhwc(tf.cast(pixel_values, self.compute_dtype)))
        batch = tf.shape(patches)[0]
        patches = tf.reshape(patches, (batch, -1, self.config.hidden_size))
        cls = tf.tile(tf.cast(self.class_embedding, patches.dtype), (batch, 1, 1))
        hidden = tf.concat([cls, patches], axis=1)
        height, width = pixel_values.shape[-2:]
        positions = self.positions_for(height, width) if interpolate_pos_encoding else self.position_embedding
        return hidden + tf.cast(positions[:, : hidden.shape[1]], hidden.dtype)


class TFBlipAttention(Layer):
    def __init__(self, config: BlipVisionConfig, **kwargs):
        super().__init__(**kwargs)
        self.num_heads, self.head_dim = config.num_attention_heads, config.hidden_size // config.num_attention_heads
        self.qkv = dense(config, 3 * config.hidden_size, "qkv")
        self.projection = dense(config, config.hidden_size, "projection")
        self.dropout = Dropout(config.attention_dropout)
        self.sizes = {self.qkv: config.hidden_size, self.projection: config.hidden_size}

    def input_sizes(self):
        return self.sizes

    def call(self, hidden, training=False):
        batch, length, width = tf.shape(hidden)[0], tf.shape(hidden)[1], hidden.shape[-1]
        qkv = tf.transpose(tf.reshape(self.qkv(hidden), (batch, length, 3, self.num_heads, self.head_dim)),
                           (2, 0, 3, 1, 4))  # fmt: skip
        probs = tf.nn.softmax(tf.matmul(qkv[0], qkv[1], transpose_b=True) * self.head_dim**-0.5, axis=-1)
        context = tf.matmul(self.dropout(probs, training=training), qkv[2])
        return self.projection(tf.reshape(tf.transpose(context, (0, 2, 1, 3)), (batch, length, width))), probs


class TFBlipMLP(Layer):
    def __init__(self, config: BlipVisionConfig, **kwargs):
        super().__init__(**kwargs)
        self.act = get_activation(config.hidden_act)
        self.fc1 = dense(config, config.intermediate_size, "fc1")
        self.fc2 = dense(config, config.hidden_size, "fc2")
        self.sizes = {self.fc1: config.hidden_size, self.fc2: config.intermediate_size}

    def input_sizes(self):
        return self.sizes

    def call(self, hidden):
        return self.fc2(self.act(self.fc1(hidden)))


class TFBlipEncoderLayer(Layer):
    def __init__(self, config: BlipVisionConfig, **kwargs):
        super().__init__(**kwargs)
        self.self_attn = TFBlipAttention(config, name="self_attn")
        self.layer_norm1 = layer_norm(config.layer_norm_eps, "layer_norm1")
        self.mlp = TFBlipMLP(config, name="mlp")
        self.layer_norm2 = layer_norm(config.layer_norm_eps, "layer_norm2")
        self.width = config.hidden_size

    def input_sizes(self):
        return {self.self_attn: None, self.layer_norm1: self.width, self.mlp: None, self.layer_norm2: self.width}

    def call(self, hidden, training=False):
        attended, probs = self.self_attn(self.layer_norm1(hidden), training=training)
        hidden = hidden + attended
        return hidden + self.mlp(self.layer_norm2(hidden)), probs


class TFBlipEncoder(Layer):
    def __init__(self, config: BlipVisionConfig, **kwargs):
        super().__init__(**kwargs)
        self.layers_ = [TFBlipEncoderLayer(config, name=f"layers_._{i}") for i in range(config.num_hidden_layers)]

    def input_sizes(self):
        return dict.fromkeys(self.layers_)


class TFBlipVisionTransformer(Layer):
    """BlipVisionModel's layers: embeddings, the pre-norm encoder and the final LayerNorm."""

    def __init__(self, config: BlipVisionConfig, **kwargs):
        super().__init__(**kwargs)
        config.blip_vision_options()
        self.embeddings = TFBlipVisionEmbeddings(config, name="embeddings")
        self.encoder = TFBlipEncoder(config, name="encoder")
        self.post_layernorm = layer_norm(config.layer_norm_eps, "post_layernorm")
        self.output_width = config.hidden_size

    def input_sizes(self):
        return {self.embeddings: None, self.encoder: None, self.post_layernorm: self.output_width}

    def call(self, pixel_values, output_attentions=False, output_hidden_states=False, interpolate_pos_encoding=False,
             training=False):  # fmt: skip
        hidden = self.embeddings(pixel_values, interpolate_pos_encoding=bool(interpolate_pos_encoding))
        states, attentions = (), ()
        with keras.name_scope(self.encoder.name):  # the encoder's layers are called one by one, under its scope
            for layer in self.encoder.layers_:
                states += (hidden,)
                hidden, probs = layer(hidden, training=training)
                attentions += (probs,)
        last = self.post_layernorm(hidden)
        return out.BaseModelOutputWithPooling(last_hidden_state=last, pooler_output=self.post_layernorm(last[:, 0]),
                                              hidden_states=states + (hidden,) if output_hidden_states else None,
                                              attentions=attentions if output_attentions else None)  # fmt: skip


# -- the text transformer -------------------------------------------------------------------------------------
class TFBlipTextEmbeddings(Layer):
    def __init__(self, config: BlipTextConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        init = weights_init(config)
        self.word_embeddings = keras_layers.Embedding(config.vocab_size, config.hidden_size, embeddings_initializer=init,
                                                      name="word_embeddings")  # fmt: skip
        self.position_embeddings = keras_layers.Embedding(config.max_position_embeddings, config.hidden_size,
                                                          embeddings_initializer=init, name="position_embeddings")  # fmt: skip
        self.LayerNorm = layer_norm(config.layer_norm_eps, "LayerNorm")
        self.dropout = Dropout(config.hidden_dropout_prob)

    def input_sizes(self):  # the tables: ids [batch, length]
        return {**dict.fromkeys((self.word_embeddings, self.position_embeddings), (None, None)),
                self.LayerNorm: self.config.hidden_size}  # fmt: skip

    def call(self, input_ids=None, position_ids=None, inputs_embeds=None, past_length: int = 0, training=False):
        embeds = self.word_embeddings(input_ids) if inputs_embeds is None else inputs_embeds
        length = embeds.shape[1]
        concrete = isinstance(past_length, int) and length is not None  # (not in the compiled decoding step)
        if concrete and past_length + length > self.config.max_position_embeddings:
            raise ValueError(f"Sequence length {past_length + length} is longer than max_position_embeddings "
                             f"({self.config.max_position_embeddings}); truncate the inputs.")  # fmt: skip
        if position_ids is None:
            position_ids = tf.range(past_length, past_length + tf.shape(embeds)[1])[None]
        hidden = self.LayerNorm(embeds + self.position_embeddings(position_ids))
        return self.dropout(hidden, training=training)


class TFBlipTextSelfAttention(Layer):
    def __init__(self, config: BlipTextConfig, cross: bool, **kwargs):
        super().__init__(**kwargs)
        self.num_heads, self.head_size = config.num_attention_heads, config.hidden_size // config.num_attention_heads
        self.query, self.key, self.value = (dense(config, config.hidden_size, n) for n in ("query", "key", "value"))
        self.dropout = Dropout(config.attention_probs_dropout_prob)
        self.cross = cross
        source = config.encoder_hidden_size if cross else config.hidden_size  # the image's (or question's) width
        self.sizes = {self.query: config.hidden_size, self.key: source, self.value: source}

    def input_sizes(self):
        return self.sizes

    def _heads(self, x):
        return tf.transpose(tf.reshape(x, (tf.shape(x)[0], -1, self.num_heads, self.head_size)), (0, 2, 1, 3))

    def call(self, hidden, bias=None, source=None, past=None, training=False):
        q = self._heads(self.query(hidden))
        if self.cross and past is not None:
            k, v = past
        else:
            states = source if self.cross else hidden
            k, v = self._heads(self.key(states)), self._heads(self.value(states))
            if past is not None:
                k, v = tf.concat([past[0], k], axis=2), tf.concat([past[1], v], axis=2)
        scores = tf.matmul(q, k, transpose_b=True) / math.sqrt(self.head_size)
        if bias is not None:
            scores = scores + bias
        probs = tf.nn.softmax(scores, axis=-1)
        context = tf.transpose(tf.matmul(self.dropout(probs, training=training), v), (0, 2, 1, 3))
        return tf.reshape(context, (tf.shape(hidden)[0], -1, self.num_heads * self.head_size)), probs, (k, v)


class TFBlipTextOutput(Layer):
    def __init__(self, config: BlipTextConfig, input_width: int, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense(config, config.hidden_size, "dense")
        self.LayerNorm = layer_norm(config.layer_norm_eps, "LayerNorm")
        self.dropout = Dropout(config.hidden_dropout_prob)
        self.sizes = {self.dense: input_width, self.LayerNorm: config.hidden_size}

    def input_sizes(self):
        return self.sizes

    def call(self, hidden, residual, training=False):
        return self.LayerNorm(self.dropout(self.dense(hidden), training=training) + residual)


class TFBlipTextAttention(Layer):
    def __init__(self, config: BlipTextConfig, cross: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.self_attention = TFBlipTextSelfAttention(config, cross, name="self")
        self.self_output = TFBlipTextOutput(config, config.hidden_size, name="output")

    def input_sizes(self):
        return {self.self_attention: None, self.self_output: None}

    def call(self, hidden, bias=None, source=None, past=None, training=False):
        context, probs, cache = self.self_attention(hidden, bias=bias, source=source, past=past, training=training)
        return self.self_output(context, hidden, training=training), probs, cache


class TFBlipTextIntermediate(Layer):
    def __init__(self, config: BlipTextConfig, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense(config, config.intermediate_size, "dense")
        self.act = get_activation(config.hidden_act)
        self.input_width = config.hidden_size

    def input_sizes(self):
        return {self.dense: self.input_width}

    def call(self, hidden):
        return self.act(self.dense(hidden))


class TFBlipTextLayer(Layer):
    def __init__(self, config: BlipTextConfig, **kwargs):
        super().__init__(**kwargs)
        self.attention = TFBlipTextAttention(config, name="attention")
        self.crossattention = TFBlipTextAttention(config, cross=True, name="crossattention") if config.is_decoder else None
        self.intermediate = TFBlipTextIntermediate(config, name="intermediate")
        self.layer_output = TFBlipTextOutput(config, config.intermediate_size, name="output")

    def input_sizes(self):
        return {self.attention: None, self.crossattention: None, self.intermediate: None, self.layer_output: None}

    def call(self, hidden, bias, source=None, past=None, training=False):
        hidden, probs, cache = self.attention(hidden, bias=bias, past=past[:2] if past else None, training=training)
        cross_probs = None
        cross_past = past[2:] if past and len(past) > 2 else None
        if source is not None or cross_past:
            if self.crossattention is None:
                raise ValueError("encoder_hidden_states were given but the text config has is_decoder=False (its "
                                 "layers have no cross-attention).")  # fmt: skip
            hidden, cross_probs, cross_cache = self.crossattention(hidden, source=source, past=cross_past, training=training)
            cache = cache + cross_cache
        return self.layer_output(self.intermediate(hidden), hidden, training=training), probs, cross_probs, cache


class TFBlipTextEncoder(Layer):
    def __init__(self, config: BlipTextConfig, **kwargs):
        super().__init__(**kwargs)
        self.layer = [TFBlipTextLayer(config, name=f"layer_._{i}") for i in range(config.num_hidden_layers)]

    def input_sizes(self):
        return dict.fromkeys(self.layer)


class TFBlipTextPooler(Layer):
    def __init__(self, config: BlipTextConfig, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense(config, config.hidden_size, "dense")
        self.input_width = config.hidden_size

    def input_sizes(self):
        return {self.dense: self.input_width}

    def call(self, hidden):
        return tf.tanh(self.dense(hidden[:, 0]))


def text_mask(attention_mask, batch, length, past_length: int, causal: bool, dtype):
    """BLIP's additive self-attention mask (see the PyTorch model)."""
    if attention_mask is None:
        attention_mask = tf.ones((batch, past_length + length))
    keys = tf.cast(attention_mask, dtype)[:, None, None, :]
    if causal:
        seen = tf.cast(tf.range(length)[None, :] <= tf.range(length)[:, None], dtype)
        seen = tf.concat([tf.ones((length, tf.shape(keys)[-1] - length), dtype), seen], axis=1)
        keys = keys * seen[None, None]
    return (1.0 - keys) * NEG


class TFBlipTextModel(Layer):
    """The BERT-style text transformer; causal when called with is_decoder=True (the LM head does). Cross-attention
    is unmasked, as in transformers 4.57.6's BLIP (which drops encoder_attention_mask)."""

    def __init__(self, config: BlipTextConfig, add_pooling_layer: bool = True, **kwargs):
        super().__init__(**kwargs)
        config.blip_text_options()
        self.config = config
        self.embeddings = TFBlipTextEmbeddings(config, name="embeddings")
        self.encoder = TFBlipTextEncoder(config, name="encoder")
        self.pooler = TFBlipTextPooler(config, name="pooler") if add_pooling_layer else None
        self.output_width = config.hidden_size

    def input_sizes(self):
        return {self.embeddings: None, self.encoder: None, self.pooler: None}

    def call(self, input_ids=None, attention_mask=None, position_ids=None, inputs_embeds=None,
             encoder_hidden_states=None, encoder_attention_mask=None, past_key_values=None, use_cache=None,
             output_attentions=False, output_hidden_states=False, is_decoder=False, training=False):  # fmt: skip
        past_length = past_key_values[0][0].shape[2] if past_key_values else 0
        if past_length is None:  # the compiled decoding step (TFCompiledStep): known when it runs
            past_length = tf.shape(past_key_values[0][0])[2]
        if input_ids is not None:
            input_ids = tf.convert_to_tensor(input_ids)
        hidden = self.embeddings(input_ids, position_ids=position_ids, inputs_embeds=inputs_embeds, past_length=past_length,
                                 training=training)
        batch, length = tf.shape(hidden)[0], tf.shape(hidden)[1]
        if attention_mask is not None:
            attention_mask = tf.convert_to_tensor(attention_mask)
        mask = text_mask(attention_mask, batch, length, past_length, is_decoder, hidden.dtype)
        use_cache = bool(self.config.use_cache if use_cache is None else use_cache) and is_decoder
        states, attentions, crossed, caches = (), (), (), ()
        with keras.name_scope(self.encoder.name):
            for i, layer in enumerate(self.encoder.layer):
                states += (hidden,)
                past = past_key_values[i] if past_key_values else None
                hidden, probs, cross_probs, cache = layer(hidden, bias=mask, source=encoder_hidden_states, past=past,
                                                          training=training)
                attentions, crossed, caches = attentions + (probs,), crossed + (cross_probs,), caches + (cache,)
        return out.BaseModelOutputWithPoolingAndCrossAttentions(
            last_hidden_state=hidden, pooler_output=self.pooler(hidden) if self.pooler is not None else None,
            hidden_states=states + (hidden,) if output_hidden_states else None,
            past_key_values=caches if use_cache else None, attentions=attentions if output_attentions else None,
            cross_attentions=crossed if output_attentions and crossed[0] is not None else None,
        )  # fmt: skip


class TFBlipPredictionTransform(Layer):
    """The prediction head's `transform` weights (dense, LayerNorm); the head applies them with its activation."""

    def __init__(self, config: BlipTextConfig, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense(config, config.hidden_size, "dense")
        self.LayerNorm = layer_norm(config.layer_norm_eps, "LayerNorm")

    def input_sizes(self):
        return dict.fromkeys((self.dense, self.LayerNorm), self.dense.units)


class TFBlipPredictionHead(Layer):
    """transform (dense, activation, LayerNorm), then the vocabulary scores: the word embeddings (tied) or an own
    `decoder`, plus `bias`."""

    def __init__(self, config: BlipTextConfig, embeddings, **kwargs):
        super().__init__(**kwargs)
        self.config, self.embeddings = config, embeddings
        self.transform = TFBlipPredictionTransform(config, name="transform")
        self.act = get_activation(config.hidden_act)
        self.tied = getattr(config, "tie_word_embeddings", True)
        self.decoder = None if self.tied else dense(config, config.vocab_size, "decoder", use_bias=False)

    def build(self, input_shape=None):
        self.bias = self.add_weight(name="bias", shape=(self.config.vocab_size,), initializer="zeros")
        super().build(input_shape)

    def input_sizes(self):
        return {self.transform: None, self.decoder: self.config.hidden_size}

    def call(self, hidden):
        if not self.built:
            self.build()
        with keras.name_scope(self.transform.name):
            hidden = self.transform.LayerNorm(self.act(self.transform.dense(hidden)))
        if self.tied:
            scores = tf.matmul(hidden, tf.cast(self.embeddings.embeddings, hidden.dtype), transpose_b=True)
        else:
            scores = self.decoder(hidden)
        return scores + tf.cast(self.bias, scores.dtype)


class TFBlipLMHead(Layer):
    def __init__(self, config: BlipTextConfig, embeddings, **kwargs):
        super().__init__(**kwargs)
        self.predictions = TFBlipPredictionHead(config, embeddings, name="predictions")

    def input_sizes(self):
        return {self.predictions: None}

    def call(self, hidden):
        return self.predictions(hidden)


def smoothed_lm_loss(scores, labels, smoothing: float):
    """Next-token cross-entropy (position t predicts label t+1), -100 ignored, label smoothing as torch's."""
    logits = tf.cast(scores[:, :-1], tf.float32)
    labels = tf.cast(tf.convert_to_tensor(labels)[:, 1:], tf.int32)
    keep = labels != -100
    log_probs = tf.nn.log_softmax(logits, axis=-1)
    nll = -tf.gather(log_probs, tf.where(keep, labels, 0)[..., None], batch_dims=2)[..., 0]
    losses = (1.0 - smoothing) * nll - smoothing * tf.reduce_mean(log_probs, axis=-1)
    return tf.reduce_sum(tf.where(keep, losses, 0.0)) / tf.maximum(tf.reduce_sum(tf.cast(keep, tf.float32)), 1.0)


class TFBlipTextLMHead(Layer):
    """BlipTextLMHeadModel's layers: `bert` (no pooler) and `cls`."""

    def __init__(self, config: BlipTextConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.bert = TFBlipTextModel(config, add_pooling_layer=False, name="bert")
        self.cls = TFBlipLMHead(config, self.bert.embeddings.word_embeddings, name="cls")

    def input_sizes(self):
        return {self.bert: None, self.cls: None}

    def call(self, input_ids=None, attention_mask=None, position_ids=None, encoder_hidden_states=None,
             encoder_attention_mask=None, past_key_values=None, use_cache=None, labels=None, output_attentions=False,
             output_hidden_states=False, training=False):  # fmt: skip
        if labels is not None:
            use_cache = False
        encoded = self.bert(input_ids, attention_mask=attention_mask, position_ids=position_ids,
                            encoder_hidden_states=encoder_hidden_states, past_key_values=past_key_values,
                            use_cache=use_cache, output_attentions=output_attentions,
                            output_hidden_states=output_hidden_states, is_decoder=True, training=training)  # fmt: skip
        scores = self.cls(encoded.last_hidden_state)
        loss = smoothed_lm_loss(scores, labels, self.config.label_smoothing) if labels is not None else None
        return out.from_encoded(out.CausalLMOutputWithCrossAttentions, encoded, loss=loss, logits=scores)


class TFBlipDecoderCall:
    def __call__(self, **kwargs):
        return self.call(**kwargs)

    def call(self, return_dict=True, **kwargs):
        return self.decoder(**kwargs)


class TFBlipDecoderRunner(TFCompiledStep, TFGenerationMixin, TFBlipDecoderCall):
    """generate() over a BLIP text decoder: the text config's generation defaults; the steps after the prompt run as
    one traced graph (TFCompiledStep), reading the cross-attention keys and values the prompt's step cached."""

    main_input_name = "input_ids"
    generation_position_ids = True
    cross_attention_caches = True

    def __init__(self, decoder: TFBlipTextLMHead):
        self.decoder, self.config = decoder, decoder.config

    def restarts_cache(self, before: int, after: int) -> bool:
        return False

    def compiled_step_allowed(self, total: int) -> bool:
        return total <= self.config.max_position_embeddings

    def step_output(self, logits, past_key_values):
        return out.CausalLMOutputWithCrossAttentions(logits=logits, past_key_values=past_key_values)


def decoder_runner(model) -> TFBlipDecoderRunner:
    """The model's one runner, so its compiled step is traced once for all its generate() calls."""
    runners = model.__dict__.setdefault("_decoder_runners", {})
    if "text" not in runners:
        runners["text"] = TFBlipDecoderRunner(model.text_decoder)
    return runners["text"]


# -- the BLIP models ------------------------------------------------------------------------------------------
class TFBlipPreTrainedModel(TFPreTrainedModel):
    config_class = BlipConfig
    base_model_prefix = "blip"

    def dummy_inputs(self) -> dict:
        v = self.config.vision_config
        return {"input_ids": np.ones((1, 2), np.int32),
                "pixel_values": np.zeros((1, 3, v.image_size, v.image_size), np.float32)}  # fmt: skip


def vision_call(tower, pixel_values, output_attentions, output_hidden_states, interpolate_pos_encoding, training):
    return tower(tf.convert_to_tensor(pixel_values), output_attentions=bool(output_attentions),
                 output_hidden_states=bool(output_hidden_states), interpolate_pos_encoding=bool(interpolate_pos_encoding),
                 training=training)  # fmt: skip


class TFBlipMainLayer(Layer):
    def __init__(self, config: BlipConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.text_model = TFBlipTextModel(config.text_config, name="text_model")
        self.vision_model = TFBlipVisionTransformer(config.vision_config, name="vision_model")
        self.visual_projection = dense(config, config.projection_dim, "visual_projection", use_bias=False)
        self.text_projection = dense(config, config.projection_dim, "text_projection", use_bias=False)

    def build(self, input_shape=None):
        self.logit_scale = self.add_weight(name="logit_scale", shape=(),
                                           initializer=keras.initializers.Constant(self.config.logit_scale_init_value))  # fmt: skip
        super().build(input_shape)

    def input_sizes(self):
        return {self.text_model: None, self.vision_model: None, self.text_projection: self.text_model.output_width,
                self.visual_projection: self.vision_model.output_width}  # fmt: skip


class TFBlipModel(TFBlipPreTrainedModel):
    is_base_model = True

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        config.blip_options()
        self.blip = TFBlipMainLayer(config, name="blip")

    def input_sizes(self):
        return {self.blip: None}

    def get_text_features(self, input_ids, attention_mask=None, position_ids=None):
        text = self.blip.text_model(tf.convert_to_tensor(input_ids), attention_mask=attention_mask,
                                    position_ids=position_ids)  # fmt: skip
        return self.blip.text_projection(text.pooler_output)

    def get_image_features(self, pixel_values, interpolate_pos_encoding=False):
        vision = vision_call(self.blip.vision_model, pixel_values, False, False, interpolate_pos_encoding, False)
        return self.blip.visual_projection(vision.pooler_output)

    def call(self, input_ids=None, pixel_values=None, attention_mask=None, position_ids=None, return_loss=None,
             output_attentions=None, output_hidden_states=None, interpolate_pos_encoding=None, training=False,
             return_dict=True, **kwargs):  # fmt: skip
        blip = self.blip
        if not blip.built:
            blip.build()
        with keras.name_scope(blip.name):  # the main layer's parts are called one by one, under its scope
            if not getattr(self, "_weights_built", False):  # building: the text layers' cross-attention too
                blip.text_model(tf.ones((1, 1), tf.int32), encoder_hidden_states=tf.zeros(
                    (1, 1, self.config.vision_config.hidden_size)))
            vision = vision_call(blip.vision_model, pixel_values, output_attentions, output_hidden_states,
                                 interpolate_pos_encoding, training)  # fmt: skip
            text = blip.text_model(tf.convert_to_tensor(input_ids), attention_mask=attention_mask,
                                   position_ids=position_ids, output_attentions=bool(output_attentions),
                                   output_hidden_states=bool(output_hidden_states), training=training)  # fmt: skip
            image_embeds = tf.math.l2_normalize(blip.visual_projection(vision.pooler_output), axis=-1)
            text_embeds = tf.math.l2_normalize(blip.text_projection(text.pooler_output), axis=-1)
        logits_per_text = tf.matmul(text_embeds, image_embeds, transpose_b=True) * tf.exp(blip.logit_scale)
        loss = None
        if return_loss:
            targets = tf.range(tf.shape(logits_per_text)[0])
            loss = (tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(targets, logits_per_text))
                    + tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                        targets, tf.transpose(logits_per_text)))) / 2  # fmt: skip
        result = out.BlipOutput(loss=loss, logits_per_image=tf.transpose(logits_per_text),
                                logits_per_text=logits_per_text, text_embeds=text_embeds, image_embeds=image_embeds,
                                text_model_output=text, vision_model_output=vision)  # fmt: skip
        return out.finish(result, return_dict)


class TFBlipForConditionalGeneration(TFBlipPreTrainedModel):
    main_input_name = "pixel_values"
    _tied_weights_keys = ["text_decoder.cls.predictions.decoder.weight"]

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        config.blip_options()
        self.vision_model = TFBlipVisionTransformer(config.vision_config, name="vision_model")
        self.text_decoder = TFBlipTextLMHead(config.text_config, name="text_decoder")
        self.decoder_input_ids = config.text_config.bos_token_id
        self.decoder_pad_token_id = config.text_config.pad_token_id

    def input_sizes(self):
        return {self.vision_model: None, self.text_decoder: None}

    def call(self, pixel_values=None, input_ids=None, attention_mask=None, output_attentions=None,
             output_hidden_states=None, labels=None, interpolate_pos_encoding=None, training=False, return_dict=True,
             **kwargs):  # fmt: skip
        vision = vision_call(self.vision_model, pixel_values, output_attentions, output_hidden_states,
                             interpolate_pos_encoding, training)  # fmt: skip
        embeds = vision.last_hidden_state
        decoded = self.text_decoder(input_ids=input_ids, attention_mask=attention_mask, encoder_hidden_states=embeds,
                                    labels=labels, training=training)  # fmt: skip
        result = out.BlipForConditionalGenerationModelOutput(
            loss=decoded.loss, logits=decoded.logits, image_embeds=embeds, last_hidden_state=embeds,
            hidden_states=vision.hidden_states, attentions=vision.attentions,
        )  # fmt: skip
        return out.finish(result, return_dict)

    def generate(self, pixel_values=None, input_ids=None, attention_mask=None, interpolate_pos_encoding=False,
                 **generate_kwargs):  # fmt: skip
        text = self.config.text_config
        embeds = vision_call(self.vision_model, pixel_values, False, False, interpolate_pos_encoding, False).last_hidden_state
        if input_ids is None:
            input_ids = np.tile(np.array([[self.decoder_input_ids, text.eos_token_id]]), (embeds.shape[0], 1))
        input_ids = np.array(input_ids, dtype=np.int64)
        input_ids[:, 0] = text.bos_token_id
        attention_mask = np.asarray(attention_mask)[:, :-1] if attention_mask is not None else None
        return decoder_runner(self).generate(
            input_ids=input_ids[:, :-1], attention_mask=attention_mask, eos_token_id=text.sep_token_id,
            pad_token_id=text.pad_token_id, encoder_hidden_states=embeds, **generate_kwargs)


class TFBlipForQuestionAnswering(TFBlipPreTrainedModel):
    _tied_weights_keys = ["text_decoder.cls.predictions.decoder.weight"]

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        config.blip_options()
        self.vision_model = TFBlipVisionTransformer(config.vision_config, name="vision_model")
        self.text_encoder = TFBlipTextModel(config.text_config, add_pooling_layer=False, name="text_encoder")
        self.text_decoder = TFBlipTextLMHead(config.text_config, name="text_decoder")
        self.decoder_pad_token_id = config.text_config.pad_token_id
        self.decoder_start_token_id = config.text_config.bos_token_id

    def input_sizes(self):
        return {self.vision_model: None, self.text_encoder: None, self.text_decoder: None}

    def dummy_inputs(self) -> dict:
        return {**super().dummy_inputs(), "decoder_input_ids": np.ones((1, 2), np.int32)}

    def encode_question(self, input_ids, pixel_values, attention_mask, interpolate_pos_encoding,
                        output_attentions=None, output_hidden_states=None, training=False):  # fmt: skip
        vision = vision_call(self.vision_model, pixel_values, output_attentions, output_hidden_states,
                             interpolate_pos_encoding, training)  # fmt: skip
        question = self.text_encoder(tf.convert_to_tensor(input_ids), attention_mask=attention_mask,
                                     encoder_hidden_states=vision.last_hidden_state, training=training)  # fmt: skip
        return vision, question.last_hidden_state

    def call(self, input_ids=None, pixel_values=None, decoder_input_ids=None, decoder_attention_mask=None,
             attention_mask=None, output_attentions=None, output_hidden_states=None, labels=None,
             interpolate_pos_encoding=None, training=False, return_dict=True, **kwargs):  # fmt: skip
        if labels is None and decoder_input_ids is None:
            raise ValueError("Either `decoder_input_ids` or `labels` should be passed when calling "
                             "`TFBlipForQuestionAnswering`; for inference pass `decoder_input_ids` or call "
                             "`generate`.")  # fmt: skip
        vision, question = self.encode_question(input_ids, pixel_values, attention_mask, interpolate_pos_encoding,
                                                output_attentions, output_hidden_states, training)  # fmt: skip
        if labels is not None and decoder_input_ids is None:
            decoder_input_ids = labels
        answer = self.text_decoder(input_ids=decoder_input_ids, attention_mask=decoder_attention_mask,
                                   encoder_hidden_states=question, labels=labels, training=training)  # fmt: skip
        result = out.BlipTextVisionModelOutput(
            loss=answer.loss, image_embeds=vision.last_hidden_state, last_hidden_state=vision.last_hidden_state,
            hidden_states=vision.hidden_states, attentions=vision.attentions,
        )  # fmt: skip
        return out.finish(result, return_dict)

    def generate(self, input_ids=None, pixel_values=None, attention_mask=None, interpolate_pos_encoding=False,
                 **generate_kwargs):  # fmt: skip
        text = self.config.text_config
        _, question = self.encode_question(input_ids, pixel_values, attention_mask, interpolate_pos_encoding)
        start = np.full((question.shape[0], 1), self.decoder_start_token_id, np.int64)
        return decoder_runner(self).generate(
            input_ids=start, eos_token_id=text.sep_token_id, pad_token_id=text.pad_token_id,
            encoder_hidden_states=question, **generate_kwargs)
