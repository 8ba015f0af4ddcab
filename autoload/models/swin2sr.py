"""Swin2SR: image super-resolution and restoration with residual groups of Swin Transformer v2 layers (scaled
cosine attention, a continuous position bias from a small MLP, post-norm residuals) and a convolutional
upsampler."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..configuration import PretrainedConfig
from ..vision import pair

UPSAMPLERS = ("pixelshuffle", "pixelshuffle_aux", "pixelshuffledirect", "nearest+conv")
RESIDUAL_CONNECTIONS = ("1conv", "3conv")
# The per-channel mean Swin2SR subtracts from RGB inputs (and adds back to RGB outputs).
RGB_MEAN = (0.4488, 0.4371, 0.4040)


@dataclass(frozen=True)
class Swin2SROptions:
    """window: the attention window of every layer (the configured one, or the whole grid when that is smaller);
    shift: the shift of odd layers (0 when the window covers the grid); mean: what inputs are centred by;
    (drop_path_rate is not read: transformers 4.57.6 builds Swin2SR's layers without stochastic depth.)
    upsampler: one of UPSAMPLERS, or "residual" (a 3x3 convolution added to the input: denoising, JPEG artefacts);
    upsample_steps: how the pixelshuffle upsamplers reach the scale: ("x2",) * n or ("x3",)."""

    window: int
    shift: int
    mean: tuple[float, ...]
    upsampler: str
    upsample_steps: tuple[str, ...]


class Swin2SRConfig(PretrainedConfig):
    model_type = "swin2sr"
    attribute_map = {"hidden_size": "embed_dim", "num_attention_heads": "num_heads", "num_hidden_layers": "num_layers"}

    def __init__(
        self,
        image_size=64,
        patch_size=1,
        num_channels=3,
        num_channels_out=None,
        embed_dim=180,
        depths=(6, 6, 6, 6, 6, 6),
        num_heads=(6, 6, 6, 6, 6, 6),
        window_size=8,
        mlp_ratio=2.0,
        qkv_bias=True,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        drop_path_rate=0.1,
        hidden_act="gelu",
        use_absolute_embeddings=False,
        initializer_range=0.02,
        layer_norm_eps=1e-5,
        upscale=2,
        img_range=1.0,
        resi_connection="1conv",
        upsampler="pixelshuffle",
        **kwargs,
    ):
        kwargs.pop("num_layers", None)  # derived from depths
        super().__init__(**kwargs)
        self.image_size = image_size
        self.patch_size = patch_size
        self.num_channels = num_channels
        self.num_channels_out = num_channels if num_channels_out is None else num_channels_out
        self.embed_dim = embed_dim
        self.depths = list(depths)
        self.num_layers = len(self.depths)
        self.num_heads = list(num_heads)
        self.window_size = window_size
        self.mlp_ratio = mlp_ratio
        self.qkv_bias = qkv_bias
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.drop_path_rate = drop_path_rate
        self.hidden_act = hidden_act
        self.use_absolute_embeddings = use_absolute_embeddings
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.upscale = upscale
        self.img_range = img_range
        self.resi_connection = resi_connection
        self.upsampler = upsampler

    def swin2sr_options(self) -> Swin2SROptions:
        """What every framework builds, checked against what transformers 4.57.6 can run."""
        if pair(self.patch_size) != (1, 1):
            raise ValueError(
                f"Swin2SRConfig: patch_size must be 1 (got {self.patch_size!r}); transformers 4.57.6 fails on larger "
                "patches in every stage's residual."
            )
        if self.use_absolute_embeddings:
            raise ValueError(
                "Swin2SRConfig: use_absolute_embeddings=True is not supported: transformers 4.57.6 adds a table of "
                "patches + 1 positions to the patch tokens, which fails for every input."
            )
        if self.resi_connection not in RESIDUAL_CONNECTIONS:
            raise ValueError(
                f"Swin2SRConfig: resi_connection must be one of {list(RESIDUAL_CONNECTIONS)}, got {self.resi_connection!r}."
            )
        if len(self.num_heads) != len(self.depths):
            raise ValueError(f"Swin2SRConfig: depths {self.depths} and num_heads {self.num_heads} differ in length.")
        for heads in self.num_heads:
            if self.embed_dim % heads:
                raise ValueError(f"Swin2SRConfig: embed_dim {self.embed_dim} is not a multiple of {heads} heads.")
        if self.resi_connection == "3conv" and self.embed_dim < 4:
            raise ValueError("Swin2SRConfig: resi_connection='3conv' needs embed_dim >= 4 (it narrows to embed_dim // 4).")
        upsampler = self.upsampler if self.upsampler in UPSAMPLERS else "residual"
        steps: tuple[str, ...] = ()
        if upsampler in ("pixelshuffle", "pixelshuffle_aux"):
            scale = self.upscale
            if scale >= 1 and scale & (scale - 1) == 0:
                steps = ("x2",) * (scale.bit_length() - 1)
            elif scale == 3:
                steps = ("x3",)
            else:
                raise ValueError(f"Swin2SRConfig: upscale {scale} is not supported by the pixelshuffle upsamplers "
                                 "(powers of 2 and 3 are).")  # fmt: skip
            if upsampler == "pixelshuffle_aux" and (self.num_channels != 3 or self.num_channels_out != 3):
                raise ValueError("Swin2SRConfig: the pixelshuffle_aux upsampler works on 3-channel images only.")
        if upsampler == "nearest+conv" and self.upscale != 4:
            raise ValueError("Swin2SRConfig: the nearest+conv upsampler only supports upscale=4.")
        if upsampler == "pixelshuffledirect" and self.upscale < 1:
            raise ValueError(f"Swin2SRConfig: upscale must be at least 1, got {self.upscale}.")
        # transformers sizes the window by the grid of config.image_size, along its height only (as it does).
        rows = pair(self.image_size)[0] // pair(self.patch_size)[0]
        window = min(rows, self.window_size)
        shift = 0 if rows <= window else self.window_size // 2
        rgb = self.num_channels == 3 and self.num_channels_out == 3
        return Swin2SROptions(window=window, shift=shift, mean=RGB_MEAN if rgb else (0.0,), upsampler=upsampler,
                              upsample_steps=steps)


CONFIG_CLASS = Swin2SRConfig
ARCHITECTURES = {"MODEL": "Swin2SRModel", "MODEL_FOR_IMAGE_TO_IMAGE": "Swin2SRForImageSuperResolution"}
BACKENDS = ("torch", "tf", "flax")


def continuous_position_coords(window: int) -> np.ndarray:
    """[(2w-1)**2, 2] inputs of Swin v2's position-bias MLP: every (dy, dx) offset inside a w x w window, scaled to
    [-8, 8] and log-spaced (sign(x) * log2(|x| + 1) / 3), in float32 as transformers computes them."""
    offsets = np.arange(-(window - 1), window, dtype=np.float32)
    table = np.stack(np.meshgrid(offsets, offsets, indexing="ij"), axis=-1)
    if window > 1:
        table = table / np.float32(window - 1)
    table = table * np.float32(8)
    table = np.sign(table) * np.log2(np.abs(table) + np.float32(1.0)) / np.float32(np.log2(8))
    return table.reshape(-1, 2).astype(np.float32)
