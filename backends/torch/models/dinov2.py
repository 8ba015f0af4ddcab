"""DINOv2 in PyTorch: ViT blocks with layer scale, an optional SwiGLU MLP, position embeddings resized to every
input, the class-and-patch-mean classifier and the backbone."""

from __future__ import annotations

from torch import nn

from autoload import outputs as out
from autoload.models.dinov2 import Dinov2Config

from ..blocks.vision import (
    CLIPMLP,
    DropPath,
    FirstToken,
    LayerScale,
    SwiGLUMLP,
    ViTAttention,
    ViTEmbeddings,
    ViTEncoder,
    tokens_to_map,
)
from ..heads import ImageClassificationModel
from .vit import ViTModel, ViTPreTrainedModel


class Dinov2Layer(nn.Module):
    """norm1 -> attention -> layer_scale1 -> drop path -> +; norm2 -> mlp -> layer_scale2 -> drop path -> +."""

    def __init__(self, config: Dinov2Config, index: int = 0, window=None):
        super().__init__()
        size = config.hidden_size
        self.norm1 = nn.LayerNorm(size, eps=config.layer_norm_eps)
        self.attention = ViTAttention(config)
        self.layer_scale1 = LayerScale(size, config.layerscale_value)
        self.drop_path = DropPath(config.drop_path_rates[index])
        self.norm2 = nn.LayerNorm(size, eps=config.layer_norm_eps)
        self.mlp = SwiGLUMLP(size, config.mlp_width) if config.use_swiglu_ffn else CLIPMLP(config, config.mlp_width)
        self.layer_scale2 = LayerScale(size, config.layerscale_value)

    def forward(self, hidden, **kwargs):
        attended, probs = self.attention(self.norm1(hidden), **kwargs)
        hidden = self.drop_path(self.layer_scale1(attended)) + hidden
        return self.drop_path(self.layer_scale2(self.mlp(self.norm2(hidden)))) + hidden, probs


class Dinov2Encoder(ViTEncoder):
    layer_class = Dinov2Layer


class Dinov2PreTrainedModel(ViTPreTrainedModel):
    config_class = Dinov2Config
    base_model_prefix = "dinov2"

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, LayerScale):
            nn.init.constant_(module.lambda1, self.config.layerscale_value)


class Dinov2Model(Dinov2PreTrainedModel, ViTModel):
    """The pooled output is the (normalised) class token."""

    encoder_class = Dinov2Encoder
    ignores_mask_without_token = True

    def __init__(self, config: Dinov2Config):
        super().__init__(config, add_pooling_layer=True, use_mask_token=config.use_mask_token)

    def build_pooler(self, config):
        return FirstToken()


class Dinov2ForImageClassification(ImageClassificationModel, Dinov2PreTrainedModel):
    base_class = Dinov2Model


class Dinov2Backbone(Dinov2PreTrainedModel):
    """Channels-first maps of the layers named by out_features (layer-normalised with apply_layernorm)."""

    def __init__(self, config: Dinov2Config):
        super().__init__(config)
        self.num_features = [config.hidden_size] * (config.num_hidden_layers + 1)
        self.embeddings = ViTEmbeddings(config, config.use_mask_token)
        self.encoder = Dinov2Encoder(config)
        self.layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    @property
    def channels(self) -> list[int]:
        return [self.num_features[i] for i in self.config.out_indices]

    def get_input_embeddings(self):
        return self.embeddings.patch_embeddings

    def forward(self, pixel_values=None, output_hidden_states=None, output_attentions=None, return_dict=None,
                **kwargs):  # fmt: skip
        c = self.config
        hidden, grid = self.embeddings(pixel_values)
        _, states, attentions = self.encoder(hidden, None, self._flag(output_attentions, "output_attentions"), True)
        maps = []
        for stage, state in zip(c.stage_names, states):
            if stage in c.out_features:
                state = self.layernorm(state) if c.apply_layernorm else state
                maps.append(tokens_to_map(state[:, 1:], *grid) if c.reshape_hidden_states else state)
        keep = self._flag(output_hidden_states, "output_hidden_states")
        result = out.BackboneOutput(feature_maps=tuple(maps), hidden_states=states if keep else None,
                                    attentions=attentions)  # fmt: skip
        return self._finish(result, return_dict)
