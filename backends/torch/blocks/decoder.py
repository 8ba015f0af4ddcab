"""The pre-norm decoder (Llama, Mistral, Qwen2/3, Gemma 1/2/3, Phi-3, Mixtral) in PyTorch, built from the
config's DecoderOptions (autoload/decoder_options.py). An architecture's classes are explicit subclasses:

    class MistralModel(DecoderModel, MistralPreTrainedModel): pass
    class MistralForCausalLM(DecoderForCausalLM, MistralPreTrainedModel):
        base_class = MistralModel

and its other heads are the generic ones of ../heads.py (HEADS in autoload/models/<model_type>.py).
"""

from __future__ import annotations

import torch
from torch import nn

from autoload import outputs as out
from autoload.rope import rope_kind, switches_to_long_factors

from ..generation import GenerationMixin
from ..heads import LanguageModelingModel, SequenceClassificationModel, kept_positions
from ..losses import causal_lm_loss
from ..modeling import PreTrainedModel
from ..rotary import rotary_cos_sin
from .attention import DecoderAttention, decoder_mask
from .feedforward import GatedMLP, SparseMoe, load_balancing_loss
from .norms import RMSNorm


class DecoderLayer(nn.Module):
    """x + attn(norm(x)), then + mlp(norm(x)); with sandwich norms (Gemma 2/3) each branch's output is
    normed too (post_attention_layernorm, post_feedforward_layernorm; pre_feedforward_layernorm before)."""

    def __init__(self, options, index: int):
        super().__init__()
        o = self.options = options
        self.layer = o.layers[index]
        self.self_attn = DecoderAttention(o)
        setattr(self, o.mlp_attr, SparseMoe(o) if o.moe else GatedMLP(o))
        self.input_layernorm = RMSNorm(o.hidden_size, o.norm_eps, o.norm_offset)
        self.post_attention_layernorm = RMSNorm(o.hidden_size, o.norm_eps, o.norm_offset)
        if o.sandwich_norms:
            self.pre_feedforward_layernorm = RMSNorm(o.hidden_size, o.norm_eps, o.norm_offset)
            self.post_feedforward_layernorm = RMSNorm(o.hidden_size, o.norm_eps, o.norm_offset)
        self.dropout = nn.Dropout(o.residual_dropout)

    def forward(self, hidden, cos, sin, mask, past=None, output_attentions=False):
        attended, probs, cache = self.self_attn(self.input_layernorm(hidden), cos, sin, mask, past, output_attentions)
        if self.options.sandwich_norms:
            hidden = hidden + self.dropout(self.post_attention_layernorm(attended))
            fed, router_logits = getattr(self, self.options.mlp_attr)(self.pre_feedforward_layernorm(hidden))
            return hidden + self.dropout(self.post_feedforward_layernorm(fed)), probs, cache, router_logits
        hidden = hidden + self.dropout(attended)
        fed, router_logits = getattr(self, self.options.mlp_attr)(self.post_attention_layernorm(hidden))
        return hidden + self.dropout(fed), probs, cache, router_logits


class DecoderPreTrainedModel(PreTrainedModel):
    base_model_prefix = "model"
    _keys_to_ignore_on_load_unexpected = [r"rotary_emb\.inv_freq", r"embed_tokens\.embed_scale"]

    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        if isinstance(module, RMSNorm) and module.offset:  # scale 1 + weight: 1 at the start
            with torch.no_grad():
                module.weight.zero_()


class DecoderModel(DecoderPreTrainedModel):
    """Embeddings (scaled for Gemma), the layers, the final norm; the cache is a tuple of (keys, values)."""

    def __init__(self, config):
        super().__init__(config)
        o = self.options = config.decoder_options()
        self.embed_tokens = nn.Embedding(o.vocab_size, o.hidden_size, padding_idx=config.pad_token_id)
        self.layers = nn.ModuleList(DecoderLayer(o, i) for i in range(o.num_layers))
        self.norm = RMSNorm(o.hidden_size, o.norm_eps, o.norm_offset)

    def get_input_embeddings(self):
        return self.embed_tokens

    def embed(self, input_ids=None, inputs_embeds=None) -> torch.Tensor:
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of input_ids and inputs_embeds.")
        hidden = self.embed_tokens(input_ids) if inputs_embeds is None else inputs_embeds
        if self.options.embed_scale is not None:  # in the activations' dtype, as the reference rounds it
            hidden = hidden * torch.tensor(self.options.embed_scale, dtype=hidden.dtype)
        return hidden

    def check_length(self, total: int) -> None:
        if total > self.config.max_position_embeddings and rope_kind(self.config) != "dynamic":
            raise ValueError(
                f"Sequence length {total} is longer than max_position_embeddings "
                f"({self.config.max_position_embeddings}); truncate the inputs or raise max_position_embeddings "
                "(with rope_scaling) in the config."
            )

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None,
                inputs_embeds=None, use_cache=None, output_attentions=None, output_hidden_states=None,
                output_router_logits=None, return_dict=None, **kwargs):  # fmt: skip
        o = self.options
        hidden = self.embed(input_ids, inputs_embeds)
        past_length = past_key_values[0][0].shape[2] if past_key_values else 0
        length = hidden.shape[1]
        self.check_length(past_length + length)
        if position_ids is None:
            position_ids = torch.arange(past_length, past_length + length, device=hidden.device)[None]
        rotary = {local: rotary_cos_sin(self.config, position_ids, hidden.dtype, local=local)
                  for local in {layer.local_rope for layer in o.layers}}  # fmt: skip
        masks = {}
        attentions_wanted = self._flag(output_attentions, "output_attentions")
        states, caches, attentions, routers = (), (), (), ()
        for i, layer in enumerate(self.layers):
            states += (hidden,)
            window = o.layers[i].window
            if window not in masks:
                masks[window] = decoder_mask(length, past_length, attention_mask, hidden.dtype, hidden.device,
                                             window, o.causal)  # fmt: skip
            cos, sin = rotary[o.layers[i].local_rope]
            hidden, probs, cache, router_logits = layer(hidden, cos, sin, masks[window],
                                                        past_key_values[i] if past_key_values else None,
                                                        attentions_wanted)  # fmt: skip
            caches, attentions, routers = caches + (cache,), attentions + (probs,), routers + (router_logits,)
        hidden = self.norm(hidden)
        values = {
            "last_hidden_state": hidden,
            "past_key_values": caches if self._flag(use_cache, "use_cache") else None,
            "hidden_states": states + (hidden,) if self._flag(output_hidden_states, "output_hidden_states") else None,
            "attentions": attentions if attentions_wanted else None,
        }
        if o.moe is None:
            return self._finish(out.BaseModelOutputWithPast(**values), return_dict)
        wanted = o.moe.output_router_logits if output_router_logits is None else output_router_logits
        result = out.MoeModelOutputWithPast(**values, router_logits=routers if wanted else None)
        return self._finish(result, return_dict)


class DecoderForCausalLM(LanguageModelingModel, GenerationMixin):
    """Next-token logits from lm_head (tied to the embeddings when the config says so), soft-capped for
    Gemma 2/3; for a mixture of experts, the router logits and the auxiliary load-balancing loss."""

    causal = True
    _tied_weights_keys = ["lm_head.weight"]
    generation_position_ids = True  # generate() passes positions counted from the attention mask
    accepts_logits_to_keep = True  # generate() scores only the prompt's last position
    generation_step_kwargs = {"output_router_logits": False}  # generate() reads only the logits

    def get_output_embeddings(self):
        return self.lm_head

    def restarts_cache(self, before: int, after: int) -> bool:
        return switches_to_long_factors(self.config, before, after)

    def forward(self, input_ids=None, attention_mask=None, labels=None, output_router_logits=None, return_dict=None,
                logits_to_keep=0, **kwargs):  # fmt: skip
        moe = self.base_model.options.moe
        if moe is not None:
            output_router_logits = moe.output_router_logits if output_router_logits is None else output_router_logits
            kwargs["output_router_logits"] = output_router_logits
        encoded = self.encode(input_ids, attention_mask=attention_mask, **kwargs)
        logits = self.lm_head(kept_positions(encoded.last_hidden_state, logits_to_keep, labels))
        cap = self.base_model.options.final_softcap
        if cap is not None:
            logits = torch.tanh(logits / cap) * cap
        loss = causal_lm_loss(logits, labels) if labels is not None else None
        if moe is None:
            return self._finish(out.from_encoded(out.CausalLMOutputWithPast, encoded, loss=loss, logits=logits),
                                return_dict)  # fmt: skip
        aux_loss = None
        if output_router_logits:
            aux_loss = load_balancing_loss(encoded.router_logits, moe.num_experts, moe.top_k,
                                           steps_mask(attention_mask, encoded.last_hidden_state.shape[1]))  # fmt: skip
            if loss is not None:
                loss = loss + moe.aux_loss_coef * aux_loss.to(loss.device)
        result = out.from_encoded(out.MoeCausalLMOutputWithPast, encoded, loss=loss, aux_loss=aux_loss, logits=logits,
                                  router_logits=encoded.router_logits)  # fmt: skip
        return self._finish(result, return_dict)


def steps_mask(attention_mask, length: int):
    """The attention mask's columns for this call's tokens (a cached step's mask covers the past too)."""
    return None if attention_mask is None else attention_mask[:, -length:]


class DecoderForSequenceClassification(SequenceClassificationModel):
    output_class = out.SequenceClassifierOutputWithPast
