"""Semantic-segmentation blocks in PyTorch (names as in the checkpoints of BEiT-style segmenters): the UperNet
decode head with its pyramid pooling, the FCN auxiliary head, and the four-scale feature pyramid BEiT builds
from single-scale ViT features."""

from __future__ import annotations

import torch
from torch import nn

from .vision import ConvBatchNormReLU


def resize(x: torch.Tensor, size) -> torch.Tensor:
    return nn.functional.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)


class PyramidPoolingBlock(nn.Module):
    """Adaptive average pooling to `scale` x `scale` (`0`), then conv + BN + ReLU (`1`)."""

    def __init__(self, scale: int, in_channels: int, channels: int):
        super().__init__()
        self.add_module("0", nn.AdaptiveAvgPool2d(scale))
        self.add_module("1", ConvBatchNormReLU(in_channels, channels, 1))

    def forward(self, x):
        return getattr(self, "1")(getattr(self, "0")(x))


class PyramidPoolingModule(nn.Module):
    def __init__(self, scales, in_channels: int, channels: int):
        super().__init__()
        for i, scale in enumerate(scales):
            self.add_module(str(i), PyramidPoolingBlock(scale, in_channels, channels))

    def forward(self, x):
        return [resize(block(x), x.shape[2:]) for block in self.children()]


class UperHead(nn.Module):
    """UperNet: pyramid pooling on the coarsest map, lateral 1x1 convs, a top-down path, 3x3 convs, fusion of
    every level at the finest resolution, and a 1x1 classifier."""

    def __init__(self, config, channels: int, levels: int = 4):
        super().__init__()
        self.classifier = nn.Conv2d(channels, config.num_labels, kernel_size=1)
        self.psp_modules = PyramidPoolingModule(config.pool_scales, channels, channels)
        self.bottleneck = ConvBatchNormReLU(channels * (1 + len(config.pool_scales)), channels, 3, padding=1)
        self.lateral_convs = nn.ModuleList(ConvBatchNormReLU(channels, channels, 1) for _ in range(levels - 1))
        self.fpn_convs = nn.ModuleList(ConvBatchNormReLU(channels, channels, 3, padding=1) for _ in range(levels - 1))
        self.fpn_bottleneck = ConvBatchNormReLU(levels * channels, channels, 3, padding=1)

    def forward(self, features):
        top = features[-1]
        laterals = [conv(features[i]) for i, conv in enumerate(self.lateral_convs)]
        laterals.append(self.bottleneck(torch.cat([top, *self.psp_modules(top)], dim=1)))
        for i in range(len(laterals) - 1, 0, -1):
            laterals[i - 1] = laterals[i - 1] + resize(laterals[i], laterals[i - 1].shape[2:])
        outs = [conv(laterals[i]) for i, conv in enumerate(self.fpn_convs)] + [laterals[-1]]
        outs = [outs[0]] + [resize(o, outs[0].shape[2:]) for o in outs[1:]]
        return self.classifier(self.fpn_bottleneck(torch.cat(outs, dim=1)))


class FCNHead(nn.Module):
    """The auxiliary head: `auxiliary_num_convs` 3x3 conv blocks on one feature map (optionally concatenated
    with its input and fused), then a 1x1 classifier."""

    def __init__(self, config, in_channels: int, in_index: int = 2, kernel_size: int = 3, dilation: int = 1):
        super().__init__()
        channels, count = config.auxiliary_channels, config.auxiliary_num_convs
        self.in_index = in_index
        padding = (kernel_size // 2) * dilation
        if count == 0:
            self.convs = nn.Identity()
        else:
            self.convs = nn.Sequential(*(ConvBatchNormReLU(in_channels if i == 0 else channels, channels, kernel_size,
                                                           padding, dilation) for i in range(count)))  # fmt: skip
        self.concat_input = config.auxiliary_concat_input
        if self.concat_input:
            self.conv_cat = ConvBatchNormReLU(in_channels + channels, channels, kernel_size, padding=kernel_size // 2)
        self.classifier = nn.Conv2d(channels, config.num_labels, kernel_size=1)

    def forward(self, features):
        x = features[self.in_index]
        hidden = self.convs(x)
        if self.concat_input:
            hidden = self.conv_cat(torch.cat([x, hidden], dim=1))
        return self.classifier(hidden)


def feature_pyramid(channels: int, batch_norm_eps: float = 1e-5) -> tuple[nn.Module, ...]:
    """fpn1 (x4: two stride-2 transposed convs around BatchNorm + GELU), fpn2 (x2), fpn3 (x1), fpn4 (max pool /2)."""

    def up():
        return nn.ConvTranspose2d(channels, channels, kernel_size=2, stride=2)

    return (nn.Sequential(up(), nn.BatchNorm2d(channels, eps=batch_norm_eps), nn.GELU(), up()), nn.Sequential(up()),
            nn.Identity(), nn.MaxPool2d(kernel_size=2, stride=2))  # fmt: skip


def segmentation_loss(logits, auxiliary_logits, labels, config) -> torch.Tensor:
    """Cross-entropy of the logits resized to the labels (ignoring semantic_loss_ignore_index), plus the
    auxiliary head's weighted by auxiliary_loss_weight."""
    loss_fn = nn.CrossEntropyLoss(ignore_index=config.semantic_loss_ignore_index)
    loss = loss_fn(resize(logits, labels.shape[-2:]), labels)
    if auxiliary_logits is not None:
        loss = loss + config.auxiliary_loss_weight * loss_fn(resize(auxiliary_logits, labels.shape[-2:]), labels)
    return loss
