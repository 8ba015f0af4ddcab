"""Swin2SR in PyTorch: a shallow convolution, residual groups of Swin v2 layers (scaled cosine attention in
shifted windows, a continuous relative position bias from a small MLP, post-norm residuals), a convolution after
the body, and the upsamplers (pixel shuffle, its auxiliary variant, one-step, nearest + conv, or a residual
convolution for restoration at the input's size)."""

from __future__ import annotations

import math

import torch
from torch import nn

from autoload import outputs as out
from autoload.models.swin2sr import Swin2SRConfig, continuous_position_coords
from autoload.vision import window_relative_position_index

from ..activations import get_activation
from ..blocks.vision import check_pixel_values
from ..modeling import PreTrainedModel
from .swin import shifted_window_mask, window_partition, window_reverse

_MAX_LOGIT_SCALE = math.log(1.0 / 0.01)


def check_window_multiple(height: int, width: int, config: Swin2SRConfig) -> None:
    size = config.window_size
    if height % size or width % size:
        raise ValueError(
            f"Swin2SR needs an image whose height and width are multiples of window_size ({size}); got {height}x{width} "
            "(transformers 4.57.6 fails on others too). Swin2SRImageProcessor pads images (do_pad, size_divisor)."
        )


def stage_head_masks(head_mask, stages: int, depths: list[int]):
    """transformers' head_mask for Swin2SR: one [heads] mask per stage, which only the stage's first layer can read
    (it indexes the stage's mask by layer); None per stage without one."""
    if head_mask is None:
        return [None] * stages
    head_mask = torch.as_tensor(head_mask)
    if head_mask.ndim == 1:
        head_mask = head_mask[None].expand(stages, -1)
    for depth in depths:
        if depth > 1:
            raise ValueError(
                "Swin2SR applies a head_mask only in stages of one layer (transformers 4.57.6 indexes each stage's "
                "mask by layer and fails on the second); this config has depths "
                f"{depths}."
            )
    return [m[None, :, None, None] for m in head_mask]


class Swin2SRPatchEmbeddings(nn.Module):
    """A patch_size convolution (`projection`) to tokens, normalised (`layernorm`) in the embeddings only."""

    def __init__(self, config: Swin2SRConfig, normalize_patches: bool = True):
        super().__init__()
        self.projection = nn.Conv2d(config.embed_dim, config.embed_dim, config.patch_size, config.patch_size)
        self.layernorm = nn.LayerNorm(config.embed_dim) if normalize_patches else None

    def forward(self, x):
        x = self.projection(x)
        tokens = x.flatten(2).transpose(1, 2)
        return (self.layernorm(tokens) if self.layernorm is not None else tokens), tuple(x.shape[-2:])


class Swin2SREmbeddings(nn.Module):
    def __init__(self, config: Swin2SRConfig):
        super().__init__()
        self.patch_embeddings = Swin2SRPatchEmbeddings(config)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, x):
        tokens, grid = self.patch_embeddings(x)
        return self.dropout(tokens), grid


class Swin2SRSelfAttention(nn.Module):
    """Cosine similarity of queries and keys times a learned per-head scale (`logit_scale`, capped at 100), plus
    16 * sigmoid of the position bias the MLP (`continuous_position_bias_mlp`) gives every offset in the window."""

    def __init__(self, config: Swin2SRConfig, num_heads: int, window: int):
        super().__init__()
        dim = config.embed_dim
        self.num_heads, self.head_dim, self.window = num_heads, dim // num_heads, window
        self.logit_scale = nn.Parameter(torch.log(10 * torch.ones((num_heads, 1, 1))))
        self.continuous_position_bias_mlp = nn.Sequential(nn.Linear(2, 512), nn.ReLU(), nn.Linear(512, num_heads, bias=False))
        self.register_buffer("relative_coords_table", torch.from_numpy(continuous_position_coords(window)), persistent=False)
        index = torch.from_numpy(window_relative_position_index(window, window))
        self.register_buffer("relative_position_index", index.reshape(-1), persistent=False)
        self.query = nn.Linear(dim, dim, bias=config.qkv_bias)
        self.key = nn.Linear(dim, dim, bias=False)
        self.value = nn.Linear(dim, dim, bias=config.qkv_bias)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def _heads(self, x):
        return x.view(x.shape[0], x.shape[1], self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, hidden, mask=None, head_mask=None):
        windows, length, _ = hidden.shape
        q, k, v = self._heads(self.query(hidden)), self._heads(self.key(hidden)), self._heads(self.value(hidden))
        scores = nn.functional.normalize(q, dim=-1) @ nn.functional.normalize(k, dim=-1).transpose(-2, -1)
        scores = scores * torch.clamp(self.logit_scale, max=_MAX_LOGIT_SCALE).exp()
        table = self.continuous_position_bias_mlp(self.relative_coords_table)
        bias = table[self.relative_position_index].view(length, length, -1).permute(2, 0, 1)
        scores = scores + 16 * torch.sigmoid(bias)[None]
        if mask is not None:  # transformers adds the shifted-window mask twice
            count = mask.shape[0]
            scores = scores.view(windows // count, count, self.num_heads, length, length) + 2 * mask[None, :, None]
            scores = scores.view(-1, self.num_heads, length, length)
        probs = self.dropout(scores.softmax(-1))
        if head_mask is not None:
            probs = probs * head_mask
        return (probs @ v).transpose(1, 2).reshape(hidden.shape), probs


class Swin2SRSelfOutput(nn.Module):
    def __init__(self, config: Swin2SRConfig):
        super().__init__()
        self.dense = nn.Linear(config.embed_dim, config.embed_dim)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def forward(self, hidden):
        return self.dropout(self.dense(hidden))


class Swin2SRAttention(nn.Module):
    def __init__(self, config: Swin2SRConfig, num_heads: int, window: int):
        super().__init__()
        self.self = Swin2SRSelfAttention(config, num_heads, window)
        self.output = Swin2SRSelfOutput(config)

    def forward(self, hidden, mask=None, head_mask=None):
        context, probs = self.self(hidden, mask, head_mask)
        return self.output(context), probs


class Swin2SRIntermediate(nn.Module):
    def __init__(self, config: Swin2SRConfig):
        super().__init__()
        self.dense = nn.Linear(config.embed_dim, int(config.mlp_ratio * config.embed_dim))
        self.act = get_activation(config.hidden_act)

    def forward(self, hidden):
        return self.act(self.dense(hidden))


class Swin2SROutput(nn.Module):
    def __init__(self, config: Swin2SRConfig):
        super().__init__()
        self.dense = nn.Linear(int(config.mlp_ratio * config.embed_dim), config.embed_dim)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden):
        return self.dropout(self.dense(hidden))


class Swin2SRLayer(nn.Module):
    """Windowed attention (shifted on odd layers) -> layernorm_before -> +; MLP -> layernorm_after -> +."""

    def __init__(self, config: Swin2SRConfig, num_heads: int, shift: int):
        super().__init__()
        options = config.swin2sr_options()
        self.window, self.shift = options.window, shift
        self.attention = Swin2SRAttention(config, num_heads, self.window)
        self.layernorm_before = nn.LayerNorm(config.embed_dim, eps=config.layer_norm_eps)
        self.intermediate = Swin2SRIntermediate(config)
        self.output = Swin2SROutput(config)
        self.layernorm_after = nn.LayerNorm(config.embed_dim, eps=config.layer_norm_eps)

    def forward(self, hidden, grid, head_mask=None):
        height, width = grid
        size, shift = self.window, self.shift
        batch, _, channels = hidden.shape
        shortcut = hidden
        x = nn.functional.pad(hidden.view(batch, height, width, channels), (0, 0, 0, (-width) % size, 0, (-height) % size))
        padded_h, padded_w = x.shape[1:3]
        if shift:
            x = torch.roll(x, (-shift, -shift), dims=(1, 2))
        mask = shifted_window_mask(padded_h, padded_w, size, shift, x.dtype).to(x.device) if shift else None
        attended, probs = self.attention(window_partition(x, size).view(-1, size * size, channels), mask, head_mask)
        x = window_reverse(attended.view(-1, size, size, channels), size, padded_h, padded_w)
        if shift:
            x = torch.roll(x, (shift, shift), dims=(1, 2))
        x = x[:, :height, :width].reshape(batch, height * width, channels)
        hidden = shortcut + self.layernorm_before(x)
        return hidden + self.layernorm_after(self.output(self.intermediate(hidden))), probs


class Swin2SRStage(nn.Module):
    """The layers, then back to a map, a convolution (`conv`: one 3x3, or the 3-convolution bottleneck), back to
    tokens through `patch_embed`, plus the stage's input."""

    def __init__(self, config: Swin2SRConfig, depth: int, num_heads: int):
        super().__init__()
        shift = config.swin2sr_options().shift
        self.layers = nn.ModuleList(Swin2SRLayer(config, num_heads, 0 if i % 2 == 0 else shift) for i in range(depth))
        dim = config.embed_dim
        if config.resi_connection == "1conv":
            self.conv = nn.Conv2d(dim, dim, 3, 1, 1)
        else:
            self.conv = nn.Sequential(nn.Conv2d(dim, dim // 4, 3, 1, 1), nn.LeakyReLU(0.2), nn.Conv2d(dim // 4, dim // 4, 1),
                                      nn.LeakyReLU(0.2), nn.Conv2d(dim // 4, dim, 3, 1, 1))  # fmt: skip
        self.patch_embed = Swin2SRPatchEmbeddings(config, normalize_patches=False)

    def forward(self, hidden, grid, head_mask=None):
        residual, probs = hidden, None
        for i, layer in enumerate(self.layers):
            hidden, probs = layer(hidden, grid, head_mask if i == 0 else None)
        x = self.conv(hidden.transpose(1, 2).reshape(hidden.shape[0], -1, *grid))
        return self.patch_embed(x)[0] + residual, probs


class Swin2SREncoder(nn.Module):
    def __init__(self, config: Swin2SRConfig):
        super().__init__()
        self.stages = nn.ModuleList(Swin2SRStage(config, depth, heads) for depth, heads in zip(config.depths, config.num_heads))

    def forward(self, hidden, grid, head_masks):
        """(last hidden, every hidden state from the input on, each stage's last layer's attention)."""
        states, attentions = (hidden,), ()
        for stage, mask in zip(self.stages, head_masks):
            hidden, probs = stage(hidden, grid, mask)
            states += (hidden,)
            attentions += (probs,)
        return hidden, states, attentions


class Swin2SRPreTrainedModel(PreTrainedModel):
    config_class = Swin2SRConfig
    base_model_prefix = "swin2sr"
    main_input_name = "pixel_values"

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            nn.init.trunc_normal_(module.weight, std=self.config.initializer_range)
            if module.bias is not None:
                nn.init.zeros_(module.bias)


class Swin2SRModel(Swin2SRPreTrainedModel):
    def __init__(self, config: Swin2SRConfig):
        super().__init__(config)
        options = config.swin2sr_options()
        self.register_buffer("mean", torch.tensor(options.mean).view(1, -1, 1, 1), persistent=False)
        self.img_range = config.img_range
        self.first_convolution = nn.Conv2d(config.num_channels, config.embed_dim, 3, 1, 1)
        self.embeddings = Swin2SREmbeddings(config)
        self.encoder = Swin2SREncoder(config)
        self.layernorm = nn.LayerNorm(config.embed_dim, eps=config.layer_norm_eps)
        self.conv_after_body = nn.Conv2d(config.embed_dim, config.embed_dim, 3, 1, 1)

    def get_input_embeddings(self):
        return self.embeddings.patch_embeddings

    def forward(self, pixel_values=None, head_mask=None, output_attentions=None, output_hidden_states=None,
                return_dict=None, **kwargs):  # fmt: skip
        check_pixel_values(pixel_values, self.config.num_channels)
        height, width = pixel_values.shape[-2:]
        check_window_multiple(height, width, self.config)
        x = (pixel_values - self.mean.to(pixel_values.dtype)) * self.img_range
        shallow = self.first_convolution(x)
        hidden, grid = self.embeddings(shallow)
        masks = stage_head_masks(head_mask, len(self.config.depths), self.config.depths)
        hidden, states, attentions = self.encoder(hidden, grid, masks)
        hidden = self.layernorm(hidden)
        deep = self.conv_after_body(hidden.transpose(1, 2).reshape(hidden.shape[0], -1, height, width)) + shallow
        result = out.BaseModelOutput(
            last_hidden_state=deep, hidden_states=states if self._flag(output_hidden_states, "output_hidden_states") else None,
            attentions=attentions if self._flag(output_attentions, "output_attentions") else None,
        )  # fmt: skip
        return self._finish(result, return_dict)


def leaky_relu(x, slope: float = 0.01):
    return nn.functional.leaky_relu(x, slope)


class Upsample(nn.Module):
    """Pixel-shuffle steps: `convolution_<i>` (x4 channels) + shuffle by 2 per factor of 2, or one
    `convolution` (x9) + shuffle by 3."""

    def __init__(self, steps: tuple[str, ...], features: int):
        super().__init__()
        self.steps = steps
        if steps == ("x3",):
            self.convolution = nn.Conv2d(features, 9 * features, 3, 1, 1)
        for i in range(len(steps) if steps != ("x3",) else 0):
            self.add_module(f"convolution_{i}", nn.Conv2d(features, 4 * features, 3, 1, 1))

    def forward(self, x):
        if self.steps == ("x3",):
            return nn.functional.pixel_shuffle(self.convolution(x), 3)
        for i in range(len(self.steps)):
            x = nn.functional.pixel_shuffle(getattr(self, f"convolution_{i}")(x), 2)
        return x


class UpsampleOneStep(nn.Module):
    """One convolution to scale**2 * channels and one pixel shuffle (`conv`)."""

    def __init__(self, config: Swin2SRConfig):
        super().__init__()
        self.scale = config.upscale
        self.conv = nn.Conv2d(config.embed_dim, self.scale**2 * config.num_channels_out, 3, 1, 1)

    def forward(self, x):
        return nn.functional.pixel_shuffle(self.conv(x), self.scale)


class PixelShuffleUpsampler(nn.Module):
    def __init__(self, config: Swin2SRConfig, features: int = 64):
        super().__init__()
        self.conv_before_upsample = nn.Conv2d(config.embed_dim, features, 3, 1, 1)
        self.upsample = Upsample(config.swin2sr_options().upsample_steps, features)
        self.final_convolution = nn.Conv2d(features, config.num_channels_out, 3, 1, 1)

    def forward(self, x):
        return self.final_convolution(self.upsample(leaky_relu(self.conv_before_upsample(x))))


class NearestConvUpsampler(nn.Module):
    """x4 by two nearest-neighbour doublings, each followed by a convolution and a leaky ReLU (slope 0.2)."""

    def __init__(self, config: Swin2SRConfig, features: int = 64):
        super().__init__()
        self.conv_before_upsample = nn.Conv2d(config.embed_dim, features, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(features, features, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(features, features, 3, 1, 1)
        self.conv_hr = nn.Conv2d(features, features, 3, 1, 1)
        self.final_convolution = nn.Conv2d(features, config.num_channels_out, 3, 1, 1)

    def forward(self, x):
        x = leaky_relu(self.conv_before_upsample(x))
        x = leaky_relu(self.conv_up1(nn.functional.interpolate(x, scale_factor=2, mode="nearest")), 0.2)
        x = leaky_relu(self.conv_up2(nn.functional.interpolate(x, scale_factor=2, mode="nearest")), 0.2)
        return self.final_convolution(leaky_relu(self.conv_hr(x), 0.2))


class PixelShuffleAuxUpsampler(nn.Module):
    """The pixel-shuffle upsampler through an auxiliary 3-channel image, plus the bicubic upscaling of the input."""

    def __init__(self, config: Swin2SRConfig, features: int = 64):
        super().__init__()
        self.upscale = config.upscale
        self.conv_bicubic = nn.Conv2d(config.num_channels, features, 3, 1, 1)
        self.conv_before_upsample = nn.Conv2d(config.embed_dim, features, 3, 1, 1)
        self.conv_aux = nn.Conv2d(features, config.num_channels, 3, 1, 1)
        self.conv_after_aux = nn.Sequential(nn.Conv2d(3, features, 3, 1, 1), nn.LeakyReLU())
        self.upsample = Upsample(config.swin2sr_options().upsample_steps, features)
        self.final_convolution = nn.Conv2d(features, config.num_channels_out, 3, 1, 1)

    def forward(self, x, bicubic, height, width):
        bicubic = self.conv_bicubic(bicubic)
        x = self.conv_after_aux(self.conv_aux(leaky_relu(self.conv_before_upsample(x))))
        rows, cols = height * self.upscale, width * self.upscale
        return self.final_convolution(self.upsample(x)[:, :, :rows, :cols] + bicubic[:, :, :rows, :cols])


class Swin2SRForImageSuperResolution(Swin2SRPreTrainedModel):
    def __init__(self, config: Swin2SRConfig):
        super().__init__(config)
        self.swin2sr = Swin2SRModel(config)
        self.upsampler = config.swin2sr_options().upsampler
        self.upscale = config.upscale
        if self.upsampler == "pixelshuffle":
            self.upsample = PixelShuffleUpsampler(config)
        elif self.upsampler == "pixelshuffle_aux":
            self.upsample = PixelShuffleAuxUpsampler(config)
        elif self.upsampler == "pixelshuffledirect":
            self.upsample = UpsampleOneStep(config)
        elif self.upsampler == "nearest+conv":
            self.upsample = NearestConvUpsampler(config)
        else:
            self.final_convolution = nn.Conv2d(config.embed_dim, config.num_channels_out, 3, 1, 1)

    def forward(self, pixel_values=None, head_mask=None, labels=None, output_attentions=None, output_hidden_states=None,
                return_dict=None, **kwargs):  # fmt: skip
        if labels is not None:
            raise NotImplementedError("Training is not supported at the moment")
        encoded = self.swin2sr(pixel_values, head_mask=head_mask, output_attentions=output_attentions,
                               output_hidden_states=output_hidden_states, return_dict=True)  # fmt: skip
        height, width = pixel_values.shape[-2:]
        hidden = encoded.last_hidden_state
        if self.upsampler == "pixelshuffle_aux":
            bicubic = nn.functional.interpolate(pixel_values, size=(height * self.upscale, width * self.upscale),
                                                mode="bicubic", align_corners=False)  # fmt: skip
            reconstruction = self.upsample(hidden, bicubic, height, width)
        elif self.upsampler == "residual":
            reconstruction = pixel_values + self.final_convolution(hidden)
        else:
            reconstruction = self.upsample(hidden)
        base = self.swin2sr
        reconstruction = reconstruction / base.img_range + base.mean.to(reconstruction.dtype)
        reconstruction = reconstruction[:, :, : height * self.upscale, : width * self.upscale]
        result = out.ImageSuperResolutionOutput(reconstruction=reconstruction, hidden_states=encoded.hidden_states,
                                                attentions=encoded.attentions)  # fmt: skip
        return self._finish(result, return_dict)
