"""CLIP in PyTorch: a causal text transformer and a ViT image encoder projected into one space."""

from __future__ import annotations

import torch
from torch import nn

from autoload import outputs as out
from autoload.models.clip import CLIPConfig, CLIPTextConfig, CLIPVisionConfig

from ..activations import get_activation
from ..losses import sequence_classification_loss
from ..modeling import PreTrainedModel
from .bert import additive_mask
from .vit import check_pixel_values


class CLIPAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_dim = config.hidden_size // config.num_attention_heads
        size = config.hidden_size
        self.q_proj, self.k_proj = nn.Linear(size, size), nn.Linear(size, size)
        self.v_proj, self.out_proj = nn.Linear(size, size), nn.Linear(size, size)
        self.dropout = config.attention_dropout

    def _heads(self, x):
        return x.view(x.shape[0], x.shape[1], self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, hidden, mask=None):
        q, k, v = self._heads(self.q_proj(hidden)), self._heads(self.k_proj(hidden)), self._heads(self.v_proj(hidden))
        dropout = self.dropout if self.training else 0.0
        context = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout)
        return self.out_proj(context.transpose(1, 2).reshape(hidden.shape))


class CLIPMLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.fc1 = nn.Linear(config.hidden_size, config.intermediate_size)
        self.fc2 = nn.Linear(config.intermediate_size, config.hidden_size)
        self.act = get_activation(config.hidden_act)

    def forward(self, hidden):
        return self.fc2(self.act(self.fc1(hidden)))


class CLIPEncoderLayer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.layer_norm1 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.self_attn = CLIPAttention(config)
        self.layer_norm2 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.mlp = CLIPMLP(config)

    def forward(self, hidden, mask=None):
        hidden = hidden + self.self_attn(self.layer_norm1(hidden), mask)
        return hidden + self.mlp(self.layer_norm2(hidden))


class CLIPEncoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.layers = nn.ModuleList(CLIPEncoderLayer(config) for _ in range(config.num_hidden_layers))

    def forward(self, hidden, mask=None):
        states = (hidden,)
        for layer in self.layers:
            hidden = layer(hidden, mask)
            states += (hidden,)
        return hidden, states


class CLIPTextEmbeddings(nn.Module):
    def __init__(self, config: CLIPTextConfig):
        super().__init__()
        self.token_embedding = nn.Embedding(config.vocab_size, config.hidden_size)
        self.position_embedding = nn.Embedding(config.max_position_embeddings, config.hidden_size)

    def forward(self, input_ids, position_ids=None):
        length = input_ids.shape[-1]
        if length > self.position_embedding.num_embeddings:
            raise ValueError(
                f"Sequence length {length} is longer than max_position_embeddings "
                f"({self.position_embedding.num_embeddings}); truncate the text."
            )
        if position_ids is None:
            position_ids = torch.arange(length, device=input_ids.device)[None]
        return self.token_embedding(input_ids) + self.position_embedding(position_ids)


class CLIPTextTransformer(nn.Module):
    def __init__(self, config: CLIPTextConfig):
        super().__init__()
        self.config = config
        self.embeddings = CLIPTextEmbeddings(config)
        self.encoder = CLIPEncoder(config)
        self.final_layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, input_ids, attention_mask=None, position_ids=None, output_hidden_states=False):
        hidden = self.embeddings(input_ids, position_ids)
        mask = additive_mask(attention_mask, hidden.dtype, causal_len=hidden.shape[1])
        hidden, states = self.encoder(hidden, mask)
        hidden = self.final_layer_norm(hidden)
        rows = torch.arange(hidden.shape[0], device=hidden.device)
        if self.config.eos_token_id == 2:  # old checkpoints: the end token has the largest id
            ends = input_ids.argmax(-1)
        else:
            ends = (input_ids == self.config.eos_token_id).int().argmax(-1)
        return out.BaseModelOutputWithPooling(
            last_hidden_state=hidden, pooler_output=hidden[rows, ends],
            hidden_states=states if output_hidden_states else None,
        )  # fmt: skip


class CLIPVisionEmbeddings(nn.Module):
    def __init__(self, config: CLIPVisionConfig):
        super().__init__()
        self.config = config
        self.class_embedding = nn.Parameter(torch.zeros(config.hidden_size))
        self.patch_embedding = nn.Conv2d(config.num_channels, config.hidden_size, config.patch_size,
                                         config.patch_size, bias=False)  # fmt: skip
        self.position_embedding = nn.Embedding((config.image_size // config.patch_size) ** 2 + 1, config.hidden_size)

    def forward(self, pixel_values):
        check_pixel_values(pixel_values, self.config.num_channels)
        if tuple(pixel_values.shape[-2:]) != (self.config.image_size,) * 2:
            raise ValueError(
                f"Input image size {tuple(pixel_values.shape[-2:])} doesn't match the model "
                f"({self.config.image_size}x{self.config.image_size}); use the model's image processor."
            )
        patches = self.patch_embedding(pixel_values.to(self.patch_embedding.weight.dtype)).flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(patches.shape[0], 1, -1)
        return torch.cat([cls, patches], dim=1) + self.position_embedding.weight[None]


class CLIPVisionTransformer(nn.Module):
    def __init__(self, config: CLIPVisionConfig):
        super().__init__()
        self.embeddings = CLIPVisionEmbeddings(config)
        self.pre_layrnorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.encoder = CLIPEncoder(config)
        self.post_layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, pixel_values, output_hidden_states=False):
        hidden, states = self.encoder(self.pre_layrnorm(self.embeddings(pixel_values)))
        return out.BaseModelOutputWithPooling(
            last_hidden_state=hidden, pooler_output=self.post_layernorm(hidden[:, 0]),
            hidden_states=states if output_hidden_states else None,
        )  # fmt: skip


class CLIPPreTrainedModel(PreTrainedModel):
    config_class = CLIPConfig
    base_model_prefix = "clip"

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, CLIPVisionEmbeddings):
            nn.init.normal_(module.class_embedding, std=module.config.hidden_size**-0.5)
            nn.init.normal_(module.patch_embedding.weight, std=module.config.initializer_range)
        elif isinstance(module, CLIPModel):
            nn.init.constant_(module.logit_scale, self.config.logit_scale_init_value)


class CLIPModel(CLIPPreTrainedModel):
    def __init__(self, config: CLIPConfig):
        super().__init__(config)
        text, vision = config.text_config, config.vision_config
        self.text_model = CLIPTextTransformer(text)
        self.vision_model = CLIPVisionTransformer(vision)
        self.visual_projection = nn.Linear(vision.hidden_size, config.projection_dim, bias=False)
        self.text_projection = nn.Linear(text.hidden_size, config.projection_dim, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(config.logit_scale_init_value))

    def get_input_embeddings(self):
        return self.text_model.embeddings.token_embedding

    def get_text_features(self, input_ids=None, attention_mask=None, position_ids=None, **kwargs):
        return self.text_projection(self.text_model(input_ids, attention_mask, position_ids).pooler_output)

    def get_image_features(self, pixel_values=None, **kwargs):
        return self.visual_projection(self.vision_model(pixel_values).pooler_output)

    def forward(self, input_ids=None, pixel_values=None, attention_mask=None, position_ids=None, return_loss=None,
                output_hidden_states=None, return_dict=None, **kwargs):  # fmt: skip
        if input_ids is None or pixel_values is None:
            raise ValueError("CLIPModel needs both input_ids and pixel_values (or use get_text_features / "
                             "get_image_features).")  # fmt: skip
        keep = self._flag(output_hidden_states, "output_hidden_states")
        text = self.text_model(input_ids, attention_mask, position_ids, keep)
        vision = self.vision_model(pixel_values, keep)
        image_embeds = nn.functional.normalize(self.visual_projection(vision.pooler_output), dim=-1)
        text_embeds = nn.functional.normalize(self.text_projection(text.pooler_output), dim=-1)
        logits_per_text = text_embeds @ image_embeds.t() * self.logit_scale.exp()
        loss = None
        if return_loss:
            targets = torch.arange(logits_per_text.shape[0], device=logits_per_text.device)
            loss = (nn.functional.cross_entropy(logits_per_text, targets)
                    + nn.functional.cross_entropy(logits_per_text.t(), targets)) / 2  # fmt: skip
        result = out.CLIPOutput(
            loss=loss, logits_per_image=logits_per_text.t(), logits_per_text=logits_per_text,
            text_embeds=text_embeds, image_embeds=image_embeds, text_model_output=text, vision_model_output=vision,
        )  # fmt: skip
        return self._finish(result, return_dict)


class CLIPForImageClassification(CLIPPreTrainedModel):
    """The image encoder with a linear classifier on the mean of its patch tokens."""

    def __init__(self, config: CLIPConfig):
        super().__init__(config)
        width = config.vision_config.hidden_size
        self.vision_model = CLIPVisionTransformer(config.vision_config)
        self.classifier = nn.Linear(width, config.num_labels) if config.num_labels > 0 else nn.Identity()

    def forward(self, pixel_values=None, labels=None, output_hidden_states=None, return_dict=None, **kwargs):
        encoded = self.vision_model(pixel_values, self._flag(output_hidden_states, "output_hidden_states"))
        logits = self.classifier(encoded.last_hidden_state[:, 1:].mean(dim=1))
        loss = sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        result = out.ImageClassifierOutput(loss=loss, logits=logits, hidden_states=encoded.hidden_states)
        return self._finish(result, return_dict)
