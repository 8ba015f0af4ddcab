"""What the DETR-style models (DETR, MaskFormer) build, decided once per config for every framework.

Both run a convolutional or Swin backbone (our own ResNet / Swin classes, never timm), flatten its last
feature map into a transformer whose object queries carry learned position embeddings, and add 2-D sine (or
learned) position embeddings of the feature map to the attention's queries and keys. This module holds what
the three frameworks must agree on: which backbone a config builds and the channels of its feature maps, the
position embedding, the sizes of DETR's mask head, and PyTorch's legacy nearest-neighbour resize as index
arrays (the pixel mask, the mask head and MaskFormer's feature pyramid resize with it).
"""

from __future__ import annotations

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
