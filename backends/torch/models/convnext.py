"""ConvNeXt in PyTorch: depthwise 7x7 conv, channels-last MLP with layer scale, stochastic depth."""

from __future__ import annotations

import torch
from torch import nn

from autoload import outputs as out
from autoload.models.convnext import ConvNextConfig

from ..activations import get_activation
from ..blocks.vision import ChannelsFirstLayerNorm, DropPath, check_pixel_values
from ..heads import ImageClassificationModel
from ..modeling import PreTrainedModel


class ConvNextEmbeddings(nn.Module):
    def __init__(self, config: ConvNextConfig):
        super().__init__()
        size = config.patch_size
        self.patch_embeddings = nn.Conv2d(config.num_channels, config.hidden_sizes[0], size, stride=size)
        self.layernorm = ChannelsFirstLayerNorm(config.hidden_sizes[0])
        self.num_channels = config.num_channels

    def forward(self, pixel_values):
        check_pixel_values(pixel_values, self.num_channels)
        return self.layernorm(self.patch_embeddings(pixel_values))


class ConvNextLayer(nn.Module):
    def __init__(self, config: ConvNextConfig, dim: int, drop_path: float = 0.0):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim)
        self.layernorm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = get_activation(config.hidden_act)
        self.pwconv2 = nn.Linear(4 * dim, dim)
        scale = config.layer_scale_init_value
        self.layer_scale_parameter = nn.Parameter(scale * torch.ones(dim)) if scale > 0 else None
        self.drop_path = DropPath(drop_path)

    def forward(self, x):
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.pwconv2(self.act(self.pwconv1(self.layernorm(y))))
        if self.layer_scale_parameter is not None:
            y = self.layer_scale_parameter * y
        return x + self.drop_path(y.permute(0, 3, 1, 2))


class ConvNextStage(nn.Module):
    def __init__(self, config: ConvNextConfig, in_channels, out_channels, stride=2, depth=2, drop_rates=None):
        super().__init__()
        if in_channels != out_channels or stride > 1:
            self.downsampling_layer = nn.Sequential(
                ChannelsFirstLayerNorm(in_channels), nn.Conv2d(in_channels, out_channels, stride, stride=stride)
            )
        else:
            self.downsampling_layer = nn.Identity()
        rates = drop_rates or [0.0] * depth
        self.layers = nn.Sequential(*(ConvNextLayer(config, out_channels, rates[j]) for j in range(depth)))

    def forward(self, x):
        return self.layers(self.downsampling_layer(x))


class ConvNextEncoder(nn.Module):
    def __init__(self, config: ConvNextConfig):
        super().__init__()
        rates = torch.linspace(0, config.drop_path_rate, sum(config.depths)).tolist()
        stages, start, previous = [], 0, config.hidden_sizes[0]
        for i, (width, depth) in enumerate(zip(config.hidden_sizes, config.depths)):
            stages.append(ConvNextStage(config, previous, width, 2 if i > 0 else 1, depth, rates[start : start + depth]))
            start, previous = start + depth, width
        self.stages = nn.ModuleList(stages)

    def forward(self, hidden):
        states = (hidden,)
        for stage in self.stages:
            hidden = stage(hidden)
            states += (hidden,)
        return states


class ConvNextPreTrainedModel(PreTrainedModel):
    config_class = ConvNextConfig
    base_model_prefix = "convnext"
    main_input_name = "pixel_values"

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, nn.Conv2d):
            nn.init.normal_(module.weight, std=self.config.initializer_range)
            nn.init.zeros_(module.bias)
        elif isinstance(module, ChannelsFirstLayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, ConvNextLayer) and module.layer_scale_parameter is not None:
            nn.init.constant_(module.layer_scale_parameter, self.config.layer_scale_init_value)


class ConvNextModel(ConvNextPreTrainedModel):
    def __init__(self, config: ConvNextConfig):
        super().__init__(config)
        self.embeddings = ConvNextEmbeddings(config)
        self.encoder = ConvNextEncoder(config)
        self.layernorm = nn.LayerNorm(config.hidden_sizes[-1], eps=config.layer_norm_eps)

    def forward(self, pixel_values=None, output_hidden_states=None, return_dict=None, **kwargs):
        states = self.encoder(self.embeddings(pixel_values))
        result = out.BaseModelOutputWithPoolingAndNoAttention(
            last_hidden_state=states[-1],
            pooler_output=self.layernorm(states[-1].mean([-2, -1])),
            hidden_states=states if self._flag(output_hidden_states, "output_hidden_states") else None,
        )
        return self._finish(result, return_dict)


class ConvNextForImageClassification(ImageClassificationModel, ConvNextPreTrainedModel):
    base_class = ConvNextModel
    output_class = out.ImageClassifierOutputWithNoAttention


class ConvNextBackbone(ConvNextPreTrainedModel):
    """Feature maps (channels-first, each layer-normalised) of the stages named by out_features."""

    def __init__(self, config: ConvNextConfig):
        super().__init__(config)
        self.embeddings = ConvNextEmbeddings(config)
        self.encoder = ConvNextEncoder(config)
        self.num_features = [config.hidden_sizes[0]] + config.hidden_sizes
        self.hidden_states_norms = nn.ModuleDict(
            {stage: ChannelsFirstLayerNorm(self.num_features[i]) for stage, i in zip(config.out_features, config.out_indices)}
        )

    @property
    def channels(self) -> list[int]:
        return [self.num_features[i] for i in self.config.out_indices]

    def forward(self, pixel_values=None, output_hidden_states=None, return_dict=None, **kwargs):
        states = self.encoder(self.embeddings(pixel_values))
        maps = tuple(self.hidden_states_norms[s](states[i]) for s, i in zip(self.config.out_features, self.config.out_indices))
        result = out.BackboneOutput(
            feature_maps=maps,
            hidden_states=states if self._flag(output_hidden_states, "output_hidden_states") else None,
        )
        return self._finish(result, return_dict)
