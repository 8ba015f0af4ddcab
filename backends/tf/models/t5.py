"""T5 in TensorFlow (Keras 3): pre-norm encoder-decoder with RMS norms, bucketed relative attention bias
(owned by each stack's first block, shared by the rest), no score scaling, an optional gated feed-forward.

Layer names follow transformers' TF T5 (`encoder/block_._0/layer_._0/SelfAttention/q/kernel`), so the
shared converter maps every variable to its canonical PyTorch name by its generic rules.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload.models.t5 import T5Config

from ..activations import get_activation
from ..attention import causal_bias, extend_cache, merge_heads, split_heads
from ..blocks.norms import TFRMSNorm
from ..blocks.seq2seq import padding_bias
from ..generation import TFGenerationMixin
from ..losses import sequence_classification_loss, span_loss, token_loss
from ..modeling import Layer, NamedWeight, TFPreTrainedModel, dense, weights_init


def relative_position_bucket(relative, bidirectional: bool, num_buckets: int, max_distance: int):
    """Exact buckets for small offsets, logarithmically wider ones up to max_distance (int32 tensors)."""
    bucket = tf.zeros_like(relative)
    if bidirectional:
        num_buckets //= 2
        bucket += tf.cast(relative > 0, relative.dtype) * num_buckets
        distance = tf.abs(relative)
    else:
        distance = -tf.minimum(relative, 0)
    exact = num_buckets // 2
    # max(distance, 1): the log branch is only used where distance >= exact; this keeps log(0) out of it.
    scaled = tf.math.log(tf.cast(tf.maximum(distance, 1), tf.float32) / exact) / math.log(max_distance / exact)
    far = exact + tf.cast(scaled * (num_buckets - exact), relative.dtype)
    far = tf.minimum(far, num_buckets - 1)
    return bucket + tf.where(distance < exact, distance, far)


class TFT5Attention(Layer):
    """Returns (output, (key, value), position bias); the layer owning the bias table computes the bias."""

    def __init__(self, config: T5Config, is_decoder: bool, has_relative_attention_bias: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.config, self.is_decoder = config, is_decoder
        inner = config.num_heads * config.d_kv
        self.q = dense(config, inner, "q", use_bias=False)
        self.k = dense(config, inner, "k", use_bias=False)
        self.v = dense(config, inner, "v", use_bias=False)
        self.o = dense(config, config.d_model, "o", use_bias=False)
        self.has_relative_attention_bias = has_relative_attention_bias
        if has_relative_attention_bias:
            self.relative_attention_bias = NamedWeight(
                (config.relative_attention_num_buckets, config.num_heads), "embeddings", weights_init(config),
                name="relative_attention_bias",
            )  # fmt: skip
        self.dropout = keras.layers.Dropout(config.dropout_rate)

    def position_bias(self, query_length, key_length):
        """[1, heads, query, key] learned bias for the offsets of the last query_length positions."""
        c = self.config
        context = tf.range(key_length - query_length, key_length)[:, None]
        memory = tf.range(key_length)[None, :]
        buckets = relative_position_bucket(memory - context, not self.is_decoder, c.relative_attention_num_buckets,
                                           c.relative_attention_max_distance)  # fmt: skip
        return tf.transpose(self.relative_attention_bias(buckets), (2, 0, 1))[None]

    def call(self, hidden, mask_bias=None, position_bias=None, key_value_states=None, past=None):
        c = self.config
        q = split_heads(self.q(hidden), c.num_heads, c.d_kv)
        if key_value_states is not None and past is not None:  # cross-attention: encoder keys never change
            k, v = past
        else:
            source = hidden if key_value_states is None else key_value_states
            k, v = extend_cache(past, split_heads(self.k(source), c.num_heads, c.d_kv),
                                split_heads(self.v(source), c.num_heads, c.d_kv))  # fmt: skip
        if position_bias is None and self.has_relative_attention_bias:
            position_bias = self.position_bias(tf.shape(hidden)[1], tf.shape(k)[2])
        scores = tf.matmul(q, k, transpose_b=True)
        if position_bias is not None:
            scores = scores + tf.cast(position_bias, scores.dtype)
        if mask_bias is not None:
            scores = scores + mask_bias
        probs = self.dropout(tf.nn.softmax(scores, axis=-1))
        return self.o(merge_heads(tf.matmul(probs, v))), (k, v), position_bias


class TFT5DenseActDense(Layer):
    def __init__(self, config: T5Config, **kwargs):
        super().__init__(**kwargs)
        self.gated = config.is_gated_act
        if self.gated:
            self.wi_0 = dense(config, config.d_ff, "wi_0", use_bias=False)
            self.wi_1 = dense(config, config.d_ff, "wi_1", use_bias=False)
        else:
            self.wi = dense(config, config.d_ff, "wi", use_bias=False)
        self.wo = dense(config, config.d_model, "wo", use_bias=False)
        self.dropout = keras.layers.Dropout(config.dropout_rate)
        self.act = get_activation(config.dense_act_fn)

    def call(self, hidden):
        inner = self.act(self.wi_0(hidden)) * self.wi_1(hidden) if self.gated else self.act(self.wi(hidden))
        return self.wo(self.dropout(inner))


def _norm(config: T5Config, name: str) -> TFRMSNorm:
    # Same scale-only RMS norm as Llama's: no mean subtraction, no bias, statistics in float32.
    return TFRMSNorm(config.d_model, config.layer_norm_epsilon, name=name)


class TFT5SubLayer(Layer):
    """One of a block's `layer_._<i>` entries: self-attention, cross-attention or feed-forward, pre-normed."""

    def __init__(self, config: T5Config, kind: str, is_decoder: bool = False, first: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.kind = kind
        if kind == "ff":
            self.DenseReluDense = TFT5DenseActDense(config, name="DenseReluDense")
        elif kind == "self":
            self.SelfAttention = TFT5Attention(config, is_decoder, first, name="SelfAttention")
        else:
            self.EncDecAttention = TFT5Attention(config, True, False, name="EncDecAttention")
        self.layer_norm = _norm(config, "layer_norm")
        self.dropout = keras.layers.Dropout(config.dropout_rate)

    def call(self, hidden, mask_bias=None, position_bias=None, encoder_hidden=None, past=None):
        normed = self.layer_norm(hidden)
        if self.kind == "ff":
            return hidden + self.dropout(self.DenseReluDense(normed)), None, None
        attention = self.SelfAttention if self.kind == "self" else self.EncDecAttention
        attended, cache, position_bias = attention(normed, mask_bias, position_bias, encoder_hidden, past)
        return hidden + self.dropout(attended), cache, position_bias


class TFT5Block(Layer):
    def __init__(self, config: T5Config, is_decoder: bool, first: bool, **kwargs):
        super().__init__(**kwargs)
        self.is_decoder = is_decoder
        self.layer = [TFT5SubLayer(config, "self", is_decoder, first, name="layer_._0")]
        if is_decoder:
            self.layer.append(TFT5SubLayer(config, "cross", name="layer_._1"))
        self.layer.append(TFT5SubLayer(config, "ff", name=f"layer_._{len(self.layer)}"))

    def call(self, hidden, mask_bias=None, position_bias=None, encoder_hidden=None, cross_bias=None, past=None):
        hidden, cache, position_bias = self.layer[0](hidden, mask_bias, position_bias, past=past[:2] if past else None)
        if self.is_decoder:
            hidden, cross, _ = self.layer[1](hidden, cross_bias, encoder_hidden=encoder_hidden,
                                             past=past[2:] if past else None)  # fmt: skip
            cache = cache + cross
        hidden, _, _ = self.layer[-1](hidden)
        return hidden, cache, position_bias


class TFT5Stack(Layer):
    def __init__(self, config: T5Config, embed_tokens: NamedWeight, is_decoder: bool, **kwargs):
        super().__init__(**kwargs)
        self.embed_tokens, self.is_decoder = embed_tokens, is_decoder
        depth = config.num_decoder_layers if is_decoder else config.num_layers
        self.block = [TFT5Block(config, is_decoder, i == 0, name=f"block_._{i}") for i in range(depth)]
        self.final_layer_norm = _norm(config, "final_layer_norm")
        self.dropout = keras.layers.Dropout(config.dropout_rate)

    def call(self, input_ids=None, attention_mask=None, encoder_hidden=None, encoder_attention_mask=None,
             inputs_embeds=None, past_key_values=None, output_hidden_states=False):  # fmt: skip
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of input_ids and inputs_embeds (decoder: decoder_input_ids).")
        embeds = self.embed_tokens(input_ids) if inputs_embeds is None else inputs_embeds
        dtype = embeds.dtype
        if self.is_decoder:
            past_length = tf.shape(past_key_values[0][0])[2] if past_key_values else 0
            mask_bias = causal_bias(tf.shape(embeds)[1], past_length, attention_mask, dtype)
        else:
            mask_bias = padding_bias(attention_mask, dtype)
        cross_bias = padding_bias(encoder_attention_mask, dtype) if encoder_hidden is not None else None
        hidden = self.dropout(embeds)
        position_bias, states, caches = None, (), ()
        for i, block in enumerate(self.block):
            states += (hidden,)
            hidden, cache, position_bias = block(hidden, mask_bias, position_bias, encoder_hidden, cross_bias,
                                                 past_key_values[i] if past_key_values else None)  # fmt: skip
            caches += (cache,)
        hidden = self.dropout(self.final_layer_norm(hidden))
        return out.BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden, past_key_values=caches,
            hidden_states=states + (hidden,) if output_hidden_states else None,
        )  # fmt: skip


def _tensor(value):
    return None if value is None else tf.convert_to_tensor(value)


def shift_right(input_ids, config: T5Config):
    start = config.decoder_start_token_id
    if start is None:
        raise ValueError("config.decoder_start_token_id is not set; it is needed to build decoder inputs.")
    input_ids = tf.convert_to_tensor(input_ids)
    first = tf.fill((tf.shape(input_ids)[0], 1), tf.cast(start, input_ids.dtype))
    shifted = tf.concat([first, input_ids[:, :-1]], axis=1)
    return tf.where(shifted == -100, tf.cast(config.pad_token_id, input_ids.dtype), shifted)


class TFT5PreTrainedModel(TFPreTrainedModel):
    config_class = T5Config
    base_model_prefix = "transformer"
    # Aliases of `shared` (pytorch_model.bin keeps them) and a cross-attention bias table old checkpoints
    # carry but never use; neither names a TF variable.
    _keys_to_ignore_on_load_unexpected = [r"(^|\.)(encoder|decoder)\.embed_tokens\.weight$",
                                          r"decoder\.block\.0\.layer\.1\.EncDecAttention\.relative_attention_bias"]  # fmt: skip

    def dummy_inputs(self) -> dict:
        ids = np.full((1, 2), self.config.eos_token_id if self.config.eos_token_id is not None else 1, np.int32)
        return {"input_ids": ids, "decoder_input_ids": ids}


class _TFT5Parts(TFT5PreTrainedModel):
    """The shared embedding and the encoder (and decoder): what every T5 model but the wrappers holds."""

    with_decoder = True

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        shape = (config.vocab_size, config.d_model)
        self.shared = NamedWeight(shape, "embeddings", weights_init(config), name="shared")
        self.encoder = TFT5Stack(config, self.shared, False, name="encoder")
        if self.with_decoder:
            self.decoder = TFT5Stack(config, self.shared, True, name="decoder")

    def _build_shared(self):
        if not self.shared.built:  # create it under `<model>/shared`, not under whichever stack uses it first
            self.shared(tf.zeros((1, 1), tf.int32))

    def encode(self, input_ids=None, attention_mask=None, inputs_embeds=None, output_hidden_states=False, **kwargs):
        self._build_shared()
        encoded = self.encoder(_tensor(input_ids), attention_mask=_tensor(attention_mask),
                               inputs_embeds=_tensor(inputs_embeds), output_hidden_states=output_hidden_states)  # fmt: skip
        return out.BaseModelOutput(last_hidden_state=encoded.last_hidden_state, hidden_states=encoded.hidden_states)

    def _run(self, input_ids=None, attention_mask=None, decoder_input_ids=None, decoder_attention_mask=None,
             encoder_outputs=None, past_key_values=None, inputs_embeds=None, decoder_inputs_embeds=None,
             output_hidden_states=False, **kwargs):  # fmt: skip
        self._build_shared()
        if encoder_outputs is None:
            encoder_outputs = self.encode(input_ids, attention_mask, inputs_embeds, output_hidden_states)
        elif isinstance(encoder_outputs, (tuple, list)):
            encoder_outputs = out.BaseModelOutput(last_hidden_state=encoder_outputs[0])
        if decoder_input_ids is None and decoder_inputs_embeds is None:
            raise ValueError(
                f"{type(self).__name__} needs decoder_input_ids (or labels, from which they are built by shifting "
                "right); an encoder-decoder model cannot run its decoder without inputs."
            )
        decoded = self.decoder(decoder_input_ids, attention_mask=decoder_attention_mask,
                               encoder_hidden=encoder_outputs.last_hidden_state, encoder_attention_mask=attention_mask,
                               inputs_embeds=decoder_inputs_embeds, past_key_values=past_key_values,
                               output_hidden_states=output_hidden_states)  # fmt: skip
        return encoder_outputs, decoded

    def _use_cache(self, use_cache, training) -> bool:
        return False if training else bool(self.config.use_cache if use_cache is None else use_cache)


def _seq2seq_fields(encoded, decoded, use_cache: bool) -> dict:
    return dict(
        past_key_values=decoded.past_key_values if use_cache else None, decoder_hidden_states=decoded.hidden_states,
        encoder_last_hidden_state=encoded.last_hidden_state, encoder_hidden_states=encoded.hidden_states,
    )  # fmt: skip


class TFT5Model(_TFT5Parts):
    def call(self, input_ids=None, use_cache=None, training=False, return_dict=True, **kwargs):
        use_cache = self._use_cache(use_cache, training)
        encoded, decoded = self._run(input_ids, **kwargs)
        result = out.Seq2SeqModelOutput(last_hidden_state=decoded.last_hidden_state,
                                        **_seq2seq_fields(encoded, decoded, use_cache))  # fmt: skip
        return out.finish(result, return_dict)


class TFT5ForConditionalGeneration(TFGenerationMixin, _TFT5Parts):
    # A tied head has no lm_head variable: the shared embedding serves (an untied one loads lm_head.weight).
    _keys_to_ignore_on_load_unexpected = [*TFT5PreTrainedModel._keys_to_ignore_on_load_unexpected, r"^lm_head\.weight$"]
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        if not config.tie_word_embeddings:
            self.lm_head = dense(config, config.vocab_size, "lm_head", use_bias=False)

    def _logits(self, hidden):
        if self.config.tie_word_embeddings:  # the shared matrix was trained at this scale
            return tf.matmul(hidden * self.config.d_model**-0.5, self.shared.weight, transpose_b=True)
        return self.lm_head(hidden)

    def decode(self, decoder_input_ids, encoder_outputs, attention_mask=None, past_key_values=None):
        decoded = self.decoder(_tensor(decoder_input_ids), encoder_hidden=encoder_outputs.last_hidden_state,
                               encoder_attention_mask=_tensor(attention_mask), past_key_values=past_key_values)  # fmt: skip
        logits = self._logits(decoded.last_hidden_state)
        return out.Seq2SeqLMOutput(logits=logits, past_key_values=decoded.past_key_values)

    def call(self, input_ids=None, labels=None, use_cache=None, training=False, return_dict=True, **kwargs):
        use_cache = self._use_cache(use_cache, training)
        given = [kwargs.get(k) for k in ("decoder_input_ids", "decoder_inputs_embeds")]
        if labels is not None and all(x is None for x in given):
            kwargs["decoder_input_ids"] = shift_right(labels, self.config)
        encoded, decoded = self._run(input_ids, **kwargs)
        logits = self._logits(decoded.last_hidden_state)
        loss = token_loss(logits, labels) if labels is not None else None
        result = out.Seq2SeqLMOutput(loss=loss, logits=logits, **_seq2seq_fields(encoded, decoded, use_cache))
        return out.finish(result, return_dict)


class TFT5EncoderModel(_TFT5Parts):
    with_decoder = False

    def dummy_inputs(self) -> dict:
        return {"input_ids": super().dummy_inputs()["input_ids"]}

    def call(self, input_ids=None, attention_mask=None, inputs_embeds=None, output_hidden_states=False,
                training=False, return_dict=True, **kwargs):  # fmt: skip
        return out.finish(self.encode(input_ids, attention_mask, inputs_embeds, output_hidden_states), return_dict)


class TFT5ForQuestionAnswering(_TFT5Parts):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.qa_outputs = dense(config, config.num_labels, "qa_outputs")

    def call(self, input_ids=None, decoder_input_ids=None, start_positions=None, end_positions=None,
                training=False, return_dict=True, **kwargs):  # fmt: skip
        if decoder_input_ids is None and kwargs.get("decoder_inputs_embeds") is None:
            if input_ids is None:
                raise ValueError("T5ForQuestionAnswering needs input_ids or decoder_input_ids.")
            decoder_input_ids = shift_right(input_ids, self.config)
        kwargs.pop("past_key_values", None)
        encoded, decoded = self._run(input_ids, decoder_input_ids=decoder_input_ids, **kwargs)
        start, end = tf.split(self.qa_outputs(decoded.last_hidden_state), 2, axis=-1)
        start, end = tf.squeeze(start, -1), tf.squeeze(end, -1)
        loss = None
        if start_positions is not None and end_positions is not None:
            loss = span_loss(start, end, start_positions, end_positions)
        result = out.Seq2SeqQuestionAnsweringModelOutput(loss=loss, start_logits=start, end_logits=end,
                                                         **_seq2seq_fields(encoded, decoded, False))  # fmt: skip
        return out.finish(result, return_dict)


class TFT5ClassificationHead(Layer):
    def __init__(self, config: T5Config, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense(config, config.d_model, "dense")
        self.dropout = keras.layers.Dropout(config.classifier_dropout)
        self.out_proj = dense(config, config.num_labels, "out_proj")

    def call(self, hidden):
        return self.out_proj(self.dropout(tf.tanh(self.dense(self.dropout(hidden)))))


class TFT5ForSequenceClassification(TFT5PreTrainedModel):
    """Classifies from the decoder state at the last end-of-sequence token (decoder fed input_ids shifted)."""

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.transformer = TFT5Model(config, name="transformer")
        self.classification_head = TFT5ClassificationHead(config, name="classification_head")

    def call(self, input_ids=None, decoder_input_ids=None, labels=None, output_hidden_states=False,
                training=False, return_dict=True, **kwargs):  # fmt: skip
        if input_ids is None:
            raise ValueError("T5ForSequenceClassification needs input_ids (it finds the end-of-sequence tokens).")
        if decoder_input_ids is None:
            decoder_input_ids = shift_right(input_ids, self.config)
        eos = tf.cast(input_ids == self.config.eos_token_id, tf.int32)
        if tf.executing_eagerly():
            counts = tf.reduce_sum(eos, axis=1).numpy()
            if counts.min() == 0 or (counts != counts[0]).any():
                raise ValueError("Every example must contain the same number (at least one) of end-of-sequence tokens.")
        keep = ("attention_mask", "decoder_attention_mask", "encoder_outputs", "inputs_embeds", "decoder_inputs_embeds")
        encoded = self.transformer(input_ids=input_ids, decoder_input_ids=decoder_input_ids, use_cache=False,
                                   output_hidden_states=output_hidden_states, return_dict=True,
                                   **{k: kwargs[k] for k in keep if kwargs.get(k) is not None})  # fmt: skip
        last_eos = tf.shape(input_ids)[-1] - 1 - tf.argmax(eos[:, ::-1], axis=-1, output_type=tf.int32)
        logits = self.classification_head(tf.gather(encoded.last_hidden_state, last_eos, batch_dims=1))
        loss = sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        result = out.Seq2SeqSequenceClassifierOutput(
            loss=loss, logits=logits, decoder_hidden_states=encoded.decoder_hidden_states,
            encoder_last_hidden_state=encoded.encoder_last_hidden_state,
            encoder_hidden_states=encoded.encoder_hidden_states,
        )  # fmt: skip
        return out.finish(result, return_dict)


class TFT5ForTokenClassification(TFT5PreTrainedModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.transformer = TFT5EncoderModel(config, name="transformer")
        self.dropout = keras.layers.Dropout(config.classifier_dropout)
        self.classifier = dense(config, config.num_labels, "classifier")

    def dummy_inputs(self) -> dict:
        return {"input_ids": super().dummy_inputs()["input_ids"]}

    def call(self, input_ids=None, attention_mask=None, labels=None, output_hidden_states=False, training=False,
                return_dict=True, **kwargs):  # fmt: skip
        encoded = self.transformer(input_ids=input_ids, attention_mask=attention_mask,
                                   inputs_embeds=kwargs.get("inputs_embeds"), output_hidden_states=output_hidden_states,
                                   return_dict=True)  # fmt: skip
        logits = self.classifier(self.dropout(encoded.last_hidden_state))
        loss = token_loss(logits, labels) if labels is not None else None
        return out.finish(out.TokenClassifierOutput(loss=loss, logits=logits, hidden_states=encoded.hidden_states),
                          return_dict)  # fmt: skip
