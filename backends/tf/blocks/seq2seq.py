"""Encoder-decoder blocks in TensorFlow (Keras 3): the BART family (BART, mBART, Marian, Pegasus) and Whisper's
transformer. Mirrors autoload/backends/torch/blocks/seq2seq.py.

Layer names follow transformers' TF classes (`model/encoder/layers_._0/self_attn/q_proj/kernel`,
`model/shared/embeddings`, `embed_positions/embeddings`), so the shared converter maps every variable to its
canonical PyTorch name. The sinusoidal position tables of Marian and Pegasus are constants, not variables.
Caches are tuples (self keys, self values, cross keys, cross values), each [batch, heads, length, head_dim].
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload.seq2seq import sinusoidal_positions

from .. import keras_layers
from ..activations import get_activation
from ..attention import causal_bias, extend_cache, merge_heads, split_heads
from ..generation import TFGenerationMixin
from ..losses import token_loss
from ..modeling import Dropout, Layer, NamedWeight, TFPreTrainedModel, dense, weights_init

# Checkpoint keys that are aliases of a weight the TF model holds once (tied embeddings, an LM head equal to
# the shared embedding) or that it computes: ignored when the model has no variable of that name.
TIED_ALIASES = [r"(^|\.)(encoder|decoder)\.embed_tokens\.weight$", r"^lm_head\.weight$", r"(encoder|decoder)\.version$"]
SINUSOIDAL_TABLES = [r"embed_positions\.weight$"]


def padding_bias(attention_mask, dtype):
    if attention_mask is None:
        return None
    return (1.0 - tf.cast(attention_mask[:, None, None, :], dtype)) * dtype.min


def layer_norm(name: str) -> keras_layers.LayerNormalization:
    return keras_layers.LayerNormalization(epsilon=1e-5, name=name)


class TFSeq2SeqAttention(Layer):
    """Self- or cross-attention; a cached cross-attention (key, value) is reused as is."""

    def __init__(self, config, d: int, num_heads: int, key_bias: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.num_heads, self.head_dim = num_heads, d // num_heads
        self.q_proj, self.v_proj = dense(config, d, "q_proj"), dense(config, d, "v_proj")
        self.k_proj = dense(config, d, "k_proj", use_bias=key_bias)
        self.out_proj = dense(config, d, "out_proj")
        self.dropout = Dropout(config.attention_dropout)
        self.width = d

    def input_sizes(self):  # queries, keys and values (a cross-attention's encoder states too) are d_model wide
        return dict.fromkeys((self.q_proj, self.k_proj, self.v_proj, self.out_proj), self.width)

    def call(self, hidden, bias=None, key_value_states=None, past=None, output_attentions=False, training=False):
        q = split_heads(self.q_proj(hidden), self.num_heads, self.head_dim)
        if key_value_states is not None and past is not None:
            k, v = past
        else:
            source = hidden if key_value_states is None else key_value_states
            k, v = extend_cache(past, split_heads(self.k_proj(source), self.num_heads, self.head_dim),
                                split_heads(self.v_proj(source), self.num_heads, self.head_dim))  # fmt: skip
        scores = tf.matmul(q, k, transpose_b=True) * self.head_dim**-0.5
        if bias is not None:
            scores = scores + bias
        weights = tf.nn.softmax(scores, axis=-1)
        context = tf.matmul(self.dropout(weights, training=training), v)
        return self.out_proj(merge_heads(context)), (k, v), weights if output_attentions else None


class TFSeq2SeqLayer(Layer):
    """One encoder or decoder layer, pre- or post-norm as the config's layout says."""

    def __init__(self, config, decoder: bool, **kwargs):
        super().__init__(**kwargs)
        _, heads, ffn = config.stack_sizes(decoder)
        layout = config.layout
        self.pre_norm = layout.pre_norm
        self.self_attn = TFSeq2SeqAttention(config, config.d_model, heads, layout.key_bias, name="self_attn")
        self.self_attn_layer_norm = layer_norm("self_attn_layer_norm")
        if decoder:
            self.encoder_attn = TFSeq2SeqAttention(config, config.d_model, heads, layout.key_bias, name="encoder_attn")
            self.encoder_attn_layer_norm = layer_norm("encoder_attn_layer_norm")
        self.fc1, self.fc2 = dense(config, ffn, "fc1"), dense(config, config.d_model, "fc2")
        self.final_layer_norm = layer_norm("final_layer_norm")
        self.act = get_activation(config.activation_function)
        self.dropout = Dropout(config.dropout)
        self.activation_dropout = Dropout(config.activation_dropout)
        self.width = config.d_model

    def input_sizes(self):
        d = self.width
        sizes = {self.self_attn: None, self.self_attn_layer_norm: d}
        if hasattr(self, "encoder_attn"):  # a causal LM's decoder holds them too
            sizes.update({self.encoder_attn: None, self.encoder_attn_layer_norm: d})
        return {**sizes, self.fc1: d, self.fc2: self.fc1.units, self.final_layer_norm: d}

    def _residual(self, hidden, norm, branch, training):
        if self.pre_norm:
            output, *rest = branch(norm(hidden))
            return (hidden + self.dropout(output, training=training), *rest)
        output, *rest = branch(hidden)
        return (norm(hidden + self.dropout(output, training=training)), *rest)

    def call(self, hidden, bias=None, encoder_hidden=None, encoder_bias=None, past=None, output_attentions=False,
             training=False):  # fmt: skip
        hidden, cache, weights = self._residual(hidden, self.self_attn_layer_norm, lambda x: self.self_attn(
            x, bias=bias, past=past[:2] if past else None, output_attentions=output_attentions, training=training),
            training)  # fmt: skip
        cross_weights = None
        if encoder_hidden is None and hasattr(self, "encoder_attn") and not self.encoder_attn.built:
            # a decoder run alone (a causal LM) still holds its cross-attention weights, as in PyTorch
            self.encoder_attn(self.encoder_attn_layer_norm(hidden), key_value_states=hidden)
        if encoder_hidden is not None:
            hidden, cross, cross_weights = self._residual(hidden, self.encoder_attn_layer_norm, lambda x: self.encoder_attn(
                x, bias=encoder_bias, key_value_states=encoder_hidden, past=past[2:] if past else None,
                output_attentions=output_attentions, training=training), training)  # fmt: skip
            cache = cache + cross

        def feed_forward(x):
            return (self.fc2(self.activation_dropout(self.act(self.fc1(x)), training=training)),)

        (hidden,) = self._residual(hidden, self.final_layer_norm, feed_forward, training)
        return hidden, cache, weights, cross_weights


def check_length(length, limit: int, limit_name: str) -> None:
    if length is not None and length > limit:
        raise ValueError(f"Sequence length {length} is longer than the {limit} positions of the model "
                         f"(config.{limit_name}); truncate the inputs.")  # fmt: skip


class TFLearnedPositions(NamedWeight):
    """A learned table (`embed_positions/<weight_name>`) whose first `offset` rows precede position 0."""

    def __init__(self, config, count: int, limit_name: str, offset: int = 0, weight_name: str = "embeddings",
                 **kwargs):  # fmt: skip
        super().__init__((count + offset, config.d_model), weight_name, weights_init(config), **kwargs)
        self.count, self.limit_name, self.offset = count, limit_name, offset

    def positions(self, length, past_length=0, position_ids=None):
        """[1, length, dim] for positions past_length ... past_length + length - 1; [batch, length, dim] for
        given position_ids."""
        if position_ids is not None:
            if tf.executing_eagerly():
                check_length(int(tf.reduce_max(position_ids)) + 1, self.count, self.limit_name)
            return self(tf.cast(position_ids, tf.int32) + self.offset)
        check_length(past_length + length if isinstance(length, int) else None, self.count, self.limit_name)
        return self(tf.range(past_length, past_length + length)[None] + self.offset)


class TFSinusoidalPositions:
    """Marian's and Pegasus' fixed table, a constant computed from the config (no variable)."""

    def __init__(self, count: int, dim: int, limit_name: str):
        self.table = tf.constant(sinusoidal_positions(count, dim))
        self.count, self.limit_name = count, limit_name

    def positions(self, length, past_length=0, position_ids=None):
        if position_ids is not None:
            if tf.executing_eagerly():
                check_length(int(tf.reduce_max(position_ids)) + 1, self.count, self.limit_name)
            return tf.gather(self.table, position_ids)
        check_length(past_length + length if isinstance(length, int) else None, self.count, self.limit_name)
        return self.table[past_length : past_length + length][None]


def position_embedding(config, decoder: bool, weight_name: str = "embeddings"):
    count, name = config.position_limit(decoder)
    if config.layout.positions == "sinusoidal":
        return TFSinusoidalPositions(count, config.d_model, name)
    return TFLearnedPositions(config, count, name, config.layout.position_offset, weight_name, name="embed_positions")


class TFLayerStack(Layer):
    """`layers_._<i>` and the final `layer_norm` where the layout has one."""

    def build_layers(self, config, decoder: bool) -> None:
        count, _, _ = config.stack_sizes(decoder)
        # transformers' TF BART family names them `layers.<i>` (not BERT's `layer_._<i>`); its h5 files keep it
        self.layers = [TFSeq2SeqLayer(config, decoder, name=f"layers.{i}") for i in range(count)]
        if config.layout.final_norm:
            self.layer_norm = layer_norm("layer_norm")
        self.dropout = Dropout(config.dropout)
        self.width = config.d_model

    def input_sizes(self):
        return {**dict.fromkeys(self.layers), getattr(self, "layer_norm", None): self.width}

    def run_layers(self, hidden, bias, encoder_hidden=None, encoder_bias=None, past_key_values=None,
                   use_cache=False, output_attentions=False, output_hidden_states=False, training=False):  # fmt: skip
        states, caches, self_weights, cross_weights = (), (), (), ()
        for i, layer in enumerate(self.layers):
            states += (hidden,)
            hidden, cache, weights, cross = layer(hidden, bias=bias, encoder_hidden=encoder_hidden,
                                                  encoder_bias=encoder_bias,
                                                  past=past_key_values[i] if past_key_values else None,
                                                  output_attentions=output_attentions, training=training)  # fmt: skip
            caches, self_weights, cross_weights = caches + (cache,), self_weights + (weights,), cross_weights + (cross,)
        if hasattr(self, "layer_norm"):
            hidden = self.layer_norm(hidden)
        return out.BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden, past_key_values=caches if use_cache else None,
            hidden_states=states + (hidden,) if output_hidden_states else None,
            attentions=self_weights if output_attentions else None,
            cross_attentions=cross_weights if output_attentions and encoder_hidden is not None else None,
        )  # fmt: skip


class TFSeq2SeqStack(TFLayerStack):
    """Token embedding (shared, or the stack's own `embed_tokens`: rows config.vocab_size inside an
    encoder-decoder, config.decoder_vocab for a `standalone` decoder), positions, optional
    `layernorm_embedding`, then the layers."""

    position_weight_name = "embeddings"  # transformers' TF Whisper names its tables `weight`

    def __init__(self, config, embed_tokens: NamedWeight | None, decoder: bool, standalone: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.config, self.is_decoder = config, decoder
        if embed_tokens is None:
            vocab = config.decoder_vocab if standalone else config.vocab_size
            embed_tokens = NamedWeight((vocab, config.d_model), "embeddings", weights_init(config), name="embed_tokens")
        self.embed_tokens = embed_tokens
        self.embed_positions = position_embedding(config, decoder, self.position_weight_name)
        if config.layout.embedding_norm:
            self.layernorm_embedding = layer_norm("layernorm_embedding")
        self.build_layers(config, decoder)

    def input_sizes(self):  # a shared embedding is the main layer's, built there first (under `<scope>/shared`)
        positions = self.embed_positions if isinstance(self.embed_positions, NamedWeight) else None
        return {self.embed_tokens: None, positions: None,
                getattr(self, "layernorm_embedding", None): self.width, **super().input_sizes()}  # fmt: skip

    def embed(self, input_ids, inputs_embeds, past_length=0, training=False, position_ids=None):
        if (input_ids is None) == (inputs_embeds is None):
            what = "decoder_input_ids and decoder_inputs_embeds" if self.is_decoder else "input_ids and inputs_embeds"
            raise ValueError(f"Pass exactly one of {what}.")
        scale = self.config.embed_scale
        if inputs_embeds is None:
            inputs_embeds = self.embed_tokens(input_ids) * scale
        elif self.is_decoder and self.config.layout.scales_given_embeddings:
            inputs_embeds = inputs_embeds * scale
        length = inputs_embeds.shape[1] if inputs_embeds.shape[1] is not None else tf.shape(inputs_embeds)[1]
        positions = self.embed_positions.positions(length, past_length, _tensor(position_ids))
        hidden = inputs_embeds + tf.cast(positions, inputs_embeds.dtype)
        if hasattr(self, "layernorm_embedding"):
            hidden = self.layernorm_embedding(hidden)
        return self.dropout(hidden, training=training)

    def call(self, input_ids=None, attention_mask=None, inputs_embeds=None, encoder_hidden_states=None,
             encoder_attention_mask=None, past_key_values=None, use_cache=False, output_attentions=False,
             output_hidden_states=False, training=False, position_ids=None):  # fmt: skip
        input_ids, inputs_embeds = _tensor(input_ids), _tensor(inputs_embeds)
        past_length = past_key_values[0][0].shape[2] if past_key_values else 0
        hidden = self.embed(input_ids, inputs_embeds, past_length, training, position_ids)
        if self.is_decoder:
            bias = causal_bias(tf.shape(hidden)[1], past_length, _tensor(attention_mask), hidden.dtype)
            encoder_bias = padding_bias(_tensor(encoder_attention_mask), hidden.dtype)
        else:
            bias, encoder_bias = padding_bias(_tensor(attention_mask), hidden.dtype), None
        return self.run_layers(hidden, bias, encoder_hidden_states, encoder_bias, past_key_values, use_cache,
                               output_attentions, output_hidden_states, training)  # fmt: skip


def _tensor(value):
    return None if value is None else tf.convert_to_tensor(value)


def shift_tokens_right(input_ids, pad_token_id: int, start_token_id: int):
    if start_token_id is None:
        raise ValueError("config.decoder_start_token_id is not set; it is needed to build decoder inputs.")
    input_ids = tf.convert_to_tensor(input_ids)
    start = tf.fill((tf.shape(input_ids)[0], 1), tf.cast(start_token_id, input_ids.dtype))
    shifted = tf.concat([start, input_ids[:, :-1]], axis=1)
    return tf.where(shifted == -100, tf.cast(pad_token_id, input_ids.dtype), shifted)


def encoder_output(encoded):
    return out.BaseModelOutput(last_hidden_state=encoded.last_hidden_state, hidden_states=encoded.hidden_states,
                               attentions=encoded.attentions)  # fmt: skip


class TFEncoderDecoderParts:
    """`shared`, `encoder` and `decoder` and the encoder-decoder pass, for the Keras layer or model that holds
    them (the BART family's main layer under `model`; T5's model itself). Stacks are called as
    `stack(ids, attention_mask=, inputs_embeds=, encoder_hidden_states=, encoder_attention_mask=,
    past_key_values=, use_cache=, output_attentions=, output_hidden_states=, training=)`."""

    encoder_class = TFSeq2SeqStack
    decoder_class = TFSeq2SeqStack

    def init_parts(self, config) -> None:
        self.config = config
        self.shared = None
        if self.shares_embeddings(config):
            self.shared = NamedWeight((config.vocab_size, config.d_model), "embeddings", weights_init(config),
                                      name="shared")  # fmt: skip
        self.encoder = self.encoder_class(config, self.shared, False, name="encoder")
        self.decoder = self.decoder_class(config, self.shared, True, name="decoder")

    @staticmethod
    def shares_embeddings(config) -> bool:
        return True

    def _build_shared(self):
        if self.shared is not None and not self.shared.built:  # under `<scope>/shared`, not the first stack's
            self.shared(tf.zeros((1, 1), tf.int32))

    def decoder_inputs_from(self, input_ids):
        name = type(self).__name__.replace("MainLayer", "Model")
        raise ValueError(
            f"{name} needs decoder_input_ids (or decoder_inputs_embeds); an encoder-decoder model cannot run its "
            "decoder without inputs."
        )

    def labels_to_decoder_inputs(self, labels):
        return shift_tokens_right(labels, self.config.pad_token_id, self.config.decoder_start_token_id)

    def run_encoder(self, input_ids=None, attention_mask=None, inputs_embeds=None, output_attentions=False,
                    output_hidden_states=False, training=False):  # fmt: skip
        self._build_shared()
        return encoder_output(self.encoder(_tensor(input_ids), attention_mask=attention_mask, inputs_embeds=inputs_embeds,
                                           output_attentions=output_attentions,
                                           output_hidden_states=output_hidden_states, training=training))  # fmt: skip

    def run_decoder(self, decoder_input_ids, encoder_hidden, attention_mask=None, decoder_attention_mask=None,
                    past_key_values=None, decoder_inputs_embeds=None, use_cache=True, output_attentions=False,
                    output_hidden_states=False, training=False, decoder_position_ids=None):  # fmt: skip
        self._build_shared()
        positions = {} if decoder_position_ids is None else {"position_ids": decoder_position_ids}
        return self.decoder(_tensor(decoder_input_ids), attention_mask=decoder_attention_mask,
                            inputs_embeds=decoder_inputs_embeds, encoder_hidden_states=encoder_hidden,
                            encoder_attention_mask=attention_mask, past_key_values=past_key_values,
                            use_cache=use_cache, output_attentions=output_attentions,
                            output_hidden_states=output_hidden_states, training=training, **positions)  # fmt: skip

    def run(self, input_ids=None, attention_mask=None, decoder_input_ids=None, decoder_attention_mask=None,
            encoder_outputs=None, past_key_values=None, inputs_embeds=None, decoder_inputs_embeds=None,
            use_cache=False, output_attentions=False, output_hidden_states=False, training=False,
            decoder_position_ids=None):  # fmt: skip
        """(encoder output, decoder output) of one call."""
        if decoder_input_ids is None and decoder_inputs_embeds is None:
            if input_ids is None:
                raise ValueError(f"{type(self).__name__} needs decoder_input_ids when input_ids are not given.")
            decoder_input_ids = self.decoder_inputs_from(tf.convert_to_tensor(input_ids))
        if encoder_outputs is None:
            encoder_outputs = self.run_encoder(input_ids, attention_mask=attention_mask, inputs_embeds=inputs_embeds,
                                               output_attentions=output_attentions,
                                               output_hidden_states=output_hidden_states, training=training)  # fmt: skip
        elif isinstance(encoder_outputs, (tuple, list)):
            encoder_outputs = out.BaseModelOutput(*encoder_outputs)
        decoded = self.run_decoder(decoder_input_ids, encoder_outputs.last_hidden_state, attention_mask=attention_mask,
                                   decoder_attention_mask=decoder_attention_mask, past_key_values=past_key_values,
                                   decoder_inputs_embeds=decoder_inputs_embeds, use_cache=use_cache,
                                   output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                                   training=training, decoder_position_ids=decoder_position_ids)  # fmt: skip
        return encoder_outputs, decoded


class TFSeq2SeqMainLayer(TFEncoderDecoderParts, Layer):
    """The BART family's parts under the model's `model` scope: transformers' TF<X>MainLayer."""

    def __init__(self, config, **kwargs):
        Layer.__init__(self, **kwargs)
        self.init_parts(config)

    @property
    def output_width(self) -> int:
        return self.config.d_model

    def input_sizes(self):  # `shared` first, so its path is `<scope>/shared`, not a stack's
        return {self.shared: None, self.encoder: None, self.decoder: None}

    def call(self, input_ids=None, attention_mask=None, decoder_input_ids=None, decoder_attention_mask=None,
             encoder_outputs=None, past_key_values=None, inputs_embeds=None, decoder_inputs_embeds=None,
             use_cache=False, output_attentions=False, output_hidden_states=False, training=False,
             decoder_position_ids=None):  # fmt: skip
        encoded, decoded = self.run(input_ids, attention_mask, decoder_input_ids, decoder_attention_mask,
                                    encoder_outputs, past_key_values, inputs_embeds, decoder_inputs_embeds, use_cache,
                                    output_attentions, output_hidden_states, training, decoder_position_ids)  # fmt: skip
        return seq2seq_output(out.Seq2SeqModelOutput, encoded, decoded, last_hidden_state=decoded.last_hidden_state)


def seq2seq_output(output_class, encoded, decoded, **values):
    return output_class(
        **values, past_key_values=decoded.past_key_values, decoder_hidden_states=decoded.hidden_states,
        decoder_attentions=decoded.attentions, cross_attentions=decoded.cross_attentions,
        encoder_last_hidden_state=encoded.last_hidden_state, encoder_hidden_states=encoded.hidden_states,
        encoder_attentions=encoded.attentions,
    )  # fmt: skip


class TFSeq2SeqPreTrainedModel(TFPreTrainedModel):
    base_model_prefix = "model"
    _keys_to_ignore_on_load_unexpected = TIED_ALIASES
    # transformers' TF BART family stores the shared embedding as the layer `model.shared` inside the `model`
    # group, and final_logits_bias as a top-level weight in a group of that name.
    _h5_renames = {"model/shared/embeddings": ("model", "model.shared/model.shared/embeddings"),
                   "final_logits_bias": ("final_logits_bias", "final_logits_bias")}  # fmt: skip

    def dummy_inputs(self) -> dict:
        ids = np.full((1, 2), self.config.eos_token_id, np.int32)
        return {"input_ids": ids, "decoder_input_ids": ids}


class TFSeq2SeqLM(TFGenerationMixin, TFSeq2SeqPreTrainedModel):
    """The main layer under `model`, logits from the shared embedding (or an untied `lm_head`) plus
    `final_logits_bias`: transformers' TF<X>ForConditionalGeneration."""

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.model = self.main_layer_class(config, name="model")
        # Created outside any layer scope: its path is the bare name, as the PyTorch buffer's.
        self.final_logits_bias = self.add_weight(name="final_logits_bias", shape=(1, config.target_vocab),
                                                 initializer="zeros", trainable=False)  # fmt: skip
        if not config.tie_word_embeddings:
            self.lm_head = dense(config, config.target_vocab, "lm_head", use_bias=False)

    def input_sizes(self):
        return {self.model: None, getattr(self, "lm_head", None): self.config.d_model}

    def _logits(self, hidden):
        if self.config.tie_word_embeddings:
            logits = tf.matmul(hidden, self.model.decoder.embed_tokens.weight, transpose_b=True)
        else:
            logits = self.lm_head(hidden)
        return logits + self.final_logits_bias

    def encode(self, input_ids=None, attention_mask=None, **kwargs):
        return self.model.run_encoder(input_ids, attention_mask=attention_mask)

    def decode(self, decoder_input_ids, encoder_outputs, attention_mask=None, past_key_values=None,
               decoder_attention_mask=None, decoder_position_ids=None):  # fmt: skip
        decoded = self.model.run_decoder(decoder_input_ids, encoder_outputs.last_hidden_state,
                                         attention_mask=_tensor(attention_mask),
                                         decoder_attention_mask=_tensor(decoder_attention_mask),
                                         past_key_values=past_key_values,
                                         decoder_position_ids=_tensor(decoder_position_ids))  # fmt: skip
        return out.Seq2SeqLMOutput(logits=self._logits(decoded.last_hidden_state), past_key_values=decoded.past_key_values)

    def call(self, input_ids=None, attention_mask=None, decoder_input_ids=None, labels=None, use_cache=None,
             training=False, return_dict=True, **kwargs):  # fmt: skip
        use_cache = False if training or labels is not None else bool(self.config.use_cache if use_cache is None
                                                                          else use_cache)  # fmt: skip
        if labels is not None and decoder_input_ids is None and kwargs.get("decoder_inputs_embeds") is None:
            decoder_input_ids = self.model.labels_to_decoder_inputs(labels)
        result = self.model(input_ids, attention_mask=attention_mask, decoder_input_ids=decoder_input_ids,
                            use_cache=use_cache, training=training, **_main_layer_kwargs(kwargs))  # fmt: skip
        logits = self._logits(result.last_hidden_state)
        loss = token_loss(logits, labels) if labels is not None else None
        return out.finish(out.from_encoded(out.Seq2SeqLMOutput, result, loss=loss, logits=logits), return_dict)


_MAIN_LAYER_KEYS = ("decoder_attention_mask", "encoder_outputs", "past_key_values", "inputs_embeds",
                    "decoder_inputs_embeds", "output_attentions", "output_hidden_states", "decoder_position_ids")  # fmt: skip


def _main_layer_kwargs(kwargs: dict) -> dict:
    return {k: kwargs[k] for k in _MAIN_LAYER_KEYS if kwargs.get(k) is not None}


class TFDecoderWrapper(Layer):
    """`model/decoder/…`, the decoder with its own token embedding, as the PyTorch causal LM names it."""

    def __init__(self, config, decoder_class=TFSeq2SeqStack, **kwargs):
        super().__init__(**kwargs)
        self.decoder = decoder_class(config, None, True, standalone=True, name="decoder")

    def input_sizes(self):
        return {self.decoder: None}


class TFSeq2SeqForCausalLM(TFGenerationMixin, TFSeq2SeqPreTrainedModel):
    """The decoder alone as a language model; the LM head is the decoder's embedding (or an untied one)."""

    decoder_class = TFSeq2SeqStack
    lm_head_name = "lm_head"
    marks_decoder = True  # sets config.is_decoder (Whisper's causal LM leaves it)

    def __init__(self, config, *args, **kwargs):
        config.is_decoder, config.is_encoder_decoder = config.is_decoder or self.marks_decoder, False
        super().__init__(config, *args, **kwargs)
        self.model = TFDecoderWrapper(config, self.decoder_class, name="model")
        if not config.tie_word_embeddings:
            setattr(self, self.lm_head_name, dense(config, config.vocab_size, self.lm_head_name, use_bias=False))

    def input_sizes(self):  # the call runs the decoder itself, so its variables sit under the model's scope
        decoder = self.model.decoder
        return {decoder: None, self.model: None, getattr(self, self.lm_head_name, None): self.config.d_model}

    def dummy_inputs(self) -> dict:
        return {"input_ids": np.full((1, 2), self.config.eos_token_id, np.int32)}

    def call(self, input_ids=None, attention_mask=None, encoder_hidden_states=None, encoder_attention_mask=None,
             inputs_embeds=None, past_key_values=None, labels=None, use_cache=False, output_attentions=False,
             output_hidden_states=False, training=False, return_dict=True, **kwargs):  # fmt: skip
        decoder = self.model.decoder
        decoded = decoder(input_ids, attention_mask=attention_mask, inputs_embeds=inputs_embeds,
                          encoder_hidden_states=encoder_hidden_states, encoder_attention_mask=encoder_attention_mask,
                          past_key_values=past_key_values, use_cache=bool(use_cache),
                          output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                          training=training)  # fmt: skip
        if self.config.tie_word_embeddings:
            logits = tf.matmul(decoded.last_hidden_state, decoder.embed_tokens.weight, transpose_b=True)
        else:
            logits = getattr(self, self.lm_head_name)(decoded.last_hidden_state)
        loss = token_loss(logits[:, :-1], labels[:, 1:]) if labels is not None else None
        result = out.from_encoded(out.CausalLMOutputWithCrossAttentions, decoded, loss=loss, logits=logits)
        return out.finish(result, return_dict)
