"""MaskFormer's Swin backbone: Swin's layers, always partitioned into full windows (a map smaller than a window
is padded rather than attended as one smaller window), with a LayerNorm on every stage's feature map."""

from __future__ import annotations

from .swin import SwinConfig


class MaskFormerSwinConfig(SwinConfig):
    model_type = "maskformer-swin"

    def check_supported(self) -> None:
        super().check_supported()
        if "stem" in self.out_features:
            raise ValueError("MaskFormerSwinConfig: this backbone does not support 'stem' in out_features.")


CONFIG_CLASS = MaskFormerSwinConfig
ARCHITECTURES = {"MODEL": "MaskFormerSwinModel", "MODEL_FOR_BACKBONE": "MaskFormerSwinBackbone"}
BACKENDS = ("torch", "tf", "flax")
HEADS: dict = {}
