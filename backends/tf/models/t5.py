"""T5 in TensorFlow (Keras 3): pre-norm encoder-decoder with RMS norms, bucketed relative attention bias
(owned by each stack's first block, shared by the rest), no score scaling, an optional gated feed-forward.
T5 keeps its own attention and stacks; the encoder-decoder pass, the output fields, the RMS norm and the
sequence / token classification heads are the shared ones.

Layer names follow transformers' TF T5 (`encoder/block_._0/layer_._0/SelfAttention/q/kernel`), so the
shared converter maps every variable to its canonical PyTorch name by its generic rules.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload.models.t5 import T5Config

from ..activations import get_activation
from ..attention import causal_bias, extend_cache, merge_heads, split_heads
from ..blocks.norms import TFRMSNorm
from ..blocks.seq2seq import TFEncoderDecoderParts, padding_bias, seq2seq_output, shift_tokens_right
from ..generation import TFGenerationMixin
from ..heads import TFSequenceClassificationModel, TFTokenClassificationModel
from ..losses import span_loss, token_loss
from ..modeling import Dropout, Layer, NamedWeight, TFPreTrainedModel, dense, weights_init


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
    """Returns (output, (key, value), position bias, weights); the layer owning the bias table computes the bias."""

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
        self.dropout = Dropout(config.dropout_rate)

    def input_sizes(self):  # queries and keys / values (a cross-attention's encoder states too) are d_model wide
        d = self.config.d_model
        return {self.q: d, self.k: d, self.v: d, self.o: self.q.units,
                getattr(self, "relative_attention_bias", None): None}  # fmt: skip

    def position_bias(self, query_length, key_length):
        """[1, heads, query, key] learned bias for the offsets of the last query_length positions."""
        c = self.config
        context = tf.range(key_length - query_length, key_length)[:, None]
        memory = tf.range(key_length)[None, :]
        buckets = relative_position_bucket(memory - context, not self.is_decoder, c.relative_attention_num_buckets,
                                           c.relative_attention_max_distance)  # fmt: skip
        return tf.transpose(self.relative_attention_bias(buckets), (2, 0, 1))[None]

    def call(self, hidden, mask_bias=None, position_bias=None, key_value_states=None, past=None, training=False):
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
        weights = tf.nn.softmax(scores, axis=-1)
        context = tf.matmul(self.dropout(weights, training=training), v)
        return self.o(merge_heads(context)), (k, v), position_bias, weights


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
        self.dropout = Dropout(config.dropout_rate)
        self.act = get_activation(config.dense_act_fn)
        self.sizes = {**dict.fromkeys([getattr(self, n, None) for n in ("wi_0", "wi_1", "wi")], config.d_model),
                      self.wo: config.d_ff}  # fmt: skip

    def input_sizes(self):
        return self.sizes

    def call(self, hidden, training=False):
        inner = self.act(self.wi_0(hidden)) * self.wi_1(hidden) if self.gated else self.act(self.wi(hidden))
        return self.wo(self.dropout(inner, training=training))


def _norm(config: T5Config, name: str) -> TFRMSNorm:
    # Same scale-only RMS norm as Llama's: no mean subtraction, no bias, statistics in float32.
    return TFRMSNorm(config.d_model, config.layer_norm_epsilon, name=name)


class TFT5SubLayer(Layer):
    """One of a block's `layer_._<i>` entries: self-attention, cross-attention or feed-forward, pre-normed.
    Returns (hidden, cache, position bias, attention weights)."""

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
        self.dropout = Dropout(config.dropout_rate)

    def input_sizes(self):
        inner = getattr(self, {"ff": "DenseReluDense", "self": "SelfAttention"}.get(self.kind, "EncDecAttention"))
        return {inner: None, self.layer_norm: self.layer_norm.size}

    def call(self, hidden, mask_bias=None, position_bias=None, encoder_hidden=None, past=None, training=False):
        normed = self.layer_norm(hidden)
        if self.kind == "ff":
            return hidden + self.dropout(self.DenseReluDense(normed, training=training), training=training), None, None, None
        attention = self.SelfAttention if self.kind == "self" else self.EncDecAttention
        attended, cache, position_bias, weights = attention(normed, mask_bias, position_bias, encoder_hidden, past,
                                                            training=training)  # fmt: skip
        return hidden + self.dropout(attended, training=training), cache, position_bias, weights


class TFT5Block(Layer):
    def __init__(self, config: T5Config, is_decoder: bool, first: bool, **kwargs):
        super().__init__(**kwargs)
        self.is_decoder = is_decoder
        self.layer = [TFT5SubLayer(config, "self", is_decoder, first, name="layer_._0")]
        if is_decoder:
            self.layer.append(TFT5SubLayer(config, "cross", name="layer_._1"))
        self.layer.append(TFT5SubLayer(config, "ff", name=f"layer_._{len(self.layer)}"))

    def input_sizes(self):
        return dict.fromkeys(self.layer)

    def call(self, hidden, mask_bias=None, position_bias=None, encoder_hidden=None, cross_bias=None, past=None,
             training=False):  # fmt: skip
        """Returns (hidden, cache, position bias, self-attention weights, cross-attention weights)."""
        hidden, cache, position_bias, weights = self.layer[0](hidden, mask_bias, position_bias,
                                                              past=past[:2] if past else None, training=training)  # fmt: skip
        cross_weights = None
        if self.is_decoder and encoder_hidden is not None:
            hidden, cross, _, cross_weights = self.layer[1](hidden, cross_bias, encoder_hidden=encoder_hidden,
                                                            past=past[2:] if past else None, training=training)  # fmt: skip
            cache = cache + cross
        hidden = self.layer[-1](hidden, training=training)[0]
        return hidden, cache, position_bias, weights, cross_weights


class TFT5Stack(Layer):
    def __init__(self, config: T5Config, embed_tokens: NamedWeight, is_decoder: bool, **kwargs):
        super().__init__(**kwargs)
        self.embed_tokens, self.is_decoder = embed_tokens, is_decoder
        depth = config.num_decoder_layers if is_decoder else config.num_layers
        self.block = [TFT5Block(config, is_decoder, i == 0, name=f"block_._{i}") for i in range(depth)]
        self.final_layer_norm = _norm(config, "final_layer_norm")
        self.dropout = Dropout(config.dropout_rate)

    def input_sizes(self):  # the shared embedding is the model's, built there first (under `<model>/shared`)
        return {self.embed_tokens: None, **dict.fromkeys(self.block), self.final_layer_norm: self.final_layer_norm.size}

    def call(self, input_ids=None, attention_mask=None, inputs_embeds=None, encoder_hidden_states=None,
             encoder_attention_mask=None, past_key_values=None, use_cache=False, output_attentions=False,
             output_hidden_states=False, training=False):  # fmt: skip
        input_ids, inputs_embeds = _tensor(input_ids), _tensor(inputs_embeds)
        attention_mask, encoder_attention_mask = _tensor(attention_mask), _tensor(encoder_attention_mask)
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of input_ids and inputs_embeds (decoder: decoder_input_ids).")
        embeds = self.embed_tokens(input_ids) if inputs_embeds is None else inputs_embeds
        dtype = embeds.dtype
        if self.is_decoder:
            past_length = tf.shape(past_key_values[0][0])[2] if past_key_values else 0
            mask_bias = causal_bias(tf.shape(embeds)[1], past_length, attention_mask, dtype)
        else:
            mask_bias = padding_bias(attention_mask, dtype)
        encoder_hidden = encoder_hidden_states
        cross_bias = padding_bias(encoder_attention_mask, dtype) if encoder_hidden is not None else None
        hidden = self.dropout(embeds, training=training)
        position_bias, states, caches, self_weights, cross_weights = None, (), (), (), ()
        for i, block in enumerate(self.block):
            states += (hidden,)
            hidden, cache, position_bias, weights, cross = block(
                hidden, mask_bias, position_bias, encoder_hidden, cross_bias,
                past_key_values[i] if past_key_values else None, training=training,
            )  # fmt: skip
            caches, self_weights, cross_weights = caches + (cache,), self_weights + (weights,), cross_weights + (cross,)
        hidden = self.dropout(self.final_layer_norm(hidden), training=training)
        return out.BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden, past_key_values=caches if use_cache else None,
            hidden_states=states + (hidden,) if output_hidden_states else None,
            attentions=self_weights if output_attentions else None,
            cross_attentions=cross_weights if output_attentions and encoder_hidden is not None else None,
        )  # fmt: skip


def _tensor(value):
    return None if value is None else tf.convert_to_tensor(value)


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

    def _shift_right(self, input_ids):
        return shift_tokens_right(input_ids, self.config.pad_token_id, self.config.decoder_start_token_id)


class TFT5EncoderStack(TFT5Stack):
    def __init__(self, config, embed_tokens, decoder: bool = False, **kwargs):
        super().__init__(config, embed_tokens, False, **kwargs)


class TFT5DecoderStack(TFT5Stack):
    def __init__(self, config, embed_tokens, decoder: bool = True, **kwargs):
        super().__init__(config, embed_tokens, True, **kwargs)


class _TFT5Parts(TFEncoderDecoderParts, TFT5PreTrainedModel):
    """The shared embedding, encoder and decoder at the model's own scope (`tf_t5_model/encoder/…`)."""

    encoder_class = TFT5EncoderStack
    decoder_class = TFT5DecoderStack

    def __init__(self, config, *args, **kwargs):
        TFT5PreTrainedModel.__init__(self, config, *args, **kwargs)
        self.init_parts(config)

    def _use_cache(self, use_cache, training) -> bool:
        return False if training else bool(self.config.use_cache if use_cache is None else use_cache)

    @property
    def output_width(self) -> int:
        return self.config.d_model

    def input_sizes(self):  # `shared` first, so its path is `<model>/shared`, not a stack's
        d = self.config.d_model
        return {self.shared: None, self.encoder: None, self.decoder: None, getattr(self, "lm_head", None): d,
                getattr(self, "qa_outputs", None): d}  # fmt: skip


_RUN_KEYS = ("attention_mask", "decoder_input_ids", "decoder_attention_mask", "encoder_outputs", "past_key_values",
             "inputs_embeds", "decoder_inputs_embeds", "output_attentions", "output_hidden_states")  # fmt: skip


def _run_kwargs(kwargs: dict) -> dict:
    return {k: kwargs[k] for k in _RUN_KEYS if kwargs.get(k) is not None}


class TFT5Model(_TFT5Parts):
    def call(self, input_ids=None, use_cache=None, training=False, return_dict=True, **kwargs):
        encoded, decoded = self.run(input_ids, use_cache=self._use_cache(use_cache, training), training=training,
                                    **_run_kwargs(kwargs))  # fmt: skip
        result = seq2seq_output(out.Seq2SeqModelOutput, encoded, decoded, last_hidden_state=decoded.last_hidden_state)
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

    def encode(self, input_ids=None, attention_mask=None, **kwargs):
        return self.run_encoder(input_ids, attention_mask=_tensor(attention_mask))

    def decode(self, decoder_input_ids, encoder_outputs, attention_mask=None, past_key_values=None):
        decoded = self.run_decoder(decoder_input_ids, encoder_outputs.last_hidden_state,
                                   attention_mask=_tensor(attention_mask), past_key_values=past_key_values)  # fmt: skip
        return out.Seq2SeqLMOutput(logits=self._logits(decoded.last_hidden_state), past_key_values=decoded.past_key_values)

    def call(self, input_ids=None, labels=None, use_cache=None, training=False, return_dict=True, **kwargs):
        use_cache = False if labels is not None else self._use_cache(use_cache, training)
        if labels is not None and kwargs.get("decoder_input_ids") is None and kwargs.get("decoder_inputs_embeds") is None:
            kwargs["decoder_input_ids"] = self._shift_right(labels)
        encoded, decoded = self.run(input_ids, use_cache=use_cache, training=training, **_run_kwargs(kwargs))
        logits = self._logits(decoded.last_hidden_state)
        loss = token_loss(logits, labels) if labels is not None else None
        return out.finish(seq2seq_output(out.Seq2SeqLMOutput, encoded, decoded, loss=loss, logits=logits), return_dict)


class TFT5EncoderModel(TFT5PreTrainedModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.shared = NamedWeight((config.vocab_size, config.d_model), "embeddings", weights_init(config), name="shared")
        self.encoder = TFT5EncoderStack(config, self.shared, name="encoder")

    @property
    def output_width(self) -> int:
        return self.config.d_model

    def input_sizes(self):  # `shared` first, so its path is `<model>/shared`, not the encoder's
        return {self.shared: None, self.encoder: None}

    def dummy_inputs(self) -> dict:
        return {"input_ids": super().dummy_inputs()["input_ids"]}

    def call(self, input_ids=None, attention_mask=None, inputs_embeds=None, output_attentions=False,
             output_hidden_states=False, training=False, return_dict=True, **kwargs):  # fmt: skip
        if not self.shared.built:  # under `<model>/shared`, not the encoder's scope
            self.shared(tf.zeros((1, 1), tf.int32))
        encoded = self.encoder(_tensor(input_ids), attention_mask=attention_mask, inputs_embeds=inputs_embeds,
                               output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                               training=training)  # fmt: skip
        result = out.BaseModelOutput(last_hidden_state=encoded.last_hidden_state, hidden_states=encoded.hidden_states,
                                     attentions=encoded.attentions)  # fmt: skip
        return out.finish(result, return_dict)


class TFT5ForQuestionAnswering(_TFT5Parts):
    """Start and end logits from the decoder, fed input_ids shifted right unless decoder inputs are given."""

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.qa_outputs = dense(config, config.num_labels, "qa_outputs")

    def call(self, input_ids=None, decoder_input_ids=None, start_positions=None, end_positions=None,
             training=False, return_dict=True, **kwargs):  # fmt: skip
        if decoder_input_ids is None and kwargs.get("decoder_inputs_embeds") is None:
            if input_ids is None:
                raise ValueError("T5ForQuestionAnswering needs input_ids or decoder_input_ids.")
            decoder_input_ids = self._shift_right(input_ids)
        kwargs.pop("past_key_values", None)
        encoded, decoded = self.run(input_ids, decoder_input_ids=decoder_input_ids, training=training,
                                    **_run_kwargs(kwargs))  # fmt: skip
        start, end = tf.split(self.qa_outputs(decoded.last_hidden_state), 2, axis=-1)
        start, end = tf.squeeze(start, -1), tf.squeeze(end, -1)
        loss = None
        if start_positions is not None and end_positions is not None:
            loss = span_loss(start, end, start_positions, end_positions)
        result = seq2seq_output(out.Seq2SeqQuestionAnsweringModelOutput, encoded, decoded, loss=loss,
                                start_logits=start, end_logits=end)  # fmt: skip
        return out.finish(result, return_dict)


class TFT5ForSequenceClassification(TFSequenceClassificationModel, TFT5PreTrainedModel):
    """Classifies from the decoder state at the last end-of-sequence token (decoder fed input_ids shifted)."""

    main_layer_class = TFT5Model
    output_class = out.Seq2SeqSequenceClassifierOutput

    def encode(self, inputs, training=False, **kwargs):
        if inputs is None:
            raise ValueError("T5ForSequenceClassification needs input_ids (it finds the end-of-sequence tokens).")
        if kwargs.get("decoder_input_ids") is None and kwargs.get("decoder_inputs_embeds") is None:
            kwargs["decoder_input_ids"] = self._shift_right(inputs)
        kwargs["use_cache"] = False
        return super().encode(inputs, training, **kwargs)


class TFT5ForTokenClassification(TFTokenClassificationModel, TFT5PreTrainedModel):
    main_layer_class = TFT5EncoderModel

    def dummy_inputs(self) -> dict:
        return {"input_ids": super().dummy_inputs()["input_ids"]}
