"""VideoMAE: a ViT over space-time tubelets (a 3-D patch embedding and fixed sinusoidal positions), with the
masked-autoencoder decoder for pre-training and a mean-pooled video classifier."""

from __future__ import annotations

import copy

import numpy as np

from ..configuration import PretrainedConfig
from ..heads import HeadSpec
from ..vision import VisionTransformerConfigMixin, pair

# What VideoMAE's pre-training loss undoes on RGB inputs before it cuts the target patches (ImageNet statistics).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def sinusoid_table(positions: int, width: int) -> np.ndarray:
    """[1, positions, width] fixed position table: sin on even channels, cos on odd ones, at wavelengths
    10000 ** (2 * (channel // 2) / width), computed in float64 and stored as float32 (as transformers does)."""
    exponents = 2 * (np.arange(width) // 2) / width
    angles = np.arange(positions)[:, None] / np.power(10000, exponents)[None, :]
    table = np.empty_like(angles)
    table[:, 0::2] = np.sin(angles[:, 0::2])
    table[:, 1::2] = np.cos(angles[:, 1::2])
    return table[None].astype(np.float32)


class VideoMAEConfig(VisionTransformerConfigMixin, PretrainedConfig):
    model_type = "videomae"

    def __init__(
        self,
        image_size=224,
        patch_size=16,
        num_channels=3,
        num_frames=16,
        tubelet_size=2,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        hidden_act="gelu",
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        initializer_range=0.02,
        layer_norm_eps=1e-12,
        qkv_bias=True,
        use_mean_pooling=True,
        decoder_num_attention_heads=6,
        decoder_hidden_size=384,
        decoder_num_hidden_layers=4,
        decoder_intermediate_size=1536,
        norm_pix_loss=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.set_vit_fields(locals())
        self.num_frames = num_frames
        self.tubelet_size = tubelet_size
        self.intermediate_size = intermediate_size
        self.qkv_bias = qkv_bias
        self.use_mean_pooling = use_mean_pooling
        self.decoder_num_attention_heads = decoder_num_attention_heads
        self.decoder_hidden_size = decoder_hidden_size
        self.decoder_num_hidden_layers = decoder_num_hidden_layers
        self.decoder_intermediate_size = decoder_intermediate_size
        self.norm_pix_loss = norm_pix_loss
        self.check_vision_transformer()

    # -- what the blocks read -------------------------------------------------------------------------------------
    @property
    def projection_biases(self) -> tuple[bool, bool, bool]:
        """query / key / value have no bias of their own: VideoMAE keeps q_bias and v_bias beside them."""
        return False, False, False

    @property
    def tubelet_grid(self) -> tuple[int, int, int]:
        """(frames, rows, cols) of tubelets a video of the configured size makes."""
        height, width = pair(self.image_size)
        patch = pair(self.patch_size)
        return self.num_frames // int(self.tubelet_size), height // patch[0], width // patch[1]

    @property
    def num_patches(self) -> int:
        frames, rows, cols = self.tubelet_grid
        return frames * rows * cols

    def videomae_options(self) -> dict:
        """Checked once: an integer tubelet and a square patch (the pre-training decoder predicts patch_size**2
        pixels per frame of a tubelet)."""
        if int(self.tubelet_size) != self.tubelet_size or self.tubelet_size < 1:
            raise ValueError(f"VideoMAEConfig: tubelet_size must be a positive int, got {self.tubelet_size!r}.")
        if not isinstance(self.patch_size, int):
            raise ValueError(f"VideoMAEConfig: patch_size must be an int, got {self.patch_size!r}.")
        if self.decoder_hidden_size % self.decoder_num_attention_heads:
            raise ValueError(
                f"VideoMAEConfig: decoder_hidden_size {self.decoder_hidden_size} is not a multiple of "
                f"decoder_num_attention_heads {self.decoder_num_attention_heads}."
            )
        return {"patches": self.num_patches, "decoder_outputs": self.num_channels * self.tubelet_size * self.patch_size**2}

    def decoder_config(self) -> VideoMAEConfig:
        """The pre-training decoder's layers: this config with the decoder's width, depth, heads and MLP size."""
        decoder = copy.deepcopy(self)
        decoder.hidden_size = self.decoder_hidden_size
        decoder.num_hidden_layers = self.decoder_num_hidden_layers
        decoder.num_attention_heads = self.decoder_num_attention_heads
        decoder.intermediate_size = self.decoder_intermediate_size
        return decoder


CONFIG_CLASS = VideoMAEConfig
ARCHITECTURES = {
    "MODEL": "VideoMAEModel",
    "MODEL_FOR_PRETRAINING": "VideoMAEForPreTraining",
    "MODEL_FOR_VIDEO_CLASSIFICATION": "VideoMAEForVideoClassification",
}
BACKENDS = ("torch", "tf", "flax")

HEADS = {
    # fc_norm of the mean token (use_mean_pooling), else the first token (VideoMAEForVideoClassification.pool).
    "VideoMAEForVideoClassification": HeadSpec(pooling="none", dropout=()),
    "VideoMAEForPreTraining": HeadSpec(pooling="none", attr="decoder", dropout=()),
}
