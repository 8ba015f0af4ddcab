"""The pre-norm decoder (Llama, Mistral, Qwen2/3, Gemma 1/2/3, Phi-3, Mixtral) in TensorFlow, built from the
config's DecoderOptions (autoload/decoder_options.py). transformers never had TF classes for most of these,
so layer names mirror the PyTorch modules (`model/layers_._0/self_attn/q_proj`). An architecture's classes
are explicit subclasses:

    class TFMistralPreTrainedModel(TFDecoderPreTrainedModel):
        config_class = MistralConfig
    class TFMistralModel(TFBaseModel, TFMistralPreTrainedModel): pass
    class TFMistralForCausalLM(TFDecoderForCausalLM, TFMistralPreTrainedModel): pass

and its other heads are the generic ones of ../heads.py (HEADS in autoload/models/<model_type>.py).
"""

from __future__ import annotations

import tensorflow as tf

from autoload import outputs as out
from autoload.rope import rope_kind, switches_to_long_factors

from ..generation import TFCompiledStep, TFGenerationMixin
from ..heads import TFLanguageModelingModel, TFMainLayerModel, TFSequenceClassificationModel, kept_positions
from ..losses import token_loss
from ..modeling import Dropout, Layer, NamedWeight, dense, weights_init
from ..rotary import rope_length, rotary_cos_sin
from .attention import TFDecoderAttention, decoder_bias
from .feedforward import TFGatedMLP, TFSparseMoe, load_balancing_loss
from .norms import TFRMSNorm


class TFDecoderLayer(Layer):
    """x + attn(norm(x)), then + mlp(norm(x)); with sandwich norms (Gemma 2/3) each branch's output is
    normed too."""

    def __init__(self, options, config, **kwargs):
        super().__init__(**kwargs)
        o = self.options = options

        def norm(name):
            return TFRMSNorm(o.hidden_size, o.norm_eps, o.norm_offset, name=name)

        self.self_attn = TFDecoderAttention(o, config, name="self_attn")
        self.feed_forward = (TFSparseMoe if o.moe else TFGatedMLP)(o, config, name=o.mlp_attr)
        self.input_layernorm = norm("input_layernorm")
        self.post_attention_layernorm = norm("post_attention_layernorm")
        if o.sandwich_norms:
            self.pre_feedforward_layernorm = norm("pre_feedforward_layernorm")
            self.post_feedforward_layernorm = norm("post_feedforward_layernorm")
        self.dropout = Dropout(o.residual_dropout)

    def input_sizes(self):
        norms = [self.input_layernorm, self.post_attention_layernorm]
        if self.options.sandwich_norms:
            norms += [self.pre_feedforward_layernorm, self.post_feedforward_layernorm]
        return {self.self_attn: None, self.feed_forward: None, **dict.fromkeys(norms, self.options.hidden_size)}

    def call(self, hidden, cos=None, sin=None, bias=None, past=None, output_attentions=False, training=False):
        attended, probs, cache = self.self_attn(self.input_layernorm(hidden), cos=cos, sin=sin, bias=bias, past=past,
                                                output_attentions=output_attentions, training=training)  # fmt: skip
        if self.options.sandwich_norms:
            hidden = hidden + self.dropout(self.post_attention_layernorm(attended), training=training)
            fed, router_logits = self.feed_forward(self.pre_feedforward_layernorm(hidden), training=training)
            fed = self.post_feedforward_layernorm(fed)
        else:
            hidden = hidden + self.dropout(attended, training=training)
            fed, router_logits = self.feed_forward(self.post_attention_layernorm(hidden), training=training)
        return hidden + self.dropout(fed, training=training), probs, cache, router_logits


class TFDecoderMainLayer(Layer):
    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        o = self.options = config.decoder_options()
        self.embed_tokens = NamedWeight((o.vocab_size, o.hidden_size), "weight", weights_init(config),
                                        name="embed_tokens")  # fmt: skip
        self.layers = [TFDecoderLayer(o, config, name=f"layers_._{i}") for i in range(o.num_layers)]
        self.norm = TFRMSNorm(o.hidden_size, o.norm_eps, o.norm_offset, name="norm")

    @property
    def output_width(self) -> int:
        """The size of the last axis of last_hidden_state."""
        return self.options.hidden_size

    def input_sizes(self):
        return {self.embed_tokens: None, **dict.fromkeys(self.layers), self.norm: self.options.hidden_size}

    def call(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None, inputs_embeds=None,
             use_cache=None, output_attentions=False, output_hidden_states=False, output_router_logits=None,
             training=False):  # fmt: skip
        c, o = self.config, self.options
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of input_ids and inputs_embeds.")
        hidden = self.embed_tokens(input_ids) if inputs_embeds is None else tf.cast(inputs_embeds, self.compute_dtype)
        if o.embed_scale is not None:
            hidden = hidden * tf.cast(o.embed_scale, hidden.dtype)
        length = hidden.shape[1]
        past_length = past_key_values[0][0].shape[2] if past_key_values else 0
        if past_length is None:  # the compiled decoding step (TFCompiledStep): known when it runs
            past_length = tf.shape(past_key_values[0][0])[2]
        concrete = isinstance(past_length, int) and length is not None
        if concrete and past_length + length > c.max_position_embeddings and rope_kind(c) != "dynamic":
            raise ValueError(
                f"Sequence length {past_length + length} is longer than max_position_embeddings "
                f"({c.max_position_embeddings})."
            )
        steps = tf.shape(hidden)[1]
        if position_ids is None:
            position_ids = tf.range(past_length, past_length + steps)[None]
        seq_len = rope_length(c, position_ids, None)  # (a tensor in the compiled step)
        rotary = {local: rotary_cos_sin(c, position_ids, seq_len, hidden.dtype, local=local)
                  for local in {layer.local_rope for layer in o.layers}}  # fmt: skip
        if attention_mask is not None:
            attention_mask = tf.convert_to_tensor(attention_mask)
        biases = {window: decoder_bias(steps, past_length, attention_mask, hidden.dtype, window, o.causal)
                  for window in {layer.window for layer in o.layers}}  # fmt: skip
        states, caches, attentions, routers = (), (), (), ()
        for i, layer in enumerate(self.layers):
            states += (hidden,)
            cos, sin = rotary[o.layers[i].local_rope]
            hidden, probs, cache, router_logits = layer(
                hidden, cos=cos, sin=sin, bias=biases[o.layers[i].window],
                past=past_key_values[i] if past_key_values else None, output_attentions=output_attentions,
                training=training,
            )  # fmt: skip
            caches, attentions, routers = caches + (cache,), attentions + (probs,), routers + (router_logits,)
        hidden = self.norm(hidden)
        values = {
            "last_hidden_state": hidden,
            "past_key_values": caches if (c.use_cache if use_cache is None else use_cache) else None,
            "hidden_states": states + (hidden,) if output_hidden_states else None,
            "attentions": attentions if output_attentions else None,
        }
        if o.moe is None:
            return out.BaseModelOutputWithPast(**values)
        wanted = o.moe.output_router_logits if output_router_logits is None else output_router_logits
        return out.MoeModelOutputWithPast(**values, router_logits=routers if wanted else None)


class TFDecoderPreTrainedModel(TFMainLayerModel):
    base_model_prefix = "model"
    main_layer_class = TFDecoderMainLayer
    _keys_to_ignore_on_load_unexpected = [r"rotary_emb\.inv_freq", r"embed_tokens\.embed_scale"]


class TFTiedLMHead(Layer):
    """Logits from the input embedding matrix (tie_word_embeddings)."""

    def __init__(self, embeddings, **kwargs):
        super().__init__(**kwargs)
        self.embeddings = embeddings

    def call(self, hidden):
        return tf.matmul(hidden, tf.cast(self.embeddings.weight, hidden.dtype), transpose_b=True)


class TFDecoderForCausalLM(TFCompiledStep, TFGenerationMixin, TFLanguageModelingModel):
    """Next-token logits (soft-capped for Gemma 2/3); for a mixture of experts also the router logits and
    the auxiliary load-balancing loss. Decoding steps run as one traced graph (TFCompiledStep)."""

    causal = True
    _tied_weights_keys = ["lm_head.weight"]
    generation_position_ids = True  # generate() passes positions counted from the attention mask
    accepts_logits_to_keep = True  # generate() scores only the prompt's last position
    generation_step_kwargs = {"output_router_logits": False}  # generate() reads only the logits

    def restarts_cache(self, before: int, after: int) -> bool:
        return switches_to_long_factors(self.config, before, after)

    def compiled_step_allowed(self, total: int) -> bool:
        """Longer than the config allows is the eager call's error to raise (dynamic NTK rope allows any length;
        its frequencies and longrope's are picked from the positions inside the traced step)."""
        return rope_kind(self.config) == "dynamic" or total <= self.config.max_position_embeddings

    def optional_outputs(self) -> dict:
        moe = self.main_layer.options.moe
        return {**super().optional_outputs(), "output_router_logits": moe is not None and moe.output_router_logits}

    def step_output(self, logits, past_key_values):
        if self.main_layer.options.moe is None:
            return out.CausalLMOutputWithPast(logits=logits, past_key_values=past_key_values)
        return out.MoeCausalLMOutputWithPast(logits=logits, past_key_values=past_key_values)

    def input_sizes(self):
        return {**super().input_sizes(), self.lm_head_layer: self.main_layer.output_width}

    def build_lm_head(self, config):
        if config.tie_word_embeddings:
            return TFTiedLMHead(self.main_layer.embed_tokens, name="tied_lm_head")
        return dense(config, config.vocab_size, "lm_head", use_bias=False)

    def call(self, input_ids=None, attention_mask=None, labels=None, output_router_logits=None, training=False,
             return_dict=True, logits_to_keep=0, **kwargs):  # fmt: skip
        moe = self.main_layer.options.moe
        if moe is not None:
            output_router_logits = moe.output_router_logits if output_router_logits is None else output_router_logits
            kwargs["output_router_logits"] = output_router_logits
        encoded = self.encode(input_ids, training, attention_mask=attention_mask, **kwargs)
        logits = self.lm_head_layer(kept_positions(encoded.last_hidden_state, logits_to_keep, labels))
        cap = self.main_layer.options.final_softcap
        if cap is not None:
            logits = tf.tanh(logits / cap) * cap
        loss = token_loss(logits[:, :-1], labels[:, 1:]) if labels is not None else None
        if moe is None:
            return out.finish(out.from_encoded(out.CausalLMOutputWithPast, encoded, loss=loss, logits=logits),
                              return_dict)  # fmt: skip
        aux_loss = None
        if output_router_logits:
            steps = encoded.last_hidden_state.shape[1]
            mask = None if attention_mask is None else attention_mask[:, -steps:]  # this call's tokens
            aux_loss = load_balancing_loss(encoded.router_logits, moe.num_experts, moe.top_k, mask)
            if loss is not None:
                loss = loss + moe.aux_loss_coef * aux_loss
        result = out.from_encoded(out.MoeCausalLMOutputWithPast, encoded, loss=loss, aux_loss=aux_loss, logits=logits,
                                  router_logits=encoded.router_logits)  # fmt: skip
        return out.finish(result, return_dict)


class TFDecoderForSequenceClassification(TFSequenceClassificationModel):
    output_class = out.SequenceClassifierOutputWithPast
