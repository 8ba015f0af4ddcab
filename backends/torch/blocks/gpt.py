"""GPT-style decoders in PyTorch (GPT-2, OPT, GPT-NeoX, GPT-J), built from the config's GptOptions
(autoload/gpt_options.py) on the decoders' attention core (blocks/attention.py: the additive mask, eager and
fused attention). Module names are the checkpoint's (options.names). An architecture's classes are explicit
subclasses:

    class OPTModel(GptModel, OPTPreTrainedModel): pass
    class OPTForCausalLM(GptForCausalLM, OPTPreTrainedModel):
        base_class = OPTModel

and its other heads are the generic ones of ../heads.py (HEADS in autoload/models/<model_type>.py).
"""

from __future__ import annotations

import torch
from torch import nn

from autoload import outputs as out
from autoload.gpt_options import GptOptions

from ..activations import get_activation
from ..generation import GenerationMixin
from ..heads import LanguageModelingModel, kept_positions
from ..losses import causal_lm_loss
from ..modeling import PreTrainedModel
from ..rotary import apply_rotary, rotary_cos_sin
from .attention import decoder_mask, eager_attention


class Conv1D(nn.Module):
    """GPT-2's projection: weight stored [in, out], applied as x @ W + b."""

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        self.bias = nn.Parameter(torch.zeros(out_features))

    def forward(self, x):
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).view(*x.shape[:-1], -1)


def projection(o: GptOptions, in_features: int, out_features: int, bias: bool = True) -> nn.Module:
    return Conv1D(in_features, out_features) if o.conv1d else nn.Linear(in_features, out_features, bias=bias)


def layer_norm(o: GptOptions) -> nn.LayerNorm:
    return nn.LayerNorm(o.hidden_size, eps=o.norm_eps, elementwise_affine=o.norm_affine)


def padding_mask(mask, dtype) -> torch.Tensor | None:
    """Additive [batch, 1, 1, keys] mask hiding the keys where `mask` is 0 (cross-attention's encoder mask)."""
    if mask is None:
        return None
    return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


class GptAttention(nn.Module):
    """q, k, v from the options' projection layout, rotated where the positions are rotary, then the attention
    core. The cache holds (keys, values) of [batch, heads, seq, head_dim]. As cross-attention (GPT-2's
    crossattention), keys and values come from the encoder's states and are computed once."""

    def __init__(self, options: GptOptions, index: int, cross: bool = False):
        super().__init__()
        o = self.options = options
        self.cross, self.scale, width = cross, o.layer_scale(index), o.hidden_size
        if o.attention_layout == "conv1d":
            if cross:
                self.c_attn = Conv1D(width, 2 * width)
                self.q_attn = Conv1D(width, width)
            else:
                self.c_attn = Conv1D(width, 3 * width)
            self.c_proj = Conv1D(width, width)
        elif o.attention_layout == "separate":
            self.k_proj = nn.Linear(width, width, bias=o.qkv_bias)
            self.v_proj = nn.Linear(width, width, bias=o.qkv_bias)
            self.q_proj = nn.Linear(width, width, bias=o.qkv_bias)
            self.out_proj = nn.Linear(width, width, bias=o.out_bias)
        else:
            self.query_key_value = nn.Linear(width, 3 * width, bias=o.qkv_bias)
            self.dense = nn.Linear(width, width, bias=o.out_bias)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(*x.shape[:2], -1, self.options.head_dim).transpose(1, 2)

    def project(self, hidden):
        o = self.options
        if o.attention_layout == "conv1d":
            return tuple(self._heads(t) for t in self.c_attn(hidden).split(o.hidden_size, dim=-1))
        if o.attention_layout == "separate":
            return self._heads(self.q_proj(hidden)), self._heads(self.k_proj(hidden)), self._heads(self.v_proj(hidden))
        fused = self.query_key_value(hidden).view(*hidden.shape[:2], o.num_heads, 3 * o.head_dim).transpose(1, 2)
        return fused.chunk(3, dim=-1)  # each head's row block holds its q, then k, then v

    def output(self, context):
        layout = self.options.attention_layout
        return (self.c_proj if layout == "conv1d" else self.out_proj if layout == "separate" else self.dense)(context)

    def forward(self, hidden, mask, rotary=None, past=None, output_attentions=False, encoder=None):
        """Returns (output, attention probabilities or None, (keys, values) including the past)."""
        o = self.options
        if self.cross:
            q = self._heads(self.q_attn(hidden))
            k, v = past if past else (self._heads(t) for t in self.c_attn(encoder).split(o.hidden_size, dim=-1))
        else:
            q, k, v = self.project(hidden)
            if rotary is not None:
                q, k = (apply_rotary(t, *rotary, interleaved=o.rotary_interleaved) for t in (q, k))
            if past:
                k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        context, probs = self.attend(q, k, v, mask, output_attentions)
        context = context.transpose(1, 2).reshape(*hidden.shape[:2], -1)
        return self.output(context), probs if output_attentions else None, (k, v)

    def attend(self, q, k, v, mask, output_attentions: bool):
        o = self.options
        dropout = o.attention_dropout if self.training else 0.0
        if o.upcast:  # scores, softmax and the weighted sum in float32 (GPT-J; GPT-2 reorder_and_upcast_attn)
            dtype = v.dtype
            mask = None if mask is None else mask.float()
            context, probs = eager_attention(q.float(), k.float(), v.float(), mask, self.scale, None, dropout,
                                             self.training)  # fmt: skip
            return context.to(dtype), probs.to(dtype)
        if output_attentions:
            return eager_attention(q, k, v, mask, self.scale, None, dropout, self.training)
        context = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout, scale=self.scale)
        return context, None


def build_mlp(owner: nn.Module, o: GptOptions) -> None:
    setattr(owner, o.names.mlp_in, projection(o, o.hidden_size, o.inner_size, o.mlp_bias))
    setattr(owner, o.names.mlp_out, projection(o, o.inner_size, o.hidden_size, o.mlp_bias))
    owner.act = get_activation(o.activation)


def feed_forward(owner: nn.Module, o: GptOptions, x):
    return getattr(owner, o.names.mlp_out)(owner.act(getattr(owner, o.names.mlp_in)(x)))


class GptMLP(nn.Module):
    def __init__(self, options: GptOptions):
        super().__init__()
        self.options = options
        build_mlp(self, options)

    def forward(self, x):
        return feed_forward(self, self.options, x)


class GptLayer(nn.Module):
    """One block: pre-norm (or OPT's post-norm) attention and MLP, one after the other (GPT-2's optional
    cross-attention between them) or in parallel (GPT-NeoX with two norms, GPT-J with one)."""

    def __init__(self, options: GptOptions, index: int):
        super().__init__()
        o = self.options = options
        n = o.names
        setattr(self, n.norm_1, layer_norm(o))
        setattr(self, n.attention, GptAttention(o, index))
        if o.cross_attention:
            self.crossattention = GptAttention(o, index, cross=True)
            self.ln_cross_attn = layer_norm(o)
        if n.norm_2:
            setattr(self, n.norm_2, layer_norm(o))
        if n.mlp:
            setattr(self, n.mlp, GptMLP(o))
        else:
            build_mlp(self, o)
        self.dropout = nn.Dropout(o.residual_dropout)

    def mlp_forward(self, x):
        n = self.options.names
        return getattr(self, n.mlp)(x) if n.mlp else feed_forward(self, self.options, x)

    def forward(self, hidden, mask, rotary=None, past=None, output_attentions=False, encoder=None, encoder_mask=None):
        """Returns (hidden, self-attention probabilities, cross-attention probabilities, cache)."""
        o, n = self.options, self.options.names
        norm_1 = getattr(self, n.norm_1)
        x = norm_1(hidden) if o.norm_before else hidden
        attended, probs, cache = getattr(self, n.attention)(x, mask, rotary, past[:2] if past else None,
                                                            output_attentions)  # fmt: skip
        attended = self.dropout(attended)
        if o.residual == "parallel_shared_norm":
            return hidden + attended + self.dropout(self.mlp_forward(x)), probs, None, cache
        norm_2 = getattr(self, n.norm_2)
        if o.residual == "parallel":
            return hidden + attended + self.dropout(self.mlp_forward(norm_2(hidden))), probs, None, cache
        hidden = hidden + attended
        if not o.norm_before:
            hidden = norm_1(hidden)
        cross_probs = None
        if encoder is not None:
            crossed, cross_probs, cross_cache = self.crossattention(
                self.ln_cross_attn(hidden), encoder_mask, None, past[2:] if past else None, output_attentions, encoder
            )
            hidden, cache = hidden + self.dropout(crossed), cache + cross_cache
        hidden = hidden + self.dropout(self.mlp_forward(norm_2(hidden) if o.norm_before else hidden))
        if not o.norm_before:
            hidden = norm_2(hidden)
        return hidden, probs, cross_probs, cache


def build_stack(owner: nn.Module, o: GptOptions) -> None:
    """Embeddings, positions, the layers and the final norm, as attributes of `owner`."""
    n = o.names
    setattr(owner, n.embed, nn.Embedding(o.vocab_size, o.embed_width, padding_idx=o.pad_token_id))
    if o.positions == "learned":
        setattr(owner, n.positions, nn.Embedding(o.max_positions + o.position_offset, o.hidden_size))
    if o.projection_dim:
        owner.project_in = nn.Linear(o.projection_dim, o.hidden_size, bias=False)
        owner.project_out = nn.Linear(o.hidden_size, o.projection_dim, bias=False)
    owner.drop = nn.Dropout(o.embed_dropout)
    setattr(owner, n.layers, nn.ModuleList(GptLayer(o, i) for i in range(o.num_layers)))
    if o.final_norm:
        setattr(owner, n.final_norm, layer_norm(o))


class GptDecoder(nn.Module):
    """Everything below a base model that nests it (OPT's `decoder`)."""

    def __init__(self, options: GptOptions):
        super().__init__()
        build_stack(self, options)


def default_positions(o: GptOptions, attention_mask, past_length: int, length: int, device) -> torch.Tensor:
    """Positions past_length…; OPT counts the attention mask's ones instead (padding gets -1)."""
    if o.positions_from_mask and attention_mask is not None:
        mask = attention_mask.long()
        return (mask.cumsum(1) * mask - 1)[:, past_length : past_length + length]
    return torch.arange(past_length, past_length + length, device=device)[None]


class GptPreTrainedModel(PreTrainedModel):
    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        if isinstance(module, Conv1D):
            nn.init.normal_(module.weight, std=getattr(self.config, "initializer_range", 0.02))
            nn.init.zeros_(module.bias)


class GptModel(GptPreTrainedModel):
    """Embeddings (+ learned positions, or rotary ones in attention), the layers, the final norm; the cache is a
    tuple per layer of (keys, values), followed by the cross-attention's (keys, values) where there is one."""

    output_class = out.BaseModelOutputWithPast

    def __init__(self, config):
        super().__init__(config)
        o = self.options = config.gpt_options()
        if o.names.nest:
            setattr(self, o.names.nest, GptDecoder(o))
        else:
            build_stack(self, o)

    @property
    def stack(self) -> nn.Module:
        return getattr(self, self.options.names.nest) if self.options.names.nest else self

    def get_input_embeddings(self):
        return getattr(self.stack, self.options.names.embed)

    def embed(self, input_ids, inputs_embeds, token_type_ids, position_ids):
        o, stack = self.options, self.stack
        hidden = getattr(stack, o.names.embed)(input_ids) if inputs_embeds is None else inputs_embeds
        if o.projection_dim:
            hidden = stack.project_in(hidden)
        if o.positions == "learned":
            hidden = hidden + getattr(stack, o.names.positions)(position_ids + o.position_offset)
        if token_type_ids is not None and o.token_type_embeddings:
            hidden = hidden + getattr(stack, o.names.embed)(token_type_ids)
        return stack.drop(hidden)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                past_key_values=None, inputs_embeds=None, encoder_hidden_states=None, encoder_attention_mask=None,
                head_mask=None, use_cache=None, output_attentions=None, output_hidden_states=None, return_dict=None,
                **kwargs):  # fmt: skip
        o, stack = self.options, self.stack
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of input_ids and inputs_embeds.")
        if head_mask is not None:
            raise NotImplementedError("head_mask is not implemented; mask heads by editing the attention weights.")
        if encoder_hidden_states is not None and not o.cross_attention:
            raise ValueError(f"encoder_hidden_states need cross-attention layers: build {type(self).__name__} from a "
                             "config with add_cross_attention=True.")  # fmt: skip
        length = (input_ids if inputs_embeds is None else inputs_embeds).shape[1]
        past_length = past_key_values[0][0].shape[2] if past_key_values else 0
        if o.has_length_limit() and past_length + length > o.max_positions:
            raise ValueError(f"Sequence length {past_length + length} is longer than {o.length_field} "
                             f"({o.max_positions}); truncate the inputs.")  # fmt: skip
        device = (input_ids if inputs_embeds is None else inputs_embeds).device
        if position_ids is None:
            position_ids = default_positions(o, attention_mask, past_length, length, device)
        hidden = self.embed(input_ids, inputs_embeds, token_type_ids, position_ids)
        rotary = None
        if o.positions == "rotary":
            rotary = rotary_cos_sin(self.config, position_ids, hidden.dtype, interleaved=o.rotary_interleaved)
        mask = decoder_mask(length, past_length, attention_mask, hidden.dtype, hidden.device)
        encoder_mask = None
        if encoder_hidden_states is not None:
            encoder_mask = padding_mask(encoder_attention_mask, hidden.dtype)
        attentions_wanted = self._flag(output_attentions, "output_attentions")
        states, caches, attentions, crossed = (), (), (), ()
        for i, layer in enumerate(getattr(stack, o.names.layers)):
            states += (hidden,)
            past = past_key_values[i] if past_key_values else None
            if self.training and o.layerdrop and torch.rand([]) < o.layerdrop:  # OPT's layerdrop skips the layer
                caches += (past,)
                continue
            hidden, probs, cross_probs, cache = layer(hidden, mask, rotary, past, attentions_wanted,
                                                      encoder_hidden_states, encoder_mask)  # fmt: skip
            caches, attentions, crossed = caches + (cache,), attentions + (probs,), crossed + (cross_probs,)
        if o.final_norm:
            hidden = getattr(stack, o.names.final_norm)(hidden)
        if o.projection_dim:
            hidden = stack.project_out(hidden)
        values = {
            "last_hidden_state": hidden,
            "past_key_values": caches if self._flag(use_cache, "use_cache") else None,
            "hidden_states": states + (hidden,) if self._flag(output_hidden_states, "output_hidden_states") else None,
            "attentions": attentions if attentions_wanted else None,
        }
        if o.cross_attention and attentions_wanted and encoder_hidden_states is not None:
            values["cross_attentions"] = crossed
        return self._finish(self.output_class(**values), return_dict)


class GptForCausalLM(LanguageModelingModel, GenerationMixin):
    """Next-token logits from the LM head (tied to the word embeddings when the config says so)."""

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

    def build_lm_head(self, config) -> nn.Module:
        return nn.Linear(self.base_model.options.embed_width, config.vocab_size, bias=self.spec.bias)

    def get_output_embeddings(self):
        return getattr(self, self.spec.attr)

    def restarts_cache(self, before: int, after: int) -> bool:
        return False

    def forward(self, input_ids=None, labels=None, return_dict=None, logits_to_keep=0, **kwargs):
        encoded = self.encode(input_ids, **kwargs)
        logits = getattr(self, self.spec.attr)(kept_positions(encoded.last_hidden_state, logits_to_keep, labels))
        if self.logits_in_float32:
            logits = logits.float()
        loss = causal_lm_loss(logits, labels) if labels is not None else None
        return self._finish(out.from_encoded(self.output_class, encoded, loss=loss, logits=logits), return_dict)
