"""Backend-neutral numerics for vision models."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_CUBIC_A = -0.75  # the cubic-convolution constant PyTorch's bicubic resize uses


def _cubic_weights(t: float) -> list[float]:
    a = _CUBIC_A

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def bicubic_matrix(in_size: int, out_size: int) -> np.ndarray:
    """[out, in] matrix M with M @ x equal to PyTorch's bicubic resize (align_corners=False) of x along one
    axis, so any framework can resize a grid exactly like `torch.nn.functional.interpolate`."""
    matrix = np.zeros((out_size, in_size), dtype=np.float64)
    scale = in_size / out_size
    for i in range(out_size):
        source = scale * (i + 0.5) - 0.5
        base = int(np.floor(source))
        for offset, weight in zip(range(-1, 3), _cubic_weights(source - base)):
            matrix[i, min(max(base + offset, 0), in_size - 1)] += weight
    return matrix.astype(np.float32)


def bilinear_matrix(in_size: int, out_size: int, align_corners: bool = False) -> np.ndarray:
    """[out, in] matrix equal to PyTorch's bilinear resize (no antialiasing) of x along one axis."""
    matrix = np.zeros((out_size, in_size), dtype=np.float64)
    for i in range(out_size):
        if align_corners:
            source = i * (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
        else:
            source = max((i + 0.5) * in_size / out_size - 0.5, 0.0)
        low = min(int(np.floor(source)), in_size - 1)
        high = min(low + 1, in_size - 1)
        frac = source - low
        matrix[i, low] += 1.0 - frac
        matrix[i, high] += frac
    return matrix.astype(np.float32)


def adaptive_pool_matrix(in_size: int, out_size: int) -> np.ndarray:
    """[out, in] matrix of PyTorch's adaptive average pooling along one axis (windows floor(i*in/out) to
    ceil((i+1)*in/out))."""
    matrix = np.zeros((out_size, in_size), dtype=np.float64)
    for i in range(out_size):
        start = (i * in_size) // out_size
        end = -((-(i + 1) * in_size) // out_size)
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix.astype(np.float32)


def window_relative_position_index(height: int, width: int, class_token: bool = False) -> np.ndarray:
    """For every pair of positions of a height x width window, the row of a relative position bias table
    ((2h-1) * (2w-1) rows) that holds their offset. With `class_token` (BEiT), one more row and column for a
    leading class token, which reads the table's three extra last rows (token to patch, patch to token,
    token to token)."""
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    coords = np.stack([rows.ravel(), cols.ravel()])
    offsets = coords[:, :, None] - coords[:, None, :]
    index = (offsets[0] + height - 1) * (2 * width - 1) + (offsets[1] + width - 1)
    if not class_token:
        return index.astype(np.int64)
    distances = (2 * height - 1) * (2 * width - 1)
    area = height * width
    full = np.zeros((area + 1, area + 1), dtype=np.int64)
    full[1:, 1:] = index
    full[0, :] = distances
    full[:, 0] = distances + 1
    full[0, 0] = distances + 2
    return full


def pair(value) -> tuple[int, int]:
    """An image or patch size as (height, width): an int means a square."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"An image or patch size is an int or a (height, width) pair; got {value!r}.")
        return int(value[0]), int(value[1])
    return int(value), int(value)


@dataclass(frozen=True)
class TokenLayout:
    """How a ViT-style model turns patch embeddings into its token sequence (names are checkpoint names).

    tokens: learned tokens put before the patches, in order (each a [1, 1, hidden] parameter).
    registers: learned register tokens inserted after them once positions are added (DINOv2 with registers).
    position_embeddings: whether a learned [1, tokens + patches, hidden] position table is added.
    interpolation: "on_request": an image of another size than config.image_size needs
        interpolate_pos_encoding=True (ViT, DeiT); "always": positions are resized to every input (BEiT, DINOv2).
    flat_mask_token: the mask token is [1, hidden] (DINOv2) instead of [1, 1, hidden].
    position_resize: how the position table is resized: "bicubic" (ViT, DINOv2) or "bilinear" (DPT).
    """

    tokens: tuple[str, ...] = ("cls_token",)
    registers: int = 0
    position_embeddings: bool = True
    interpolation: str = "on_request"
    flat_mask_token: bool = False
    position_resize: str = "bicubic"


# The fields every ViT-family config stores as given (each class keeps its own argument defaults).
VIT_FIELDS = ("hidden_size", "num_hidden_layers", "num_attention_heads", "hidden_act", "hidden_dropout_prob",
              "attention_probs_dropout_prob", "initializer_range", "layer_norm_eps", "image_size", "patch_size",
              "num_channels")  # fmt: skip


class VisionTransformerConfigMixin:
    """What the ViT-family blocks read from a config, derived once here for every framework. A config class
    overrides what differs (BEiT's biases and layer scale, DINOv2's constant drop path, ...)."""

    token_layout = TokenLayout()

    def set_vit_fields(self, arguments: dict) -> None:
        """Store VIT_FIELDS from a subclass's __init__ arguments (its `locals()`)."""
        for name in VIT_FIELDS:
            setattr(self, name, arguments[name])

    @property
    def projection_biases(self) -> tuple[bool, bool, bool]:
        """Whether query, key and value have a bias."""
        return (bool(self.qkv_bias),) * 3

    @property
    def drop_path_rates(self) -> list[float]:
        """Stochastic depth per layer (only active while training)."""
        return [0.0] * self.num_hidden_layers

    @property
    def layer_scale_init(self) -> float | None:
        """The initial value of per-channel residual scales (lambda_1 / lambda_2), or None for none."""
        return None

    @property
    def relative_position_bias(self) -> tuple[bool, bool]:
        """BEiT's relative position bias tables: (one shared by all layers, one in each layer's attention)."""
        return False, False

    def check_vision_transformer(self) -> None:
        pair(self.image_size)
        pair(self.patch_size)
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"{type(self).__name__}: hidden_size ({self.hidden_size}) is not a multiple of "
                f"num_attention_heads ({self.num_attention_heads})."
            )


def linear_drop_path_rates(rate: float, layers: int) -> list[float]:
    """Stochastic depth growing linearly from 0 to `rate` over the layers (as torch.linspace gives it)."""
    if layers == 1:
        return [0.0]
    return [float(np.float32(rate * i / (layers - 1))) for i in range(layers)]
