"""GPT-style decoders in TensorFlow (GPT-2, OPT, GPT-NeoX, GPT-J), built from the config's GptOptions
(autoload/gpt_options.py) on the decoders' attention core (blocks/attention.py). Layer names are the
checkpoints' (options.names): transformers' TF names where it had TF classes (`transformer/h_._0/attn/c_attn`,
`model/decoder/layers.0/self_attn/q_proj`), the PyTorch names otherwise (GPT-NeoX). An architecture's classes
are explicit subclasses:

    class TFOPTPreTrainedModel(TFGptPreTrainedModel):
        config_class = OPTConfig
    class TFOPTModel(TFBaseModel, TFOPTPreTrainedModel): pass
    class TFOPTForCausalLM(TFGptForCausalLM, TFOPTPreTrainedModel): pass

and its other heads are the generic ones of ../heads.py (HEADS in autoload/models/<model_type>.py).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload.gpt_options import GptOptions

from .. import keras_layers
from ..activations import get_activation
from ..generation import TFCompiledStep, TFGenerationMixin
from ..heads import TFLanguageModelingModel, TFMainLayerModel, kept_positions
from ..losses import token_loss
from ..modeling import Dropout, Layer, NamedWeight, dense, weights_init
from ..rotary import apply_rotary, rope_length, rotary_cos_sin
from .attention import attend, decoder_bias


class TFConv1D(keras_layers.Layer):
    """GPT-2's projection as transformers' TF GPT-2 stores it: `weight` [in, out] and `bias` [1, out]."""

    def __init__(self, features: int, config, **kwargs):
        super().__init__(**kwargs)
        self.features, self.init = features, weights_init(config)

    def build(self, input_shape=None):
        self.weight = self.add_weight(name="weight", shape=(input_shape[-1], self.features), initializer=self.init)
        self.bias = self.add_weight(name="bias", shape=(1, self.features), initializer="zeros")
        self.built = True

    def call(self, x):
        return tf.matmul(x, tf.cast(self.weight, x.dtype)) + tf.cast(self.bias, x.dtype)


def projection(o: GptOptions, config, units: int, name: str, bias: bool = True):
    return TFConv1D(units, config, name=name) if o.conv1d else dense(config, units, name, use_bias=bias)


def layer_norm(o: GptOptions, name: str) -> keras_layers.LayerNormalization:
    return keras_layers.LayerNormalization(epsilon=o.norm_eps, center=o.norm_affine, scale=o.norm_affine, name=name)


def _heads(x, head_dim: int):
    """[batch, seq, heads * head_dim] -> [batch, heads, seq, head_dim]."""
    shape = tf.shape(x)
    return tf.transpose(tf.reshape(x, (shape[0], shape[1], -1, head_dim)), (0, 2, 1, 3))


def padding_bias(mask, dtype):
    """Additive [batch, 1, 1, keys] bias hiding the keys where `mask` is 0 (cross-attention's encoder mask)."""
    if mask is None:
        return None
    return (1.0 - tf.cast(mask, dtype)[:, None, None, :]) * dtype.min


class TFGptAttention(Layer):
    """q, k, v from the options' projection layout, rotated where the positions are rotary, then the attention
    core; a (keys, values) cache of [batch, heads, seq, head_dim]. As cross-attention (GPT-2), keys and values
    come from the encoder's states once."""

    def __init__(self, options: GptOptions, config, index: int, cross: bool = False, **kwargs):
        super().__init__(**kwargs)
        o = self.options = options
        self.cross, self.scale, width = cross, o.layer_scale(index), o.hidden_size
        if o.attention_layout == "conv1d":
            self.c_attn = TFConv1D((2 if cross else 3) * width, config, name="c_attn")
            if cross:
                self.q_attn = TFConv1D(width, config, name="q_attn")
            self.c_proj = TFConv1D(width, config, name="c_proj")
        elif o.attention_layout == "separate":
            self.k_proj = dense(config, width, "k_proj", use_bias=o.qkv_bias)
            self.v_proj = dense(config, width, "v_proj", use_bias=o.qkv_bias)
            self.q_proj = dense(config, width, "q_proj", use_bias=o.qkv_bias)
            self.out_proj = dense(config, width, "out_proj", use_bias=o.out_bias)
        else:
            self.query_key_value = dense(config, 3 * width, "query_key_value", use_bias=o.qkv_bias)
            self.dense = dense(config, width, "dense", use_bias=o.out_bias)
        self.dropout = Dropout(o.attention_dropout) if o.attention_dropout else None

    def input_sizes(self):
        # Every projection reads hidden_size features: the layer's input, the heads' context (heads × head_dim),
        # and for cross-attention the encoder's states (transformers' c_attn is hidden_size wide there too).
        layers = [getattr(self, name, None) for name in ("c_attn", "q_attn", "c_proj", "k_proj", "v_proj", "q_proj",
                                                          "out_proj", "query_key_value", "dense")]  # fmt: skip
        return dict.fromkeys(layers, self.options.hidden_size)

    def project(self, hidden):
        o = self.options
        if o.attention_layout == "conv1d":
            return [_heads(t, o.head_dim) for t in tf.split(self.c_attn(hidden), 3, axis=-1)]
        if o.attention_layout == "separate":
            return [_heads(layer(hidden), o.head_dim) for layer in (self.q_proj, self.k_proj, self.v_proj)]
        fused = _heads(self.query_key_value(hidden), 3 * o.head_dim)  # each head's q, then k, then v
        return tf.split(fused, 3, axis=-1)

    def output(self, context):
        layout = self.options.attention_layout
        return (self.c_proj if layout == "conv1d" else self.out_proj if layout == "separate" else self.dense)(context)

    def call(self, hidden, bias=None, cos=None, sin=None, past=None, output_attentions=False, encoder=None,
             training=False):  # fmt: skip
        o = self.options
        if self.cross:
            q = _heads(self.q_attn(hidden), o.head_dim)
            k, v = past if past else [_heads(t, o.head_dim) for t in tf.split(self.c_attn(encoder), 2, axis=-1)]
        else:
            q, k, v = self.project(hidden)
            if cos is not None:
                q, k = (apply_rotary(t, cos, sin, interleaved=o.rotary_interleaved) for t in (q, k))
            if past:
                k, v = tf.concat([past[0], k], axis=2), tf.concat([past[1], v], axis=2)
        if o.upcast:  # scores, softmax and the weighted sum in float32 (GPT-J; GPT-2 reorder_and_upcast_attn)
            f32 = [tf.cast(t, tf.float32) for t in (q, k, v)]
            context, probs = attend(*f32, None if bias is None else tf.cast(bias, tf.float32), self.scale, None,
                                    self.dropout, training)  # fmt: skip
            context, probs = tf.cast(context, v.dtype), tf.cast(probs, v.dtype)
        else:
            context, probs = attend(q, k, v, bias, self.scale, None, self.dropout, training)
        shape = tf.shape(hidden)
        context = tf.reshape(tf.transpose(context, (0, 2, 1, 3)), (shape[0], shape[1], o.hidden_size))
        return self.output(context), probs if output_attentions else None, (k, v)


class TFGptMLP(Layer):
    """The two projections around the activation (on the layer itself for OPT's fc1/fc2)."""

    def __init__(self, options: GptOptions, config, **kwargs):
        super().__init__(**kwargs)
        o = options
        self.fc_in = projection(o, config, o.inner_size, o.names.mlp_in, o.mlp_bias)
        self.fc_out = projection(o, config, o.hidden_size, o.names.mlp_out, o.mlp_bias)
        self.act = get_activation(o.activation)
        self.sizes = {self.fc_in: o.hidden_size, self.fc_out: o.inner_size}

    def input_sizes(self):
        return self.sizes

    def call(self, x):
        return self.fc_out(self.act(self.fc_in(x)))


class TFGptLayer(Layer):
    """One block: pre-norm (or OPT's post-norm) attention and MLP, one after the other (GPT-2's optional
    cross-attention between them) or in parallel (GPT-NeoX with two norms, GPT-J with one)."""

    def __init__(self, options: GptOptions, config, index: int, **kwargs):
        super().__init__(**kwargs)
        o = self.options = options
        n = o.names
        self.norm_1 = layer_norm(o, n.norm_1)
        self.attention = TFGptAttention(o, config, index, name=n.attention)
        if o.cross_attention:
            self.crossattention = TFGptAttention(o, config, index, cross=True, name="crossattention")
            self.ln_cross_attn = layer_norm(o, "ln_cross_attn")
        self.norm_2 = layer_norm(o, n.norm_2) if n.norm_2 else None
        self.mlp = TFGptMLP(o, config, name=n.mlp) if n.mlp else None
        if not n.mlp:  # OPT: fc1 / fc2 directly under the layer's scope
            self.fc_in = projection(o, config, o.inner_size, n.mlp_in, o.mlp_bias)
            self.fc_out = projection(o, config, o.hidden_size, n.mlp_out, o.mlp_bias)
            self.act = get_activation(o.activation)
        self.dropout = Dropout(o.residual_dropout)

    def input_sizes(self):
        o, get = self.options, lambda name: getattr(self, name, None)
        sizes = dict.fromkeys([self.norm_1, self.norm_2, get("ln_cross_attn"), get("fc_in")], o.hidden_size)
        return {**sizes, get("fc_out"): o.inner_size, self.attention: None, get("crossattention"): None,
                self.mlp: None}  # fmt: skip

    def feed_forward(self, x):
        return self.mlp(x) if self.mlp is not None else self.fc_out(self.act(self.fc_in(x)))

    def call(self, hidden, bias=None, cos=None, sin=None, past=None, output_attentions=False, encoder=None,
             encoder_bias=None, training=False):  # fmt: skip
        o = self.options
        x = self.norm_1(hidden) if o.norm_before else hidden
        attended, probs, cache = self.attention(x, bias=bias, cos=cos, sin=sin, past=past[:2] if past else None,
                                                output_attentions=output_attentions, training=training)  # fmt: skip
        attended = self.dropout(attended, training=training)
        if o.residual == "parallel_shared_norm":
            return hidden + attended + self.dropout(self.feed_forward(x), training=training), probs, None, cache
        if o.residual == "parallel":
            fed = self.dropout(self.feed_forward(self.norm_2(hidden)), training=training)
            return hidden + attended + fed, probs, None, cache
        hidden = hidden + attended
        if not o.norm_before:
            hidden = self.norm_1(hidden)
        cross_probs = None
        if encoder is not None:
            crossed, cross_probs, cross_cache = self.crossattention(
                self.ln_cross_attn(hidden), bias=encoder_bias, past=past[2:] if past else None,
                output_attentions=output_attentions, encoder=encoder, training=training,
            )  # fmt: skip
            hidden, cache = hidden + self.dropout(crossed, training=training), cache + cross_cache
        fed = self.feed_forward(self.norm_2(hidden) if o.norm_before else hidden)
        hidden = hidden + self.dropout(fed, training=training)
        if not o.norm_before:
            hidden = self.norm_2(hidden)
        return hidden, probs, cross_probs, cache


def build_parts(owner, o: GptOptions, config) -> None:
    """Embeddings, positions, the layers and the final norm, as sublayers of `owner`."""
    n = o.names
    init = weights_init(config)
    owner.embed = NamedWeight((o.vocab_size, o.embed_width), n.tf_embed_leaf, init, name=n.embed)
    owner.positions = None
    if o.positions == "learned":
        rows = o.max_positions + o.position_offset
        owner.positions = NamedWeight((rows, o.hidden_size), n.tf_positions_leaf, init, name=n.positions)
    if o.projection_dim:
        owner.project_in = dense(config, o.hidden_size, "project_in", use_bias=False)
        owner.project_out = dense(config, o.projection_dim, "project_out", use_bias=False)
    owner.drop = Dropout(o.embed_dropout)
    owner.blocks = [TFGptLayer(o, config, i, name=n.tf_layer_name(i)) for i in range(o.num_layers)]
    owner.final_norm = layer_norm(o, n.final_norm) if o.final_norm else None


def default_positions(o: GptOptions, attention_mask, past_length: int, steps):
    """Positions past_length…; OPT counts the attention mask's ones instead (padding gets -1)."""
    if o.positions_from_mask and attention_mask is not None:
        mask = tf.cast(attention_mask, tf.int32)
        return (tf.cumsum(mask, axis=1) * mask - 1)[:, past_length : past_length + steps]
    return tf.range(past_length, past_length + steps)[None]


class TFGptStack(Layer):
    """Embeddings, positions, the layers and the final norm, run as one decoder. Sublayers take their variable
    scopes from the layer whose call runs them, so a nested stack (OPT's `decoder`) must run its own call."""

    output_class = out.BaseModelOutputWithPast

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.options = config.gpt_options()
        build_parts(self, self.options, config)

    def input_sizes(self):
        o, get = self.options, lambda name: getattr(self, name, None)
        # project_in reads the word embeddings; the final norm runs before project_out
        return {self.embed: None, self.positions: None, get("project_in"): o.embed_width,
                get("project_out"): o.hidden_size, **dict.fromkeys(self.blocks), self.final_norm: o.hidden_size}

    def call(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, past_key_values=None,
             inputs_embeds=None, encoder_hidden_states=None, encoder_attention_mask=None, use_cache=None,
             output_attentions=False, output_hidden_states=False, head_mask=None, training=False):  # fmt: skip
        c, o, parts = self.config, self.options, self
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of input_ids and inputs_embeds.")
        if head_mask is not None:
            raise NotImplementedError("head_mask is not implemented; mask heads by editing the attention weights.")
        if encoder_hidden_states is not None and not o.cross_attention:
            raise ValueError("encoder_hidden_states need cross-attention layers: build the model from a config with "
                             "add_cross_attention=True.")  # fmt: skip
        hidden = parts.embed(input_ids) if inputs_embeds is None else tf.cast(inputs_embeds, self.compute_dtype)
        length = hidden.shape[1]
        past_length = past_key_values[0][0].shape[2] if past_key_values else 0
        if past_length is None:  # the compiled decoding step (TFCompiledStep): known when it runs
            past_length = tf.shape(past_key_values[0][0])[2]
        concrete = isinstance(past_length, int) and length is not None
        if concrete and o.has_length_limit() and past_length + length > o.max_positions:
            raise ValueError(f"Sequence length {past_length + length} is longer than {o.length_field} "
                             f"({o.max_positions}); truncate the inputs.")  # fmt: skip
        steps = tf.shape(hidden)[1]
        if attention_mask is not None:
            attention_mask = tf.convert_to_tensor(attention_mask)
        if position_ids is None:
            position_ids = default_positions(o, attention_mask, past_length, steps)
        if o.projection_dim:
            hidden = parts.project_in(hidden)
        if o.positions == "learned":
            hidden = hidden + tf.cast(parts.positions(position_ids + o.position_offset), hidden.dtype)
        if token_type_ids is not None and o.token_type_embeddings:
            hidden = hidden + tf.cast(parts.embed(token_type_ids), hidden.dtype)
        hidden = parts.drop(hidden, training=training)
        cos = sin = None
        if o.positions == "rotary":
            seq_len = rope_length(c, position_ids, None)  # (a tensor in the compiled step)
            cos, sin = rotary_cos_sin(c, position_ids, seq_len, hidden.dtype, interleaved=o.rotary_interleaved)
        bias = decoder_bias(steps, past_length, attention_mask, hidden.dtype)
        encoder_bias = None
        if encoder_hidden_states is not None:
            encoder_hidden_states = tf.cast(encoder_hidden_states, hidden.dtype)
            encoder_bias = padding_bias(encoder_attention_mask, hidden.dtype)
        states, caches, attentions, crossed = (), (), (), ()
        for i, block in enumerate(parts.blocks):
            states += (hidden,)
            past = past_key_values[i] if past_key_values else None
            new, probs, cross_probs, cache = block(hidden, bias=bias, cos=cos, sin=sin, past=past,
                                                   output_attentions=output_attentions, encoder=encoder_hidden_states,
                                                   encoder_bias=encoder_bias, training=training)  # fmt: skip
            if training and o.layerdrop:  # OPT's layerdrop: the layer's output is dropped
                new = tf.where(tf.random.uniform([]) < o.layerdrop, hidden, new)
            hidden = new
            caches, attentions, crossed = caches + (cache,), attentions + (probs,), crossed + (cross_probs,)
        if parts.final_norm is not None:
            hidden = parts.final_norm(hidden)
        if o.projection_dim:
            hidden = parts.project_out(hidden)
        values = {
            "last_hidden_state": hidden,
            "past_key_values": caches if (c.use_cache if use_cache is None else use_cache) else None,
            "hidden_states": states + (hidden,) if output_hidden_states else None,
            "attentions": attentions if output_attentions else None,
        }
        if o.cross_attention and output_attentions and encoder_hidden_states is not None:
            values["cross_attentions"] = crossed
        return self.output_class(**values)


class TFGptMainLayer(TFGptStack):
    """The base model's layers under its prefix: the stack itself, or a stack nested under options.names.nest."""

    def __init__(self, config, **kwargs):
        nest = config.gpt_options().names.nest
        if nest is None:
            super().__init__(config, **kwargs)
            self.stack = None
            return
        Layer.__init__(self, **kwargs)
        self.config, self.options = config, config.gpt_options()
        self.stack = TFGptStack(config, name=nest)
        self.stack.output_class = self.output_class

    @property
    def output_width(self) -> int:
        """The size of the last axis of last_hidden_state (OPT's word_embed_proj_dim)."""
        return self.options.embed_width

    def input_sizes(self):
        return super().input_sizes() if self.stack is None else {self.stack: None}

    @property
    def parts(self):
        """The layer holding the embeddings and blocks."""
        return self if self.stack is None else self.stack

    def call(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, past_key_values=None,
             inputs_embeds=None, encoder_hidden_states=None, encoder_attention_mask=None, use_cache=None,
             output_attentions=False, output_hidden_states=False, head_mask=None, training=False):  # fmt: skip
        kwargs = {"attention_mask": attention_mask, "token_type_ids": token_type_ids, "position_ids": position_ids,
                  "past_key_values": past_key_values, "inputs_embeds": inputs_embeds,
                  "encoder_hidden_states": encoder_hidden_states, "encoder_attention_mask": encoder_attention_mask,
                  "use_cache": use_cache, "output_attentions": output_attentions,
                  "output_hidden_states": output_hidden_states, "head_mask": head_mask, "training": training}  # fmt: skip
        if self.stack is not None:
            return self.stack(input_ids, **kwargs)
        return super().call(input_ids, **kwargs)


class TFGptPreTrainedModel(TFMainLayerModel):
    main_layer_class = TFGptMainLayer

    def dummy_inputs(self) -> dict:
        inputs = super().dummy_inputs()
        if self.config.gpt_options().cross_attention:  # so the cross-attention layers build too
            inputs["encoder_hidden_states"] = np.zeros((1, 1, self.config.hidden_size), dtype=np.float32)
        return inputs


class TFTiedLMHead(Layer):
    """Logits from the word embedding matrix (tie_word_embeddings), plus the head's own bias if it has one."""

    def __init__(self, embeddings, use_bias: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.embeddings, self.use_bias = embeddings, use_bias

    def build(self, input_shape=None):
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.embeddings.weight.shape[0],), initializer="zeros")
        super().build(input_shape)

    def call(self, hidden):
        logits = tf.matmul(hidden, tf.cast(self.embeddings.weight, hidden.dtype), transpose_b=True)
        return logits + tf.cast(self.bias, hidden.dtype) if self.use_bias else logits


class TFGptForCausalLM(TFCompiledStep, TFGenerationMixin, TFLanguageModelingModel):
    """Next-token logits from the LM head, or from the word embeddings when the config ties them. Decoding
    steps run as one traced graph (TFCompiledStep), except with cross-attention."""

    causal = True
    output_class = out.CausalLMOutputWithPast
    logits_in_float32 = False  # GPT-J returns float32 logits whatever the weights' dtype
    generation_position_ids = True  # generate() passes positions counted from the attention mask
    accepts_logits_to_keep = True  # generate() scores only the prompt's last position
    # transformers feeds the encoder's states to every step (the cross-attention reads its cached keys and values)
    generation_every_step_inputs = ("encoder_hidden_states", "encoder_attention_mask")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.spec is not None:
            cls._tied_weights_keys = [f"{cls.spec.attr}.weight"]

    def restarts_cache(self, before: int, after: int) -> bool:
        return False

    def compiled_step_allowed(self, total: int) -> bool:
        o = self.config.gpt_options()  # (dynamic and longrope frequencies are picked inside the traced step)
        return not (o.has_length_limit() and total > o.max_positions)

    def step_output(self, logits, past_key_values):
        return self.output_class(logits=logits, past_key_values=past_key_values)

    def input_sizes(self):
        return {**super().input_sizes(), self.lm_head_layer: self.main_layer.output_width}

    def build_lm_head(self, config):
        if config.tie_word_embeddings:
            return TFTiedLMHead(self.main_layer.parts.embed, self.spec.bias, name=self.spec.attr)
        return dense(config, config.vocab_size, self.spec.attr, use_bias=self.spec.bias)

    def call(self, input_ids=None, labels=None, training=False, return_dict=True, logits_to_keep=0, **kwargs):
        encoded = self.encode(input_ids, training, **kwargs)
        logits = self.lm_head_layer(kept_positions(encoded.last_hidden_state, logits_to_keep, labels))
        if self.logits_in_float32:
            logits = tf.cast(logits, tf.float32)
        loss = token_loss(logits[:, :-1], labels[:, 1:]) if labels is not None else None
        return out.finish(out.from_encoded(self.output_class, encoded, loss=loss, logits=logits), return_dict)
