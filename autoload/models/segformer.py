"""SegFormer: a hierarchical Mix Transformer encoder (overlapping patch embeddings, attention over a spatially
reduced key/value sequence, a depthwise convolution inside the MLP) and an all-MLP decode head."""

from __future__ import annotations

from dataclasses import dataclass

from ..configuration import PretrainedConfig
from ..heads import HeadSpec
from ..vision import linear_drop_path_rates

_PER_BLOCK = ("depths", "sr_ratios", "hidden_sizes", "patch_sizes", "strides", "num_attention_heads", "mlp_ratios")


@dataclass(frozen=True)
class SegformerStage:
    """One encoder block (stage) as the config describes it."""

    in_channels: int
    width: int
    depth: int
    heads: int
    sr_ratio: int
    patch_size: int
    stride: int
    mlp_width: int
    drop_path_rates: tuple[float, ...]


class SegformerConfig(PretrainedConfig):
    model_type = "segformer"

    def __init__(
        self,
        num_channels=3,
        num_encoder_blocks=4,
        depths=(2, 2, 2, 2),
        sr_ratios=(8, 4, 2, 1),
        hidden_sizes=(32, 64, 160, 256),
        patch_sizes=(7, 3, 3, 3),
        strides=(4, 2, 2, 2),
        num_attention_heads=(1, 2, 5, 8),
        mlp_ratios=(4, 4, 4, 4),
        hidden_act="gelu",
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        classifier_dropout_prob=0.1,
        initializer_range=0.02,
        drop_path_rate=0.1,
        layer_norm_eps=1e-6,
        decoder_hidden_size=256,
        semantic_loss_ignore_index=255,
        **kwargs,
    ):
        reshape_last_stage = kwargs.pop("reshape_last_stage", True)
        super().__init__(**kwargs)
        self.num_channels = num_channels
        self.num_encoder_blocks = num_encoder_blocks
        self.depths = list(depths)
        self.sr_ratios = list(sr_ratios)
        self.hidden_sizes = list(hidden_sizes)
        self.patch_sizes = list(patch_sizes)
        self.strides = list(strides)
        self.num_attention_heads = list(num_attention_heads)
        self.mlp_ratios = list(mlp_ratios)
        self.hidden_act = hidden_act
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.classifier_dropout_prob = classifier_dropout_prob
        self.initializer_range = initializer_range
        self.drop_path_rate = drop_path_rate
        # transformers' SegFormer LayerNorms all use PyTorch's default epsilon (1e-5); layer_norm_eps is not read.
        self.layer_norm_eps = layer_norm_eps
        self.decoder_hidden_size = decoder_hidden_size
        self.semantic_loss_ignore_index = semantic_loss_ignore_index
        self.reshape_last_stage = reshape_last_stage

    def segformer_options(self) -> tuple[SegformerStage, ...]:
        """The encoder blocks, checked: one entry per block in every per-block list, widths divisible by their
        head counts."""
        blocks = self.num_encoder_blocks
        if not isinstance(blocks, int) or blocks < 1:
            raise ValueError(f"SegformerConfig: num_encoder_blocks must be a positive int, got {blocks!r}.")
        for name in _PER_BLOCK:
            value = getattr(self, name)
            if len(value) != blocks:
                raise ValueError(
                    f"SegformerConfig: {name} has {len(value)} entries but num_encoder_blocks is {blocks}; give one "
                    "per encoder block."
                )
        rates = linear_drop_path_rates(self.drop_path_rate, sum(self.depths)) if sum(self.depths) else []
        stages, start = [], 0
        for i in range(blocks):
            width, heads = self.hidden_sizes[i], self.num_attention_heads[i]
            if width % heads:
                raise ValueError(
                    f"SegformerConfig: hidden_sizes[{i}] = {width} is not a multiple of num_attention_heads[{i}] = {heads}."
                )
            depth = self.depths[i]
            stages.append(SegformerStage(
                in_channels=self.num_channels if i == 0 else self.hidden_sizes[i - 1], width=width, depth=depth,
                heads=heads, sr_ratio=self.sr_ratios[i], patch_size=self.patch_sizes[i], stride=self.strides[i],
                mlp_width=int(width * self.mlp_ratios[i]), drop_path_rates=tuple(rates[start : start + depth]),
            ))  # fmt: skip
            start += depth
        return tuple(stages)

    def check_decode_head(self) -> None:
        """The decode head reads every block's map; transformers 4.57.6 reshapes a last stage left as a sequence
        (reshape_last_stage=False) by its channel count, which does not give the map back."""
        if not self.reshape_last_stage:
            raise ValueError(
                "SegformerForSemanticSegmentation needs reshape_last_stage=True (the decode head reads the last "
                "block as a map; transformers 4.57.6 mis-reshapes it otherwise)."
            )


CONFIG_CLASS = SegformerConfig
ARCHITECTURES = {
    "MODEL": "SegformerModel",
    "MODEL_FOR_IMAGE_CLASSIFICATION": "SegformerForImageClassification",
    "MODEL_FOR_SEMANTIC_SEGMENTATION": "SegformerForSemanticSegmentation",
}
BACKENDS = ("torch", "tf", "flax")

HEADS = {
    # The mean of the last block's map over its positions, no dropout (SegformerForImageClassification.pool).
    "SegformerForImageClassification": HeadSpec(pooling="none", dropout=(), width=lambda c: c.hidden_sizes[-1]),
    "SegformerForSemanticSegmentation": HeadSpec(pooling="none", attr="decode_head", dropout=()),
}
