"""CLIP in PyTorch: a causal text transformer and a ViT image encoder (CLIP-style pre-norm layers) projected
into one space."""

from __future__ import annotations

import torch
from torch import nn

from autoload import outputs as out
from autoload.models.clip import CLIPConfig

from ..attention import causal_mask
from ..blocks.vision import CLIPEncoder, CLIPTextEmbeddings, check_pixel_values, config_flag, resize_grid
from ..heads import ImageClassificationModel
from ..modeling import PreTrainedModel


class CLIPTextTransformer(nn.Module):
    """Takes the text config, or a CLIPConfig (then its text part; output flags default to the CLIPConfig's)."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        text = getattr(config, "text_config", config)
        self.eos_token_id = text.eos_token_id
        self.pools_largest_id = text.pools_largest_id
        self.embeddings = CLIPTextEmbeddings(text)
        self.encoder = CLIPEncoder(text)
        self.final_layer_norm = nn.LayerNorm(text.hidden_size, eps=text.layer_norm_eps)

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, output_attentions=None,
                output_hidden_states=None, return_dict=True, **kwargs):  # fmt: skip
        if input_ids is None:
            raise ValueError("You have to specify input_ids.")
        hidden = self.embeddings(input_ids, position_ids)
        mask = causal_mask(hidden.shape[1], 0, attention_mask, hidden.dtype, hidden.device)
        hidden, states, attentions = self.encoder(hidden, mask, config_flag(self.config, output_attentions,
                                                                            "output_attentions"))  # fmt: skip
        hidden = self.final_layer_norm(hidden)
        rows = torch.arange(hidden.shape[0], device=hidden.device)
        if self.pools_largest_id:
            ends = input_ids.argmax(-1)
        else:
            ends = (input_ids == self.eos_token_id).int().argmax(-1)
        keep = config_flag(self.config, output_hidden_states, "output_hidden_states")
        return out.BaseModelOutputWithPooling(last_hidden_state=hidden, pooler_output=hidden[rows, ends],
                                              hidden_states=states if keep else None, attentions=attentions)  # fmt: skip


class CLIPVisionEmbeddings(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.class_embedding = nn.Parameter(torch.zeros(config.hidden_size))
        self.patch_embedding = nn.Conv2d(config.num_channels, config.hidden_size, config.patch_size,
                                         config.patch_size, bias=False)  # fmt: skip
        self.position_embedding = nn.Embedding((config.image_size // config.patch_size) ** 2 + 1, config.hidden_size)

    def positions_for(self, height: int, width: int) -> torch.Tensor:
        table = self.position_embedding.weight
        grid = int((table.shape[0] - 1) ** 0.5)
        rows, cols = height // self.config.patch_size, width // self.config.patch_size
        if (rows, cols) == (grid, grid):
            return table
        patches = resize_grid(table[1:].reshape(grid, grid, -1), rows, cols).reshape(rows * cols, -1)
        return torch.cat([table[:1], patches])

    def forward(self, pixel_values, interpolate_pos_encoding=False):
        check_pixel_values(pixel_values, self.config.num_channels)
        height, width = pixel_values.shape[-2:]
        if not interpolate_pos_encoding and (height, width) != (self.config.image_size,) * 2:
            raise ValueError(
                f"Input image size ({height}*{width}) doesn't match the model ({self.config.image_size}*"
                f"{self.config.image_size}); resize it or pass interpolate_pos_encoding=True."
            )
        patches = self.patch_embedding(pixel_values.to(self.patch_embedding.weight.dtype)).flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(patches.shape[0], 1, -1)
        positions = self.positions_for(height, width) if interpolate_pos_encoding else self.position_embedding.weight
        return torch.cat([cls, patches], dim=1) + positions[None]


class CLIPVisionTransformer(nn.Module):
    """Takes the vision config, or a CLIPConfig (then its vision part; output flags default to the CLIPConfig's)."""

    pre_norm_name = "pre_layrnorm"  # the checkpoint's name of the norm before the encoder (CLIP's spelling)

    def __init__(self, config):
        super().__init__()
        self.config = config
        vision = getattr(config, "vision_config", config)
        self.embeddings = CLIPVisionEmbeddings(vision)
        self.add_module(self.pre_norm_name, nn.LayerNorm(vision.hidden_size, eps=vision.layer_norm_eps))
        self.encoder = CLIPEncoder(vision)
        self.post_layernorm = nn.LayerNorm(vision.hidden_size, eps=vision.layer_norm_eps)

    def forward(self, pixel_values=None, output_attentions=None, output_hidden_states=None,
                interpolate_pos_encoding=False, return_dict=True, **kwargs):  # fmt: skip
        hidden = getattr(self, self.pre_norm_name)(self.embeddings(pixel_values, interpolate_pos_encoding))
        hidden, states, attentions = self.encoder(hidden, None, config_flag(self.config, output_attentions,
                                                                            "output_attentions"))  # fmt: skip
        keep = config_flag(self.config, output_hidden_states, "output_hidden_states")
        return out.BaseModelOutputWithPooling(last_hidden_state=hidden, pooler_output=self.post_layernorm(hidden[:, 0]),
                                              hidden_states=states if keep else None, attentions=attentions)  # fmt: skip


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


def contrastive_loss(logits_per_text: torch.Tensor) -> torch.Tensor:
    targets = torch.arange(logits_per_text.shape[0], device=logits_per_text.device)
    return (nn.functional.cross_entropy(logits_per_text, targets)
            + nn.functional.cross_entropy(logits_per_text.t(), targets)) / 2  # fmt: skip


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

    def get_image_features(self, pixel_values=None, interpolate_pos_encoding=False, **kwargs):
        encoded = self.vision_model(pixel_values, interpolate_pos_encoding=interpolate_pos_encoding)
        return self.visual_projection(encoded.pooler_output)

    def forward(self, input_ids=None, pixel_values=None, attention_mask=None, position_ids=None, return_loss=None,
                output_attentions=None, output_hidden_states=None, interpolate_pos_encoding=False, return_dict=None,
                **kwargs):  # fmt: skip
        if input_ids is None or pixel_values is None:
            raise ValueError("CLIPModel needs both input_ids and pixel_values (or use get_text_features / "
                             "get_image_features).")  # fmt: skip
        flags = {"output_attentions": self._flag(output_attentions, "output_attentions"),
                 "output_hidden_states": self._flag(output_hidden_states, "output_hidden_states")}  # fmt: skip
        vision = self.vision_model(pixel_values, interpolate_pos_encoding=interpolate_pos_encoding, **flags)
        text = self.text_model(input_ids, attention_mask, position_ids, **flags)
        image_embeds = nn.functional.normalize(self.visual_projection(vision.pooler_output), dim=-1)
        text_embeds = nn.functional.normalize(self.text_projection(text.pooler_output), dim=-1)
        logits_per_text = text_embeds @ image_embeds.t() * self.logit_scale.exp()
        loss = contrastive_loss(logits_per_text) if return_loss else None
        result = out.CLIPOutput(
            loss=loss, logits_per_image=logits_per_text.t(), logits_per_text=logits_per_text,
            text_embeds=text_embeds, image_embeds=image_embeds, text_model_output=text, vision_model_output=vision,
        )  # fmt: skip
        return self._finish(result, return_dict)


class CLIPForImageClassification(ImageClassificationModel, CLIPPreTrainedModel):
    """The image encoder with a linear classifier on the mean of its patch tokens."""

    base_class = CLIPVisionTransformer
