"""Dense-prediction blocks in PyTorch (DPT's neck and heads; names as in DPT checkpoints): the reassemble stage
turning ViT tokens into maps at several scales, the fusion stage merging them top-down with residual
convolution units, and the depth, segmentation and auxiliary heads. Configured by `config.dpt_options()`."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..activations import get_activation
from .segmentation import resize


def upsample_twice(x, align_corners: bool = True):
    return nn.functional.interpolate(x, scale_factor=2, mode="bilinear", align_corners=align_corners)


def tokens_to_square_map(tokens):
    """[batch, n, channels] -> [batch, channels, side, side] for a square grid of n tokens."""
    batch, length, channels = tokens.shape
    side = math.isqrt(length)
    if side * side != length:
        raise ValueError(
            f"DPT reassembles {length} patch tokens into a square map, so the patch grid must be square (transformers "
            "4.57.6 reshapes by the square root too); use a square image."
        )
    return tokens.reshape(batch, side, side, channels).permute(0, 3, 1, 2)


class Activation(nn.Module):
    """An activation function as a module (the `.1` of a Sequential that has no weights there)."""

    def __init__(self, name: str):
        super().__init__()
        self.function = get_activation(name)

    def forward(self, x):
        return self.function(x)


class ReassembleLayer(nn.Module):
    """A 1x1 projection to the level's width, then a resize: transposed convolution (factor k > 1), nothing (1), or a
    strided 3x3 convolution (factor below one)."""

    def __init__(self, hidden_size: int, channels: int, factor: int):
        super().__init__()
        self.projection = nn.Conv2d(hidden_size, channels, kernel_size=1)
        if factor > 1:
            self.resize = nn.ConvTranspose2d(channels, channels, kernel_size=factor, stride=factor)
        elif factor == 1:
            self.resize = nn.Identity()
        else:
            self.resize = nn.Conv2d(channels, channels, kernel_size=3, stride=-factor, padding=1)

    def forward(self, x):
        return self.resize(self.projection(x))


class ReassembleStage(nn.Module):
    """Per level: the class token read out (readout_type "project": concatenated and projected by
    `readout_projects.<i>.0`; "add": added; "ignore": dropped), the tokens as a map, `layers.<i>`."""

    def __init__(self, config):
        super().__init__()
        options = config.dpt_options()
        self.readout_type = config.readout_type
        self.layers = nn.ModuleList(ReassembleLayer(config.hidden_size, channels, factor)
                                    for channels, factor in zip(config.neck_hidden_sizes, options.factors))  # fmt: skip
        if self.readout_type == "project":
            self.readout_projects = nn.ModuleList(
                nn.Sequential(nn.Linear(2 * config.hidden_size, config.hidden_size), Activation(config.hidden_act))
                for _ in config.neck_hidden_sizes
            )

    def forward(self, hidden_states):
        maps = []
        for i, hidden in enumerate(hidden_states):
            cls_token, tokens = hidden[:, :1], hidden[:, 1:]
            if self.readout_type == "project":
                tokens = self.readout_projects[i](torch.cat([tokens, cls_token.expand_as(tokens)], dim=-1))
            elif self.readout_type == "add":
                tokens = tokens + cls_token
            maps.append(self.layers[i](tokens_to_square_map(tokens)))
        return maps


class PreActResidualLayer(nn.Module):
    """ReLU -> 3x3 conv (-> BatchNorm) -> ReLU -> 3x3 conv (-> BatchNorm), plus the input."""

    def __init__(self, config, bias: bool):
        super().__init__()
        width = config.fusion_hidden_size
        self.use_batch_norm = config.use_batch_norm_in_fusion_residual
        self.activation1 = nn.ReLU()
        self.convolution1 = nn.Conv2d(width, width, 3, padding=1, bias=bias)
        self.activation2 = nn.ReLU()
        self.convolution2 = nn.Conv2d(width, width, 3, padding=1, bias=bias)
        if self.use_batch_norm:
            self.batch_norm1 = nn.BatchNorm2d(width)
            self.batch_norm2 = nn.BatchNorm2d(width)

    def forward(self, x):
        hidden = self.convolution1(self.activation1(x))
        if self.use_batch_norm:
            hidden = self.batch_norm1(hidden)
        hidden = self.convolution2(self.activation2(hidden))
        if self.use_batch_norm:
            hidden = self.batch_norm2(hidden)
        return hidden + x


class FeatureFusionLayer(nn.Module):
    """(+ residual unit of the skip map, resized to this one) -> residual unit -> upsample x2 (align_corners) ->
    1x1 projection."""

    def __init__(self, config, bias: bool):
        super().__init__()
        width = config.fusion_hidden_size
        self.projection = nn.Conv2d(width, width, kernel_size=1)
        self.residual_layer1 = PreActResidualLayer(config, bias)
        self.residual_layer2 = PreActResidualLayer(config, bias)

    def forward(self, hidden, residual=None):
        if residual is not None:
            if hidden.shape != residual.shape:
                residual = resize(residual, hidden.shape[2:])
            hidden = hidden + self.residual_layer1(residual)
        return self.projection(upsample_twice(self.residual_layer2(hidden)))


class FeatureFusionStage(nn.Module):
    def __init__(self, config, bias: bool):
        super().__init__()
        self.layers = nn.ModuleList(FeatureFusionLayer(config, bias) for _ in config.neck_hidden_sizes)

    def forward(self, maps):
        """The deepest map first; returns every fused map, coarse to fine."""
        fused, outputs = None, []
        for hidden, layer in zip(maps[::-1], self.layers):
            fused = layer(hidden) if fused is None else layer(fused, hidden)
            outputs.append(fused)
        return outputs


class DPTNeck(nn.Module):
    """reassemble_stage -> 3x3 convs to fusion_hidden_size (`convs.<i>`) -> fusion_stage."""

    def __init__(self, config):
        super().__init__()
        options = config.dpt_options()
        self.reassemble_stage = ReassembleStage(config)
        self.convs = nn.ModuleList(nn.Conv2d(channels, config.fusion_hidden_size, 3, padding=1, bias=False)
                                   for channels in config.neck_hidden_sizes)  # fmt: skip
        self.fusion_stage = FeatureFusionStage(config, options.fusion_bias)

    def forward(self, hidden_states):
        maps = self.reassemble_stage(hidden_states)
        return self.fusion_stage([conv(m) for conv, m in zip(self.convs, maps)])


class DepthEstimationHead(nn.Module):
    """(projection + ReLU,) then `head`: conv to half width, upsample x2, conv to 32, ReLU, conv to 1, ReLU."""

    def __init__(self, config):
        super().__init__()
        self.head_in_index = config.head_in_index
        self.projection = nn.Conv2d(256, 256, 3, padding=1) if config.add_projection else None
        width = config.fusion_hidden_size
        self.head = nn.Sequential(
            nn.Conv2d(width, width // 2, 3, padding=1), nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
            nn.Conv2d(width // 2, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 1, 1), nn.ReLU(),
        )  # fmt: skip

    def forward(self, maps):
        hidden = maps[self.head_in_index]
        if self.projection is not None:
            hidden = nn.functional.relu(self.projection(hidden))
        return self.head(hidden).squeeze(1)


class SemanticSegmentationHead(nn.Module):
    """`head`: 3x3 conv, BatchNorm, ReLU, dropout, 1x1 classifier, upsample x2."""

    def __init__(self, config):
        super().__init__()
        self.head_in_index = config.head_in_index
        width = config.fusion_hidden_size
        self.head = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Dropout(config.semantic_classifier_dropout), nn.Conv2d(width, config.num_labels, 1),
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
        )  # fmt: skip

    def forward(self, maps):
        return self.head(maps[self.head_in_index])


class AuxiliaryHead(nn.Module):
    """`head`: 3x3 conv, BatchNorm, ReLU, dropout 0.1, 1x1 classifier (on the finest fused map)."""

    def __init__(self, config):
        super().__init__()
        width = config.fusion_hidden_size
        self.head = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(), nn.Dropout(0.1),
            nn.Conv2d(width, config.num_labels, 1),
        )  # fmt: skip

    def forward(self, x):
        return self.head(x)
