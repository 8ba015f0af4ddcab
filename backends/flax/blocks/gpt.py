"""GPT-style decoders in Flax (GPT-2, OPT, GPT-NeoX, GPT-J), built from the config's GptOptions
(autoload/gpt_options.py) on the decoders' attention core (blocks/attention.py) and the fixed-capacity
StaticCache generate() decodes into. Parameter paths are the checkpoints' names (options.names), as
transformers' Flax GPT-2 / OPT / GPT-J write them (`h/0/attn/c_attn/kernel`, `decoder/layers/0/fc1`); GPT-NeoX,
which transformers never had in Flax, mirrors its PyTorch names. An architecture's classes are explicit
subclasses:

    class FlaxOPTPreTrainedModel(FlaxGptPreTrainedModel):
        config_class = OPTConfig
    class FlaxOPTModel(FlaxOPTPreTrainedModel):
        module_class = FlaxGptModule
    class FlaxOPTForCausalLM(FlaxGptForCausalLM, FlaxOPTPreTrainedModel): pass

and its other heads are the generic ones of ../heads.py (HEADS in autoload/models/<model_type>.py).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload.gpt_options import GptOptions

from ..activations import get_activation
from ..attention import as_array, extend_cache, key_width
from ..generation import FlaxCompiledStep, FlaxGenerationMixin
from ..heads import FlaxTaskModel, HeadModule, kept_positions
from ..losses import causal_lm_loss
from ..modeling import FlaxPreTrainedModel
from ..remat import checkpointed
from ..rotary import apply_rotary, rope_length, rotary_cos_sin
from .attention import attend, decoder_bias
from .norms import LayerNorm


def _init(config):
    return nn.initializers.normal(getattr(config, "initializer_range", 0.02))


class FlaxConv1D(nn.Module):
    """GPT-2's projection, with the kernel [out, in] as transformers' Flax GPT-2 stores it."""

    features: int
    std: float = 0.02
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x):
        kernel = self.param("kernel", nn.initializers.normal(self.std), (self.features, x.shape[-1]))
        bias = self.param("bias", nn.initializers.zeros, (self.features,))
        return x @ kernel.T.astype(self.dtype) + bias.astype(self.dtype)


def projection(o: GptOptions, config, features: int, bias: bool, dtype, name: str) -> nn.Module:
    if o.conv1d:
        return FlaxConv1D(features, getattr(config, "initializer_range", 0.02), dtype, name=name)
    return nn.Dense(features, use_bias=bias, dtype=dtype, kernel_init=_init(config), name=name)


def layer_norm(o: GptOptions, dtype, name: str) -> nn.LayerNorm:
    return LayerNorm(epsilon=o.norm_eps, use_bias=o.norm_affine, use_scale=o.norm_affine, dtype=dtype, name=name)


def padding_bias(mask, dtype):
    """Additive [batch, 1, 1, keys] bias hiding the keys where `mask` is 0 (cross-attention's encoder mask)."""
    if mask is None:
        return None
    return jnp.where(mask[:, None, None, :] > 0, 0.0, jnp.finfo(dtype).min).astype(dtype)


class FlaxGptAttention(nn.Module):
    """q, k, v from the options' projection layout, rotated where the positions are rotary, then the attention
    core; a (keys, values) cache of [batch, seq, heads, head_dim] arrays or StaticCaches. As cross-attention
    (GPT-2), keys and values come from the encoder's states once."""

    options: Any
    config: Any
    index: int = 0
    cross: bool = False
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, hidden, bias, cos=None, sin=None, past=None, output_attentions=False, encoder=None,
                 deterministic=True):  # fmt: skip
        o, c, width = self.options, self.config, self.options.hidden_size

        def heads(x, dim=o.head_dim):
            return x.reshape(x.shape[:2] + (-1, dim))

        if o.attention_layout == "conv1d":
            if self.cross:
                q = heads(FlaxConv1D(width, dtype=self.dtype, name="q_attn")(hidden))
                fused = FlaxConv1D(2 * width, dtype=self.dtype, name="c_attn")
                k, v = past if past else (heads(t) for t in jnp.split(fused(encoder), 2, axis=-1))
            else:
                q, k, v = (heads(t) for t in jnp.split(FlaxConv1D(3 * width, dtype=self.dtype, name="c_attn")(hidden),
                                                       3, axis=-1))  # fmt: skip
            output = FlaxConv1D(width, dtype=self.dtype, name="c_proj")
        elif o.attention_layout == "separate":
            k, v, q = (heads(projection(o, c, width, o.qkv_bias, self.dtype, name)(hidden))
                       for name in ("k_proj", "v_proj", "q_proj"))  # fmt: skip
            output = projection(o, c, width, o.out_bias, self.dtype, "out_proj")
        else:  # each head's block of query_key_value's rows holds its q, then k, then v
            fused = projection(o, c, 3 * width, o.qkv_bias, self.dtype, "query_key_value")(hidden)
            q, k, v = jnp.split(heads(fused, 3 * o.head_dim), 3, axis=-1)
            output = projection(o, c, width, o.out_bias, self.dtype, "dense")
        if not self.cross:
            if cos is not None:
                q, k = (apply_rotary(t, cos, sin, interleaved=o.rotary_interleaved) for t in (q, k))
            k, v = extend_cache(past, k, v)
        keys, values = as_array(k), as_array(v)
        dropout = nn.Dropout(o.attention_dropout) if o.attention_dropout else None
        scale = o.layer_scale(self.index)
        if o.upcast:  # scores, softmax and the weighted sum in float32 (GPT-J; GPT-2 reorder_and_upcast_attn)
            f32 = [t.astype(jnp.float32) for t in (q, keys, values)]
            context, probs = attend(*f32, None if bias is None else bias.astype(jnp.float32), scale, None, dropout,
                                    deterministic)  # fmt: skip
            context, probs = context.astype(values.dtype), probs.astype(values.dtype)
        else:
            context, probs = attend(q, keys, values, bias, scale, None, dropout, deterministic)
        out_ = output(context.reshape(hidden.shape[:2] + (-1,)))
        return out_, probs if output_attentions else None, (k, v)


class FlaxGptMLP(nn.Module):
    options: Any
    config: Any
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x):
        return feed_forward(self.options, self.config, self.dtype, x)


def feed_forward(o: GptOptions, config, dtype, x):
    """The two projections around the activation, created in the calling module (OPT's fc1/fc2 sit on the
    layer itself)."""
    x = projection(o, config, o.inner_size, o.mlp_bias, dtype, o.names.mlp_in)(x)
    return projection(o, config, o.hidden_size, o.mlp_bias, dtype, o.names.mlp_out)(get_activation(o.activation)(x))


class FlaxGptLayer(nn.Module):
    """One block: pre-norm (or OPT's post-norm) attention and MLP, one after the other (GPT-2's optional
    cross-attention between them) or in parallel (GPT-NeoX with two norms, GPT-J with one)."""

    options: Any
    config: Any
    index: int = 0
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, hidden, bias, cos, sin, past=None, output_attentions=False, encoder=None, encoder_bias=None,
                 deterministic=True):  # fmt: skip
        o, n, c = self.options, self.options.names, self.config
        norm_1 = layer_norm(o, self.dtype, n.norm_1)
        dropout = nn.Dropout(o.residual_dropout)

        def mlp(x):
            if n.mlp:
                return FlaxGptMLP(o, c, self.dtype, name=n.mlp)(x)
            return feed_forward(o, c, self.dtype, x)

        x = norm_1(hidden) if o.norm_before else hidden
        attention = FlaxGptAttention(o, c, self.index, dtype=self.dtype, name=n.attention)
        attended, probs, cache = attention(x, bias, cos, sin, past[:2] if past else None, output_attentions,
                                           deterministic=deterministic)  # fmt: skip
        attended = dropout(attended, deterministic=deterministic)
        if o.residual == "parallel_shared_norm":
            return hidden + attended + dropout(mlp(x), deterministic=deterministic), probs, None, cache
        norm_2 = layer_norm(o, self.dtype, n.norm_2)
        if o.residual == "parallel":
            return hidden + attended + dropout(mlp(norm_2(hidden)), deterministic=deterministic), probs, None, cache
        hidden = hidden + attended
        if not o.norm_before:
            hidden = norm_1(hidden)
        cross_probs = None
        if o.cross_attention:
            cross = FlaxGptAttention(o, c, self.index, cross=True, dtype=self.dtype, name="crossattention")
            cross_norm = layer_norm(o, self.dtype, "ln_cross_attn")
            if encoder is not None:
                crossed, cross_probs, cross_cache = cross(cross_norm(hidden), encoder_bias, None, None,
                                                          past[2:] if past else None, output_attentions, encoder,
                                                          deterministic)  # fmt: skip
                hidden, cache = hidden + dropout(crossed, deterministic=deterministic), cache + cross_cache
        hidden = hidden + dropout(mlp(norm_2(hidden) if o.norm_before else hidden), deterministic=deterministic)
        if not o.norm_before:
            hidden = norm_2(hidden)
        return hidden, probs, cross_probs, cache


class FlaxGptLayers(nn.Module):
    """The layers under `<layers>/0`, `<layers>/1`, …"""

    options: Any
    config: Any
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, hidden, bias, cos, sin, past_key_values, output_attentions, encoder, encoder_bias,
                 deterministic):  # fmt: skip
        o = self.options
        states, caches, attentions, crossed = (), (), (), ()
        layer_class = checkpointed(FlaxGptLayer, static_argnums=(6, 9))  # output_attentions, deterministic
        for i in range(o.num_layers):
            states += (hidden,)
            layer = layer_class(o, self.config, i, self.dtype, name=str(i))
            new, probs, cross_probs, cache = layer(hidden, bias, cos, sin, past_key_values[i] if past_key_values else None,
                                                   output_attentions, encoder, encoder_bias, deterministic)  # fmt: skip
            if not deterministic and o.layerdrop:  # OPT's layerdrop: the layer's output is dropped
                new = jnp.where(jax.random.uniform(self.make_rng("dropout")) < o.layerdrop, hidden, new)
            hidden = new
            caches, attentions, crossed = caches + (cache,), attentions + (probs,), crossed + (cross_probs,)
        return hidden, states, caches, attentions, crossed


def default_positions(o: GptOptions, attention_mask, past_length: int, length: int):
    """Positions past_length…; OPT counts the attention mask's ones instead (padding gets -1)."""
    if o.positions_from_mask and attention_mask is not None:
        mask = attention_mask[:, : past_length + length].astype("i4")
        return (jnp.cumsum(mask, axis=1) * mask - 1)[:, past_length:]
    return past_length + jnp.arange(length)[None]  # past_length may be traced (the jitted step)


class FlaxGptModule(nn.Module):
    """Embeddings (+ learned positions, or rotary ones in attention), the layers, the final norm. A base model
    that nests these (OPT's `decoder`) runs the same module again under that name (`inner`)."""

    config: Any
    dtype: jnp.dtype = jnp.float32
    inner: bool = False
    output_class = out.BaseModelOutputWithPast

    @nn.compact
    def __call__(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                 past_key_values=None, inputs_embeds=None, encoder_hidden_states=None, encoder_attention_mask=None,
                 use_cache=None, deterministic=True, output_attentions=False, output_hidden_states=False,
                 return_dict=True, head_mask=None, **kwargs):  # fmt: skip
        c = self.config
        o = c.gpt_options()
        n = o.names
        if head_mask is not None:
            raise NotImplementedError("head_mask is not implemented; mask heads by editing the attention weights.")
        if n.nest and not self.inner:
            nested = type(self)(c, self.dtype, inner=True, name=n.nest)
            return nested(input_ids, attention_mask, token_type_ids, position_ids, past_key_values, inputs_embeds,
                          encoder_hidden_states, encoder_attention_mask, use_cache, deterministic, output_attentions,
                          output_hidden_states, return_dict)  # fmt: skip
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of input_ids and inputs_embeds.")
        if encoder_hidden_states is not None and not o.cross_attention:
            raise ValueError("encoder_hidden_states need cross-attention layers: build the model from a config with "
                             "add_cross_attention=True.")  # fmt: skip
        embed = nn.Embed(o.vocab_size, o.embed_width, embedding_init=_init(c), dtype=self.dtype, name=n.embed)
        hidden = embed(input_ids.astype("i4")) if inputs_embeds is None else inputs_embeds.astype(self.dtype)
        length = hidden.shape[1]
        past_length = past_key_values[0][0].shape[1] if past_key_values else 0  # traced in the jitted step
        if isinstance(past_length, int) and o.has_length_limit() and past_length + length > o.max_positions:
            raise ValueError(f"Sequence length {past_length + length} is longer than {o.length_field} "
                             f"({o.max_positions}); truncate the inputs.")  # fmt: skip
        if position_ids is None:
            position_ids = default_positions(o, attention_mask, past_length, length)
        if o.projection_dim:
            hidden = nn.Dense(o.hidden_size, use_bias=False, dtype=self.dtype, kernel_init=_init(c), name="project_in")(
                hidden
            )
        if o.positions == "learned":
            table = nn.Embed(o.max_positions + o.position_offset, o.hidden_size, embedding_init=_init(c),
                             dtype=self.dtype, name=n.positions)  # fmt: skip
            hidden = hidden + table(position_ids.astype("i4") + o.position_offset)
        if token_type_ids is not None and o.token_type_embeddings:
            hidden = hidden + embed(token_type_ids.astype("i4"))
        hidden = nn.Dropout(o.embed_dropout)(hidden, deterministic=deterministic)
        cos = sin = None
        if o.positions == "rotary":
            seq_len = rope_length(c, position_ids, None)  # (traced in the jitted step)
            cos, sin = rotary_cos_sin(c, position_ids, seq_len, hidden.dtype, interleaved=o.rotary_interleaved)
        keys = key_width(past_key_values, past_length + length)
        bias = decoder_bias(length, past_length, attention_mask, hidden.dtype, keys=keys)
        encoder_bias = None
        if encoder_hidden_states is not None:
            encoder_hidden_states = encoder_hidden_states.astype(self.dtype)
            encoder_bias = padding_bias(encoder_attention_mask, hidden.dtype)
        layers = FlaxGptLayers(o, c, self.dtype, name=n.layers)
        hidden, states, caches, attentions, crossed = layers(hidden, bias, cos, sin, past_key_values, output_attentions,
                                                             encoder_hidden_states, encoder_bias, deterministic)  # fmt: skip
        if o.final_norm:
            hidden = layer_norm(o, self.dtype, n.final_norm)(hidden)
        if o.projection_dim:
            hidden = nn.Dense(o.projection_dim, use_bias=False, dtype=self.dtype, kernel_init=_init(c),
                              name="project_out")(hidden)  # fmt: skip
        values = {
            "last_hidden_state": hidden,
            "past_key_values": caches if (c.use_cache if use_cache is None else use_cache) else None,
            "hidden_states": states + (hidden,) if output_hidden_states else None,
            "attentions": attentions if output_attentions else None,
        }
        if o.cross_attention and output_attentions and encoder_hidden_states is not None:
            values["cross_attentions"] = crossed
        return out.finish(self.output_class(**values), return_dict)


def embedding_path(config) -> tuple[str, ...]:
    """Where the word embedding table sits in the base module's parameters."""
    n = config.gpt_options().names
    return (n.nest, n.embed, "embedding") if n.nest else (n.embed, "embedding")


class FlaxGptPreTrainedModel(FlaxPreTrainedModel):
    base_module = FlaxGptModule

    def dummy_inputs(self) -> dict:
        inputs = super().dummy_inputs()
        if self.config.gpt_options().cross_attention:  # so init creates the cross-attention parameters too
            inputs["encoder_hidden_states"] = jnp.zeros((1, 1, self.config.hidden_size), self.dtype)
        return inputs

    def __call__(self, input_ids=None, attention_mask=None, past_key_values=None, use_cache=None, **kwargs):
        if input_ids is None and kwargs.get("inputs_embeds") is None:
            raise ValueError(f"{type(self).__name__} needs input_ids or inputs_embeds.")
        ids = None if input_ids is None else jnp.asarray(input_ids)
        return super().__call__(ids, attention_mask=attention_mask, past_key_values=past_key_values,
                                use_cache=use_cache, **kwargs)  # fmt: skip


class FlaxTiedBias(nn.Module):
    """The bias of an LM head whose weight is the word embeddings (GPT-J with tie_word_embeddings)."""

    features: int

    @nn.compact
    def __call__(self, logits):
        return logits + self.param("bias", nn.initializers.zeros, (self.features,)).astype(logits.dtype)


class FlaxGptForCausalLMModule(HeadModule):
    """Next-token logits from the LM head, or from the word embeddings when the config ties them; the next-token
    loss with labels."""

    output_class: Any = out.CausalLMOutputWithPast
    logits_in_float32: bool = False

    @nn.compact
    def __call__(self, input_ids=None, labels=None, deterministic=True, return_dict=True, logits_to_keep=0, **kwargs):
        c = self.config
        base = self.base()
        encoded = base(input_ids, deterministic=deterministic, **kwargs)
        hidden = kept_positions(encoded.last_hidden_state, logits_to_keep, labels)
        if c.tie_word_embeddings:
            table = base.variables["params"]
            for key in embedding_path(c):
                table = table[key]
            logits = hidden @ table.T.astype(hidden.dtype)
            if self.spec.bias:
                logits = FlaxTiedBias(c.vocab_size, name=self.spec.attr)(logits)
        else:
            logits = nn.Dense(c.vocab_size, use_bias=self.spec.bias, dtype=self.dtype, kernel_init=_init(c),
                              name=self.spec.attr)(hidden)  # fmt: skip
        if self.logits_in_float32:
            logits = logits.astype(jnp.float32)
        loss = None if labels is None else causal_lm_loss(logits, labels)
        return out.finish(out.from_encoded(self.output_class, encoded, loss=loss, logits=logits), return_dict)


class FlaxGptForCausalLM(FlaxCompiledStep, FlaxGenerationMixin, FlaxTaskModel):
    """Decoding steps into generate()'s static cache run compiled (FlaxCompiledStep), except with
    cross-attention."""

    module_class = FlaxGptForCausalLMModule
    output_class = out.CausalLMOutputWithPast
    logits_in_float32 = False  # GPT-J returns float32 logits whatever the weights' dtype
    generation_position_ids = True  # generate() passes positions counted from the attention mask
    accepts_logits_to_keep = True  # generate() scores only the prompt's last position
    # transformers feeds the encoder's states to every step (the cross-attention reads its cached keys and values)
    generation_every_step_inputs = ("encoder_hidden_states", "encoder_attention_mask")

    def module_fields(self) -> dict:
        return {"output_class": self.output_class, "logits_in_float32": self.logits_in_float32}

    def restarts_cache(self, before: int, after: int) -> bool:
        return False

    def compiled_step_allowed(self, total: int) -> bool:
        o = self.config.gpt_options()  # (dynamic and longrope frequencies are picked inside the traced step)
        return not (o.has_length_limit() and total > o.max_positions)  # (the eager call says what is too long)

    def step_output(self, logits, past_key_values):
        return self.output_class(logits=logits, past_key_values=past_key_values)
