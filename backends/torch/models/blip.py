"""BLIP in PyTorch: the ViT image encoder (fused qkv, pre-norm layers), the BERT-style text transformer whose layers
cross-attend to the image (or, in VQA's answer decoder, to the question) with a key/value cache for both
attentions, and BlipModel / BlipForConditionalGeneration / BlipForQuestionAnswering."""

from __future__ import annotations

import math

import torch
from torch import nn

from autoload import outputs as out
from autoload.models.blip import BlipConfig, BlipTextConfig, BlipVisionConfig

from ..activations import get_activation
from ..blocks.vision import check_pixel_values, resize_grid
from ..generation import GenerationMixin
from ..modeling import PreTrainedModel
from .clip import contrastive_loss

NEG = -10000.0  # BLIP's additive mask value


# -- the image encoder ----------------------------------------------------------------------------------------
class BlipVisionEmbeddings(nn.Module):
    def __init__(self, config: BlipVisionConfig):
        super().__init__()
        self.config = config
        width = config.hidden_size
        self.class_embedding = nn.Parameter(torch.randn(1, 1, width))
        self.patch_embedding = nn.Conv2d(3, width, config.patch_size, config.patch_size)
        self.position_embedding = nn.Parameter(torch.randn(1, config.num_positions, width))

    def positions_for(self, height: int, width: int) -> torch.Tensor:
        table = self.position_embedding[0]
        grid = int((table.shape[0] - 1) ** 0.5)
        rows, cols = height // self.config.patch_size, width // self.config.patch_size
        patches = resize_grid(table[1:].reshape(grid, grid, -1), rows, cols).reshape(rows * cols, -1)
        return torch.cat([table[:1], patches])[None]

    def forward(self, pixel_values, interpolate_pos_encoding=False):
        check_pixel_values(pixel_values, 3)
        height, width = pixel_values.shape[-2:]
        dtype = self.patch_embedding.weight.dtype
        patches = self.patch_embedding(pixel_values.to(dtype)).flatten(2).transpose(1, 2)
        hidden = torch.cat([self.class_embedding.expand(patches.shape[0], 1, -1).to(dtype), patches], dim=1)
        positions = self.positions_for(height, width) if interpolate_pos_encoding else self.position_embedding
        return hidden + positions[:, : hidden.shape[1]].to(dtype)


class BlipAttention(nn.Module):
    def __init__(self, config: BlipVisionConfig):
        super().__init__()
        self.num_heads, self.head_dim = config.num_attention_heads, config.hidden_size // config.num_attention_heads
        self.dropout = nn.Dropout(config.attention_dropout)
        self.qkv = nn.Linear(config.hidden_size, 3 * config.hidden_size)
        self.projection = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden, head_mask=None):
        batch, length, width = hidden.shape
        q, k, v = self.qkv(hidden).reshape(batch, length, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        probs = self.dropout(((q @ k.transpose(-1, -2)) * self.head_dim**-0.5).softmax(-1))
        if head_mask is not None:
            probs = probs * head_mask
        context = (probs @ v).permute(0, 2, 1, 3).reshape(batch, length, width)
        return self.projection(context), probs


class BlipMLP(nn.Module):
    def __init__(self, config: BlipVisionConfig):
        super().__init__()
        self.activation_fn = get_activation(config.hidden_act)
        self.fc1 = nn.Linear(config.hidden_size, config.intermediate_size)
        self.fc2 = nn.Linear(config.intermediate_size, config.hidden_size)

    def forward(self, hidden):
        return self.fc2(self.activation_fn(self.fc1(hidden)))


class BlipEncoderLayer(nn.Module):
    def __init__(self, config: BlipVisionConfig):
        super().__init__()
        self.self_attn = BlipAttention(config)
        self.layer_norm1 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.mlp = BlipMLP(config)
        self.layer_norm2 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden, head_mask=None):
        attended, probs = self.self_attn(self.layer_norm1(hidden), head_mask)
        hidden = hidden + attended
        return hidden + self.mlp(self.layer_norm2(hidden)), probs


class BlipEncoder(nn.Module):
    def __init__(self, config: BlipVisionConfig):
        super().__init__()
        self.layers = nn.ModuleList(BlipEncoderLayer(config) for _ in range(config.num_hidden_layers))


class BlipPreTrainedModel(PreTrainedModel):
    config_class = BlipConfig
    base_model_prefix = "blip"

    def _init_weights(self, module):
        super()._init_weights(module)
        std = getattr(self.config, "initializer_range", 0.02)
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.normal_(module.weight, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, BlipVisionEmbeddings):
            vision_std = module.config.initializer_range
            nn.init.trunc_normal_(module.position_embedding, std=vision_std)
            nn.init.trunc_normal_(module.class_embedding, std=vision_std)
        elif isinstance(module, BlipModel):
            with torch.no_grad():
                module.logit_scale.fill_(self.config.logit_scale_init_value)


class BlipVisionModel(BlipPreTrainedModel):
    config_class = BlipVisionConfig
    main_input_name = "pixel_values"

    def __init__(self, config: BlipVisionConfig):
        super().__init__(config)
        config.blip_vision_options()
        self.embeddings = BlipVisionEmbeddings(config)
        self.encoder = BlipEncoder(config)
        self.post_layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def get_input_embeddings(self):
        return self.embeddings

    def forward(self, pixel_values=None, output_attentions=None, output_hidden_states=None, return_dict=None,
                interpolate_pos_encoding=False, head_mask=None, **kwargs):  # fmt: skip
        if pixel_values is None:
            raise ValueError("You have to specify pixel_values")
        hidden = self.embeddings(pixel_values, interpolate_pos_encoding)
        states, attentions = (), ()
        masks = [None] * len(self.encoder.layers) if head_mask is None else head_mask
        for layer, mask in zip(self.encoder.layers, masks):
            states += (hidden,)
            hidden, probs = layer(hidden, mask)
            attentions += (probs,)
        last = self.post_layernorm(hidden)
        result = out.BaseModelOutputWithPooling(
            last_hidden_state=last, pooler_output=self.post_layernorm(last[:, 0]),
            hidden_states=states + (hidden,) if self._flag(output_hidden_states, "output_hidden_states") else None,
            attentions=attentions if self._flag(output_attentions, "output_attentions") else None,
        )  # fmt: skip
        return self._finish(result, return_dict)


# -- the text transformer -------------------------------------------------------------------------------------
class BlipTextEmbeddings(nn.Module):
    def __init__(self, config: BlipTextConfig):
        super().__init__()
        self.config = config
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids=None, position_ids=None, inputs_embeds=None, past_length: int = 0):
        embeds = self.word_embeddings(input_ids) if inputs_embeds is None else inputs_embeds
        length = embeds.shape[1]
        if past_length + length > self.config.max_position_embeddings:
            raise ValueError(f"Sequence length {past_length + length} is longer than max_position_embeddings "
                             f"({self.config.max_position_embeddings}); truncate the inputs.")  # fmt: skip
        if position_ids is None:
            position_ids = torch.arange(past_length, past_length + length, device=embeds.device)[None]
        return self.dropout(self.LayerNorm(embeds + self.position_embeddings(position_ids)))


class BlipTextSelfAttention(nn.Module):
    """query from the text; key and value from the text (self) or from `source` (cross-attention, whose width is
    encoder_hidden_size); the cache holds (keys, values) of [batch, heads, length, head_size]."""

    def __init__(self, config: BlipTextConfig, cross: bool):
        super().__init__()
        width = config.hidden_size
        self.num_heads, self.head_size = config.num_attention_heads, width // config.num_attention_heads
        source = config.encoder_hidden_size if cross else width
        self.query = nn.Linear(width, width)
        self.key = nn.Linear(source, width)
        self.value = nn.Linear(source, width)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)
        self.cross = cross

    def _heads(self, x):
        return x.view(x.shape[0], x.shape[1], self.num_heads, self.head_size).transpose(1, 2)

    def forward(self, hidden, mask=None, head_mask=None, source=None, past=None, output_attentions=False):
        q = self._heads(self.query(hidden))
        if self.cross and past is not None:
            k, v = past
        else:
            states = source if self.cross else hidden
            k, v = self._heads(self.key(states)), self._heads(self.value(states))
            if past is not None:
                k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.head_size)
        if mask is not None:
            scores = scores + mask
        probs = scores.softmax(-1)
        dropped = self.dropout(probs)
        if head_mask is not None:
            dropped = dropped * head_mask
        context = (dropped @ v).transpose(1, 2).reshape(*hidden.shape[:2], -1)
        return context, (probs if output_attentions else None), (k, v)


class BlipTextSelfOutput(nn.Module):
    def __init__(self, config: BlipTextConfig, in_features: int):
        super().__init__()
        self.dense = nn.Linear(in_features, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden, residual):
        return self.LayerNorm(self.dropout(self.dense(hidden)) + residual)


class BlipTextAttention(nn.Module):
    def __init__(self, config: BlipTextConfig, cross: bool = False):
        super().__init__()
        self.self = BlipTextSelfAttention(config, cross)
        self.output = BlipTextSelfOutput(config, config.hidden_size)

    def forward(self, hidden, mask=None, head_mask=None, source=None, past=None, output_attentions=False):
        context, probs, cache = self.self(hidden, mask, head_mask, source, past, output_attentions)
        return self.output(context, hidden), probs, cache


class BlipTextIntermediate(nn.Module):
    def __init__(self, config: BlipTextConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.intermediate_act_fn = get_activation(config.hidden_act)

    def forward(self, hidden):
        return self.intermediate_act_fn(self.dense(hidden))


class BlipTextLayer(nn.Module):
    """self-attention -> cross-attention (a decoder config's layers have one; it runs where image or question
    states are given, or cached) -> feed-forward, each post-norm."""

    def __init__(self, config: BlipTextConfig):
        super().__init__()
        self.attention = BlipTextAttention(config)
        if config.is_decoder:
            self.crossattention = BlipTextAttention(config, cross=True)
        self.intermediate = BlipTextIntermediate(config)
        self.output = BlipTextSelfOutput(config, config.intermediate_size)

    def forward(self, hidden, mask, head_mask=None, source=None, source_mask=None, past=None, output_attentions=False):
        hidden, probs, cache = self.attention(hidden, mask, head_mask, past=past[:2] if past else None,
                                              output_attentions=output_attentions)  # fmt: skip
        cross_probs = None
        cross_past = past[2:] if past and len(past) > 2 else None
        if source is not None or cross_past:
            if not hasattr(self, "crossattention"):
                raise ValueError("encoder_hidden_states were given but the text config has is_decoder=False (its "
                                 "layers have no cross-attention).")  # fmt: skip
            hidden, cross_probs, cross_cache = self.crossattention(hidden, source_mask, head_mask, source, cross_past,
                                                                   output_attentions)  # fmt: skip
            cache = cache + cross_cache
        return self.output(self.intermediate(hidden), hidden), probs, cross_probs, cache


class BlipTextEncoder(nn.Module):
    def __init__(self, config: BlipTextConfig):
        super().__init__()
        self.layer = nn.ModuleList(BlipTextLayer(config) for _ in range(config.num_hidden_layers))


class BlipTextPooler(nn.Module):
    def __init__(self, config: BlipTextConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden):
        return torch.tanh(self.dense(hidden[:, 0]))


def text_mask(attention_mask, batch: int, length: int, past_length: int, causal: bool, dtype, device):
    """BLIP's additive self-attention mask ([batch, 1, queries, keys], -10000 where hidden): padding, and with
    `causal` no later position (the cached prefix is always visible)."""
    if attention_mask is None:
        attention_mask = torch.ones(batch, past_length + length, device=device)
    keys = attention_mask[:, None, None, :].to(dtype)
    if causal:
        seen = torch.arange(length, device=device)[None, :] <= torch.arange(length, device=device)[:, None]
        seen = torch.cat([torch.ones(length, keys.shape[-1] - length, dtype=torch.bool, device=device), seen], dim=1)
        keys = keys * seen[None, None].to(dtype)
    return (1.0 - keys) * NEG


class BlipTextPreTrainedModel(PreTrainedModel):
    config_class = BlipTextConfig
    base_model_prefix = "bert"

    def _init_weights(self, module):
        super()._init_weights(module)


class BlipTextModel(BlipTextPreTrainedModel):
    """The BERT-style text transformer; causal when called with is_decoder=True (the LM head does)."""

    def __init__(self, config: BlipTextConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        config.blip_text_options()
        self.embeddings = BlipTextEmbeddings(config)
        self.encoder = BlipTextEncoder(config)
        self.pooler = BlipTextPooler(config) if add_pooling_layer else None

    def get_input_embeddings(self):
        return self.embeddings.word_embeddings

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, head_mask=None, inputs_embeds=None,
                encoder_embeds=None, encoder_hidden_states=None, encoder_attention_mask=None, past_key_values=None,
                use_cache=None, output_attentions=None, output_hidden_states=None, return_dict=None, is_decoder=False,
                **kwargs):  # fmt: skip
        if input_ids is not None and inputs_embeds is not None:
            raise ValueError("You cannot specify both input_ids and inputs_embeds at the same time")
        past_length = past_key_values[0][0].shape[2] if past_key_values else 0
        if encoder_embeds is not None:
            hidden = encoder_embeds
        elif input_ids is not None or inputs_embeds is not None:
            hidden = self.embeddings(input_ids, position_ids, inputs_embeds, past_length)
        else:
            raise ValueError("You have to specify either input_ids or inputs_embeds or encoder_embeds")
        batch, length = hidden.shape[:2]
        mask = text_mask(attention_mask, batch, length, past_length, is_decoder, hidden.dtype, hidden.device)
        # transformers 4.57.6's BLIP text layers never hand encoder_attention_mask to their cross-attention (it is
        # accepted and dropped on the way), so every image / question position is attended to; so here.
        source_mask = None
        use_cache = bool(self._flag(use_cache, "use_cache")) and is_decoder
        attentions_wanted = self._flag(output_attentions, "output_attentions")
        states, attentions, crossed, caches = (), (), (), ()
        layers = self.encoder.layer
        masks = [None] * len(layers) if head_mask is None else head_mask
        for i, (layer, layer_mask) in enumerate(zip(layers, masks)):
            states += (hidden,)
            past = past_key_values[i] if past_key_values else None
            hidden, probs, cross_probs, cache = layer(hidden, mask, layer_mask, encoder_hidden_states, source_mask, past,
                                                      attentions_wanted)  # fmt: skip
            attentions, crossed, caches = attentions + (probs,), crossed + (cross_probs,), caches + (cache,)
        result = out.BaseModelOutputWithPoolingAndCrossAttentions(
            last_hidden_state=hidden, pooler_output=self.pooler(hidden) if self.pooler is not None else None,
            hidden_states=states + (hidden,) if self._flag(output_hidden_states, "output_hidden_states") else None,
            past_key_values=caches if use_cache else None,
            attentions=attentions if attentions_wanted else None,
            cross_attentions=crossed if attentions_wanted and crossed[0] is not None else None,
        )  # fmt: skip
        return self._finish(result, return_dict)


class BlipTextLMPredictionHead(nn.Module):
    def __init__(self, config: BlipTextConfig):
        super().__init__()
        self.transform = nn.Module()
        self.transform.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.transform.transform_act_fn = get_activation(config.hidden_act)
        self.transform.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, hidden):
        t = self.transform
        return self.decoder(t.LayerNorm(t.transform_act_fn(t.dense(hidden)))) + self.bias


class BlipTextOnlyMLMHead(nn.Module):
    def __init__(self, config: BlipTextConfig):
        super().__init__()
        self.predictions = BlipTextLMPredictionHead(config)


def lm_loss(logits, labels, label_smoothing: float, reduction: str = "mean"):
    """Next-token cross-entropy (position t predicts label t+1), -100 ignored, with label smoothing."""
    shifted = logits[:, :-1].float()
    loss = nn.functional.cross_entropy(shifted.reshape(-1, shifted.shape[-1]), labels[:, 1:].reshape(-1),
                                       reduction=reduction, label_smoothing=label_smoothing)  # fmt: skip
    return loss.view(logits.shape[0], -1).sum(1) if reduction == "none" else loss


class BlipTextLMHeadModel(BlipTextPreTrainedModel, GenerationMixin):
    _tied_weights_keys = ["cls.predictions.decoder.weight"]
    generation_position_ids = True

    def __init__(self, config: BlipTextConfig):
        super().__init__(config)
        self.bert = BlipTextModel(config, add_pooling_layer=False)
        self.cls = BlipTextOnlyMLMHead(config)
        self.label_smoothing = config.label_smoothing

    def get_input_embeddings(self):
        return self.bert.get_input_embeddings()

    def get_output_embeddings(self):
        return self.cls.predictions.decoder

    def restarts_cache(self, before: int, after: int) -> bool:
        return False

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, head_mask=None, inputs_embeds=None,
                encoder_hidden_states=None, encoder_attention_mask=None, labels=None, past_key_values=None,
                use_cache=None, output_attentions=None, output_hidden_states=None, return_dict=None,
                return_logits=False, is_decoder=True, reduction="mean", **kwargs):  # fmt: skip
        if labels is not None:
            use_cache = False
        encoded = self.bert(input_ids, attention_mask=attention_mask, position_ids=position_ids, head_mask=head_mask,
                            inputs_embeds=inputs_embeds, encoder_hidden_states=encoder_hidden_states,
                            encoder_attention_mask=encoder_attention_mask, past_key_values=past_key_values,
                            use_cache=use_cache, output_attentions=output_attentions,
                            output_hidden_states=output_hidden_states, return_dict=True, is_decoder=is_decoder)  # fmt: skip
        scores = self.cls.predictions(encoded.last_hidden_state)
        if return_logits:
            return scores[:, :-1].contiguous()
        loss = lm_loss(scores, labels, self.label_smoothing, reduction) if labels is not None else None
        result = out.from_encoded(out.CausalLMOutputWithCrossAttentions, encoded, loss=loss, logits=scores)
        return self._finish(result, return_dict)


# -- the BLIP models ------------------------------------------------------------------------------------------
class BlipModel(BlipPreTrainedModel):
    def __init__(self, config: BlipConfig):
        super().__init__(config)
        config.blip_options()
        text, vision = config.text_config, config.vision_config
        self.text_model = BlipTextModel(text)
        self.vision_model = BlipVisionModel(vision)
        self.visual_projection = nn.Linear(vision.hidden_size, config.projection_dim, bias=False)
        self.text_projection = nn.Linear(text.hidden_size, config.projection_dim, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(config.logit_scale_init_value))

    def get_input_embeddings(self):
        return self.text_model.get_input_embeddings()

    def get_text_features(self, input_ids=None, attention_mask=None, position_ids=None, **kwargs):
        text = self.text_model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids)
        return self.text_projection(text.pooler_output)

    def get_image_features(self, pixel_values=None, interpolate_pos_encoding=False, **kwargs):
        vision = self.vision_model(pixel_values=pixel_values, interpolate_pos_encoding=interpolate_pos_encoding)
        return self.visual_projection(vision.pooler_output)

    def get_multimodal_features(self, input_ids=None, pixel_values=None, attention_mask=None,
                                interpolate_pos_encoding=False, **kwargs):  # fmt: skip
        image = self.vision_model(pixel_values=pixel_values, interpolate_pos_encoding=interpolate_pos_encoding)
        embeds = image.last_hidden_state
        text = self.text_model(input_ids=input_ids, attention_mask=attention_mask, encoder_hidden_states=embeds,
                               encoder_attention_mask=torch.ones(embeds.shape[:2], dtype=torch.long))  # fmt: skip
        return self.text_projection(text.pooler_output)

    def forward(self, input_ids=None, pixel_values=None, attention_mask=None, position_ids=None, return_loss=None,
                output_attentions=None, output_hidden_states=None, return_dict=None, interpolate_pos_encoding=False,
                **kwargs):  # fmt: skip
        flags = {"output_attentions": output_attentions, "output_hidden_states": output_hidden_states}
        vision = self.vision_model(pixel_values=pixel_values, interpolate_pos_encoding=interpolate_pos_encoding,
                                   return_dict=True, **flags)  # fmt: skip
        text = self.text_model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                               return_dict=True, **flags)  # fmt: skip
        image_embeds = self.visual_projection(vision.pooler_output)
        text_embeds = self.text_projection(text.pooler_output)
        image_embeds = image_embeds / image_embeds.norm(p=2, dim=-1, keepdim=True)
        text_embeds = text_embeds / text_embeds.norm(p=2, dim=-1, keepdim=True)
        logits_per_text = text_embeds @ image_embeds.t() * self.logit_scale.exp()
        result = out.BlipOutput(
            loss=contrastive_loss(logits_per_text) if return_loss else None, logits_per_image=logits_per_text.t(),
            logits_per_text=logits_per_text, text_embeds=text_embeds, image_embeds=image_embeds,
            text_model_output=text, vision_model_output=vision,
        )  # fmt: skip
        return self._finish(result, return_dict)


def image_embeddings(model, pixel_values, interpolate_pos_encoding, output_attentions=None, output_hidden_states=None):
    return model.vision_model(pixel_values=pixel_values, interpolate_pos_encoding=interpolate_pos_encoding,
                              output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                              return_dict=True)  # fmt: skip


class BlipForConditionalGeneration(BlipPreTrainedModel):
    _tied_weights_keys = ["text_decoder.cls.predictions.decoder.weight"]
    main_input_name = "pixel_values"

    def __init__(self, config: BlipConfig):
        super().__init__(config)
        config.blip_options()
        self.vision_model = BlipVisionModel(config.vision_config)
        self.text_decoder = BlipTextLMHeadModel(config.text_config)
        self.decoder_input_ids = config.text_config.bos_token_id
        self.decoder_pad_token_id = config.text_config.pad_token_id

    def get_input_embeddings(self):
        return self.text_decoder.get_input_embeddings()

    def get_output_embeddings(self):
        return self.text_decoder.get_output_embeddings()

    def tie_weights(self) -> None:
        if getattr(self.config.text_config, "tie_word_embeddings", True):
            self.text_decoder.tie_weights()

    def forward(self, pixel_values=None, input_ids=None, attention_mask=None, output_attentions=None,
                output_hidden_states=None, labels=None, return_dict=None, interpolate_pos_encoding=False, **kwargs):  # fmt: skip
        vision = image_embeddings(self, pixel_values, interpolate_pos_encoding, output_attentions, output_hidden_states)
        embeds = vision.last_hidden_state
        decoded = self.text_decoder(input_ids=input_ids, attention_mask=attention_mask, encoder_hidden_states=embeds,
                                    labels=labels, reduction="mean", output_attentions=output_attentions,
                                    return_dict=True)  # fmt: skip
        result = out.BlipForConditionalGenerationModelOutput(
            loss=decoded.loss, logits=decoded.logits, image_embeds=embeds, last_hidden_state=embeds,
            hidden_states=vision.hidden_states, attentions=vision.attentions,
        )  # fmt: skip
        return self._finish(result, return_dict)

    @torch.no_grad()
    def generate(self, pixel_values=None, input_ids=None, attention_mask=None, interpolate_pos_encoding=False,
                 **generate_kwargs):  # fmt: skip
        """A caption for each image: the text decoder continues `input_ids` (default: the BOS token), attending to
        the image; it stops at the text config's [SEP] token."""
        text = self.config.text_config
        embeds = image_embeddings(self, pixel_values, interpolate_pos_encoding).last_hidden_state
        if isinstance(input_ids, list):
            input_ids = torch.tensor(input_ids, dtype=torch.long)
        if input_ids is None:
            input_ids = torch.tensor([[self.decoder_input_ids, text.eos_token_id]]).repeat(embeds.shape[0], 1)
        input_ids = input_ids.clone()
        input_ids[:, 0] = text.bos_token_id
        attention_mask = attention_mask[:, :-1] if attention_mask is not None else None
        return self.text_decoder.generate(input_ids=input_ids[:, :-1], eos_token_id=text.sep_token_id,
                                          pad_token_id=text.pad_token_id, attention_mask=attention_mask,
                                          encoder_hidden_states=embeds,
                                          encoder_attention_mask=torch.ones(embeds.shape[:2], dtype=torch.long),
                                          **generate_kwargs)  # fmt: skip


class BlipForQuestionAnswering(BlipPreTrainedModel):
    _tied_weights_keys = ["text_decoder.cls.predictions.decoder.weight"]

    def __init__(self, config: BlipConfig):
        super().__init__(config)
        config.blip_options()
        self.vision_model = BlipVisionModel(config.vision_config)
        self.text_encoder = BlipTextModel(config.text_config, add_pooling_layer=False)
        self.text_decoder = BlipTextLMHeadModel(config.text_config)
        self.decoder_pad_token_id = config.text_config.pad_token_id
        self.decoder_start_token_id = config.text_config.bos_token_id

    def get_input_embeddings(self):
        return self.text_encoder.get_input_embeddings()

    def tie_weights(self) -> None:
        if getattr(self.config.text_config, "tie_word_embeddings", True):
            self.text_decoder.tie_weights()

    def encode_question(self, input_ids, pixel_values, attention_mask, interpolate_pos_encoding, **flags):
        vision = image_embeddings(self, pixel_values, interpolate_pos_encoding, **flags)
        embeds = vision.last_hidden_state
        question = self.text_encoder(input_ids=input_ids, attention_mask=attention_mask, encoder_hidden_states=embeds,
                                     encoder_attention_mask=torch.ones(embeds.shape[:2], dtype=torch.long),
                                     return_dict=True)  # fmt: skip
        return vision, question.last_hidden_state

    def forward(self, input_ids=None, pixel_values=None, decoder_input_ids=None, decoder_attention_mask=None,
                attention_mask=None, output_attentions=None, output_hidden_states=None, labels=None, return_dict=None,
                interpolate_pos_encoding=False, **kwargs):  # fmt: skip
        if labels is None and decoder_input_ids is None:
            raise ValueError("Either `decoder_input_ids` or `labels` should be passed when calling `forward` with "
                             "`BlipForQuestionAnswering`. if you are training the model make sure that `labels` is "
                             "passed, if you are using the model for inference make sure that `decoder_input_ids` is "
                             "passed or call `generate`")  # fmt: skip
        vision, question = self.encode_question(input_ids, pixel_values, attention_mask, interpolate_pos_encoding,
                                                output_attentions=output_attentions,
                                                output_hidden_states=output_hidden_states)  # fmt: skip
        if labels is not None and decoder_input_ids is None:
            decoder_input_ids = labels
        answer = self.text_decoder(input_ids=decoder_input_ids, attention_mask=decoder_attention_mask,
                                   encoder_hidden_states=question, encoder_attention_mask=attention_mask,
                                   labels=labels, reduction="mean", return_dict=True)  # fmt: skip
        result = out.BlipTextVisionModelOutput(
            loss=answer.loss.mean() if labels is not None else None, image_embeds=vision.last_hidden_state,
            last_hidden_state=vision.last_hidden_state, hidden_states=vision.hidden_states,
            attentions=vision.attentions,
        )  # fmt: skip
        return self._finish(result, return_dict)

    @torch.no_grad()
    def generate(self, input_ids=None, pixel_values=None, attention_mask=None, interpolate_pos_encoding=False,
                 **generate_kwargs):  # fmt: skip
        """The answer to each question about its image: the decoder starts from the BOS token and attends to the
        question encoded with the image; it stops at the text config's [SEP] token."""
        text = self.config.text_config
        if isinstance(input_ids, list):
            input_ids = torch.tensor(input_ids, dtype=torch.long)
        _, question = self.encode_question(input_ids, pixel_values, attention_mask, interpolate_pos_encoding)
        start = torch.full((question.shape[0], 1), self.decoder_start_token_id, dtype=torch.long)
        return self.text_decoder.generate(input_ids=start, eos_token_id=text.sep_token_id,
                                          pad_token_id=text.pad_token_id, encoder_hidden_states=question,
                                          encoder_attention_mask=torch.ones(question.shape[:2], dtype=torch.long),
                                          **generate_kwargs)  # fmt: skip
