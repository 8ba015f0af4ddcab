"""ResNet in PyTorch (v1.5: the stride sits in the 3x3 conv unless downsample_in_bottleneck)."""

from __future__ import annotations

from torch import nn

from autoload import outputs as out
from autoload.models.resnet import ResNetConfig

from ..activations import get_activation
from ..blocks.vision import check_pixel_values
from ..heads import ImageClassificationModel
from ..modeling import PreTrainedModel


class ResNetConvLayer(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, activation: str | None = "relu"):
        super().__init__()
        self.convolution = nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2, bias=False)
        self.normalization = nn.BatchNorm2d(out_channels)
        self.activation = get_activation(activation) if activation else None

    def forward(self, x):
        x = self.normalization(self.convolution(x))
        return self.activation(x) if self.activation else x


class ResNetEmbeddings(nn.Module):
    def __init__(self, config: ResNetConfig):
        super().__init__()
        self.embedder = ResNetConvLayer(config.num_channels, config.embedding_size, 7, 2, config.hidden_act)
        self.pooler = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.num_channels = config.num_channels

    def forward(self, pixel_values):
        check_pixel_values(pixel_values, self.num_channels)
        return self.pooler(self.embedder(pixel_values))


class ResNetShortCut(nn.Module):
    def __init__(self, in_channels, out_channels, stride=2):
        super().__init__()
        self.convolution = nn.Conv2d(in_channels, out_channels, 1, stride, bias=False)
        self.normalization = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        return self.normalization(self.convolution(x))


def _shortcut(in_channels, out_channels, stride) -> nn.Module:
    if in_channels != out_channels or stride != 1:
        return ResNetShortCut(in_channels, out_channels, stride)
    return nn.Identity()


class ResNetBasicLayer(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1, activation="relu", conv_activation="relu"):
        super().__init__()
        self.shortcut = _shortcut(in_channels, out_channels, stride)
        self.layer = nn.Sequential(
            ResNetConvLayer(in_channels, out_channels, stride=stride, activation=conv_activation),
            ResNetConvLayer(out_channels, out_channels, activation=None),
        )
        self.activation = get_activation(activation)

    def forward(self, x):
        return self.activation(self.layer(x) + self.shortcut(x))


class ResNetBottleNeckLayer(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1, activation="relu", reduction=4,
                 downsample_in_bottleneck=False, conv_activation="relu"):  # fmt: skip
        super().__init__()
        reduced = out_channels // reduction
        self.shortcut = _shortcut(in_channels, out_channels, stride)
        first_stride, second_stride = (stride, 1) if downsample_in_bottleneck else (1, stride)
        self.layer = nn.Sequential(
            ResNetConvLayer(in_channels, reduced, kernel_size=1, stride=first_stride, activation=conv_activation),
            ResNetConvLayer(reduced, reduced, stride=second_stride, activation=conv_activation),
            ResNetConvLayer(reduced, out_channels, kernel_size=1, activation=None),
        )
        self.activation = get_activation(activation)

    def forward(self, x):
        return self.activation(self.layer(x) + self.shortcut(x))


class ResNetStage(nn.Module):
    def __init__(self, config: ResNetConfig, in_channels, out_channels, stride=2, depth=2):
        super().__init__()
        act, inner = config.hidden_act, config.block_conv_activation
        if config.layer_type == "bottleneck":
            first = ResNetBottleNeckLayer(in_channels, out_channels, stride, act, conv_activation=inner,
                                          downsample_in_bottleneck=config.downsample_in_bottleneck)  # fmt: skip
            rest = [ResNetBottleNeckLayer(out_channels, out_channels, activation=act, conv_activation=inner)
                    for _ in range(depth - 1)]  # fmt: skip
        else:
            first = ResNetBasicLayer(in_channels, out_channels, stride, act, inner)
            rest = [ResNetBasicLayer(out_channels, out_channels, activation=act, conv_activation=inner)
                    for _ in range(depth - 1)]  # fmt: skip
        self.layers = nn.Sequential(first, *rest)

    def forward(self, x):
        return self.layers(x)


class ResNetEncoder(nn.Module):
    def __init__(self, config: ResNetConfig):
        super().__init__()
        widths = [config.embedding_size] + config.hidden_sizes
        first_stride = 2 if config.downsample_in_first_stage else 1
        self.stages = nn.ModuleList(
            ResNetStage(config, widths[i], widths[i + 1], first_stride if i == 0 else 2, depth)
            for i, depth in enumerate(config.depths)
        )

    def forward(self, hidden):
        """The stem output and every stage's output (the backbone picks from these)."""
        states = (hidden,)
        for stage in self.stages:
            hidden = stage(hidden)
            states += (hidden,)
        return states


class ResNetPreTrainedModel(PreTrainedModel):
    config_class = ResNetConfig
    base_model_prefix = "resnet"
    main_input_name = "pixel_values"

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")


class ResNetModel(ResNetPreTrainedModel):
    def __init__(self, config: ResNetConfig):
        super().__init__(config)
        self.embedder = ResNetEmbeddings(config)
        self.encoder = ResNetEncoder(config)
        self.pooler = nn.AdaptiveAvgPool2d((1, 1))

    def forward(self, pixel_values=None, output_hidden_states=None, return_dict=None, **kwargs):
        states = self.encoder(self.embedder(pixel_values))
        result = out.BaseModelOutputWithPoolingAndNoAttention(
            last_hidden_state=states[-1],
            pooler_output=self.pooler(states[-1]),
            hidden_states=states if self._flag(output_hidden_states, "output_hidden_states") else None,
        )
        return self._finish(result, return_dict)


class ResNetForImageClassification(ImageClassificationModel, ResNetPreTrainedModel):
    """The classifier is `classifier.1` (a Flatten before it) on the pooled [batch, channels, 1, 1] map."""

    base_class = ResNetModel
    output_class = out.ImageClassifierOutputWithNoAttention

    def build_output_layer(self, out_features: int) -> nn.Module:
        return nn.Sequential(nn.Flatten(), super().build_output_layer(out_features))


class ResNetBackbone(ResNetPreTrainedModel):
    """Feature maps (channels-first) of the stages named by config.out_features / out_indices."""

    def __init__(self, config: ResNetConfig):
        super().__init__(config)
        self.embedder = ResNetEmbeddings(config)
        self.encoder = ResNetEncoder(config)
        self.num_features = [config.embedding_size] + config.hidden_sizes

    @property
    def channels(self) -> list[int]:
        return [self.num_features[i] for i in self.config.out_indices]

    def forward(self, pixel_values=None, output_hidden_states=None, return_dict=None, **kwargs):
        states = self.encoder(self.embedder(pixel_values))
        result = out.BackboneOutput(
            feature_maps=tuple(states[i] for i in self.config.out_indices),
            hidden_states=states if self._flag(output_hidden_states, "output_hidden_states") else None,
        )
        return self._finish(result, return_dict)


