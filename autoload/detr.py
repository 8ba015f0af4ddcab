"""What the DETR-style models (DETR, MaskFormer) build, decided once per config for every framework.

Both run a convolutional or Swin backbone (our own ResNet / Swin classes, never timm), flatten its last
feature map into a transformer whose object queries carry learned position embeddings, and add 2-D sine (or
learned) position embeddings of the feature map to the attention's queries and keys. This module holds what
the three frameworks must agree on: which backbone a config builds and the channels of its feature maps, the
position embedding, the sizes of DETR's mask head, and PyTorch's legacy nearest-neighbour resize as index
arrays (the pixel mask, the mask head and MaskFormer's feature pyramid resize with it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .postprocessing.arrays import _nearest_index

# Backbones autoload builds these models on (model_type of backbone_config): our own classes of these types.
BACKBONES = ("resnet", "swin", "maskformer-swin")
POSITION_EMBEDDINGS = ("sine", "learned")
LEARNED_POSITIONS = 50  # rows (and columns) of DETR's learned position tables


def nearest_index(in_size: int, out_size: int) -> np.ndarray:
    """Source index of each output position of torch.nn.functional.interpolate(mode="nearest")."""
    return np.asarray(_nearest_index(int(in_size), int(out_size)), dtype=np.int64)


def stage_widths(backbone_config) -> list[int]:
    """The channels of each stage of a backbone, the stem first (indexed like out_indices)."""
    kind = backbone_config.model_type
    if kind == "resnet":
        return [backbone_config.embedding_size] + list(backbone_config.hidden_sizes)
    if kind in ("swin", "maskformer-swin"):
        embed = backbone_config.embed_dim
        return [embed] + [int(embed * 2**i) for i in range(len(backbone_config.depths))]
    raise NotImplementedError(
        f"A {kind!r} backbone is not supported: autoload builds DETR and MaskFormer on its own ResNet or Swin "
        f"backbones (backbone_config with model_type one of {', '.join(BACKBONES)})."
    )


def backbone_channels(backbone_config) -> list[int]:
    """The channels of the feature maps the backbone returns (its out_indices)."""
    widths = stage_widths(backbone_config)
    return [widths[i] for i in backbone_config.out_indices]


def check_transformer(config, where: str, positions: str) -> None:
    """The sizes DETR's encoder-decoder (also MaskFormer's decoder) needs: d_model split evenly into heads,
    and into the two halves (rows, columns) of the `positions` embedding ("sine" or "learned")."""
    for field in ("encoder_attention_heads", "decoder_attention_heads"):
        heads = getattr(config, field)
        if not isinstance(heads, int) or heads < 1 or config.d_model % heads:
            raise ValueError(f"{where}: d_model ({config.d_model}) must be a multiple of {field} ({heads}).")
    if positions not in POSITION_EMBEDDINGS:
        raise ValueError(
            f"{where}: position_embedding_type must be one of {', '.join(POSITION_EMBEDDINGS)}, got {positions!r}."
        )
    # Rows and columns each get d_model // 2 channels; the sine embedding pairs sin and cos within each half.
    multiple = 4 if positions == "sine" else 2
    if config.d_model % multiple:
        raise ValueError(
            f"{where}: with {positions} position embeddings d_model must be a multiple of {multiple} (got "
            f"{config.d_model}); transformers fails on such a model too."
        )


@dataclass(frozen=True)
class MaskHeadSizes:
    """DETR's panoptic mask head (DetrMaskHeadSmallConv): the channels of lay1..lay5 (`dims`), the groups of
    gn1..gn5, and the input channels of adapter1..3 (the backbone's third-last to first feature maps)."""

    dims: tuple[int, ...]
    groups: tuple[int, ...]
    fpn_dims: tuple[int, ...]


def mask_head_sizes(d_model: int, heads: int, channels: list[int]) -> MaskHeadSizes:
    if len(channels) < 3:
        raise ValueError(
            f"DetrForSegmentation needs at least 3 backbone feature maps for its mask head; the backbone returns "
            f"{len(channels)} (set backbone_config.out_features to e.g. ['stage1', 'stage2', 'stage3', 'stage4'])."
        )
    dim = d_model + heads
    if dim % 8:
        raise ValueError(f"DetrForSegmentation: d_model + encoder_attention_heads ({dim}) must be a multiple of 8 "
                         "(the mask head's first GroupNorm has 8 groups).")
    dims = (dim, d_model // 2, d_model // 4, d_model // 8, d_model // 16)
    groups = (8,) + tuple(min(8, d) for d in dims[1:])
    for i, (width, group) in enumerate(zip(dims, groups)):
        if width < 1 or width % group:
            raise ValueError(
                f"DetrForSegmentation: the mask head's layer {i + 1} has {width} channels, which GroupNorm cannot "
                f"split into {group} groups (d_model={d_model}, heads={heads}); transformers fails here too. "
                "Use d_model 16, 32, 64 or a multiple of 128, with d_model + heads a multiple of 8."
            )
    return MaskHeadSizes(dims, groups, tuple(channels[::-1][-3:]))


# The timm ResNets DETR checkpoints name with use_timm_backbone=True (facebook/detr-resnet-50 and -101): their
# layer type and blocks per stage. timm's ResNet is our ResNet (v1.5, stride in the 3x3 convolution) under other
# weight names; timm's feature index i >= 1 is our stage i.
TIMM_RESNETS = {
    "resnet18": ("basic", [2, 2, 2, 2]),
    "resnet34": ("basic", [3, 4, 6, 3]),
    "resnet50": ("bottleneck", [3, 4, 6, 3]),
    "resnet101": ("bottleneck", [3, 4, 23, 3]),
    "resnet152": ("bottleneck", [3, 8, 36, 3]),
}


def timm_resnet_config(name, backbone_kwargs, num_channels: int, dilation, where: str):
    """Our ResNetConfig for the timm ResNet `name` that a use_timm_backbone config asks for, or a clear error."""
    from .models.resnet import ResNetConfig

    if name not in TIMM_RESNETS:
        raise NotImplementedError(
            f"{where}: use_timm_backbone=True with backbone={name!r}: autoload builds timm's plain ResNets on its own "
            f"ResNet ({', '.join(TIMM_RESNETS)}); other timm backbones are not supported. Use one of those, or "
            "use_timm_backbone=False with a backbone_config."
        )
    if dilation:
        raise NotImplementedError(
            f"{where}: dilation=True (timm's output_stride 16: a dilated last stage) is not supported by autoload's "
            "ResNet; use a checkpoint trained without dilation."
        )
    kwargs = dict(backbone_kwargs or {})
    out_indices = [int(i) for i in kwargs.pop("out_indices", (1, 2, 3, 4))]
    in_chans = kwargs.pop("in_chans", num_channels)
    if kwargs:
        raise NotImplementedError(
            f"{where}: backbone_kwargs {sorted(kwargs)} are timm options autoload does not implement (it reads "
            "out_indices and in_chans only)."
        )
    if not out_indices or any(i not in (1, 2, 3, 4) for i in out_indices):
        raise NotImplementedError(
            f"{where}: backbone_kwargs.out_indices {out_indices}: autoload's ResNet returns timm's feature levels 1 to "
            "4 (level 0, before the stem's max pooling, is not available)."
        )
    layer_type, depths = TIMM_RESNETS[name]
    widths = [64, 128, 256, 512] if layer_type == "basic" else [256, 512, 1024, 2048]
    return ResNetConfig(num_channels=in_chans, embedding_size=64, hidden_sizes=widths, depths=depths,
                        layer_type=layer_type, hidden_act="relu", out_indices=out_indices)  # fmt: skip


_TIMM_PREFIX = r"(?P<p>(?:^|.*\.)backbone\.conv_encoder\.model\.)"
_TIMM_RULES = (
    (re.compile(_TIMM_PREFIX + r"conv1\.(?P<leaf>\w+)$"), "embedder.embedder.convolution.{leaf}"),
    (re.compile(_TIMM_PREFIX + r"bn1\.(?P<leaf>\w+)$"), "embedder.embedder.normalization.{leaf}"),
    (re.compile(_TIMM_PREFIX + r"layer(?P<s>\d+)\.(?P<b>\d+)\.conv(?P<k>\d)\.(?P<leaf>\w+)$"),
     "encoder.stages.{s}.layers.{b}.layer.{k}.convolution.{leaf}"),
    (re.compile(_TIMM_PREFIX + r"layer(?P<s>\d+)\.(?P<b>\d+)\.bn(?P<k>\d)\.(?P<leaf>\w+)$"),
     "encoder.stages.{s}.layers.{b}.layer.{k}.normalization.{leaf}"),
    (re.compile(_TIMM_PREFIX + r"layer(?P<s>\d+)\.(?P<b>\d+)\.downsample\.0\.(?P<leaf>\w+)$"),
     "encoder.stages.{s}.layers.{b}.shortcut.convolution.{leaf}"),
    (re.compile(_TIMM_PREFIX + r"layer(?P<s>\d+)\.(?P<b>\d+)\.downsample\.1\.(?P<leaf>\w+)$"),
     "encoder.stages.{s}.layers.{b}.shortcut.normalization.{leaf}"),
)


def timm_resnet_key(key: str) -> str:
    """A timm ResNet weight name under DETR's backbone (`...backbone.conv_encoder.model.layer1.0.conv2.weight`) in
    our ResNet's names (`...encoder.stages.0.layers.0.layer.1.convolution.weight`); other keys unchanged."""
    if "backbone.conv_encoder.model." not in key:
        return key
    for pattern, template in _TIMM_RULES:
        match = pattern.match(key)
        if match:
            parts = match.groupdict()
            for field in ("s", "k"):  # timm counts stages and convolutions from 1
                if field in parts:
                    parts[field] = str(int(parts[field]) - 1)
            return parts.pop("p") + template.format(**parts)
    return key
