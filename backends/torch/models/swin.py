"""Swin Transformer in PyTorch: windowed attention with relative position bias, shifted windows, patch
merging between stages, and padding when a size is not a multiple of the window or patch."""

from __future__ import annotations

import torch
from torch import nn

from autoload import outputs as out
from autoload.models.swin import SwinConfig
from autoload.vision import window_relative_position_index

from ..activations import get_activation
from ..blocks.vision import DropPath, PixelDecoder, check_pixel_values, masked_image_loss, tokens_to_map
from ..heads import ImageClassificationModel
from ..modeling import PreTrainedModel


def window_partition(x: torch.Tensor, size: int) -> torch.Tensor:
    """[batch, H, W, C] -> [batch * windows, size, size, C]."""
    batch, height, width, channels = x.shape
    x = x.view(batch, height // size, size, width // size, size, channels)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, size, size, channels)


def window_reverse(windows: torch.Tensor, size: int, height: int, width: int) -> torch.Tensor:
    channels = windows.shape[-1]
    x = windows.view(-1, height // size, width // size, size, size, channels)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, height, width, channels)


class SwinPatchEmbeddings(nn.Module):
    def __init__(self, config: SwinConfig):
        super().__init__()
        self.patch_size = config.patch_size
        self.num_channels = config.num_channels
        self.projection = nn.Conv2d(config.num_channels, config.embed_dim, config.patch_size, config.patch_size)

    def forward(self, pixel_values):
        check_pixel_values(pixel_values, self.num_channels)
        height, width = pixel_values.shape[-2:]
        pad_w, pad_h = (-width) % self.patch_size, (-height) % self.patch_size
        if pad_w or pad_h:
            pixel_values = nn.functional.pad(pixel_values, (0, pad_w, 0, pad_h))
        embeds = self.projection(pixel_values)
        return embeds.flatten(2).transpose(1, 2), tuple(embeds.shape[-2:])


class SwinEmbeddings(nn.Module):
    def __init__(self, config: SwinConfig, use_mask_token: bool = False):
        super().__init__()
        config.check_supported()
        self.patch_embeddings = SwinPatchEmbeddings(config)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, config.embed_dim)) if use_mask_token else None
        self.norm = nn.LayerNorm(config.embed_dim)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, pixel_values, bool_masked_pos=None):
        embeds, grid = self.patch_embeddings(pixel_values)
        embeds = self.norm(embeds)
        if bool_masked_pos is not None and self.mask_token is not None:
            mask = bool_masked_pos.unsqueeze(-1).to(embeds.dtype)
            embeds = embeds * (1.0 - mask) + self.mask_token.expand_as(embeds) * mask
        return self.dropout(embeds), grid


class SwinPatchMerging(nn.Module):
    """Halve the resolution: concatenate each 2x2 neighbourhood, normalise, project 4C -> 2C."""

    def __init__(self, dim: int):
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, hidden, grid):
        height, width = grid
        batch, _, channels = hidden.shape
        hidden = hidden.view(batch, height, width, channels)
        if height % 2 or width % 2:
            hidden = nn.functional.pad(hidden, (0, 0, 0, width % 2, 0, height % 2))
        quads = [hidden[:, 0::2, 0::2], hidden[:, 1::2, 0::2], hidden[:, 0::2, 1::2], hidden[:, 1::2, 1::2]]
        hidden = torch.cat(quads, -1).view(batch, -1, 4 * channels)
        return self.reduction(self.norm(hidden))


class SwinSelfAttention(nn.Module):
    def __init__(self, config: SwinConfig, dim: int, num_heads: int):
        super().__init__()
        size = config.window_size
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * size - 1) ** 2, num_heads))
        index = torch.from_numpy(window_relative_position_index(size, size))
        self.register_buffer("relative_position_index", index)
        self.query = nn.Linear(dim, dim, bias=config.qkv_bias)
        self.key = nn.Linear(dim, dim, bias=config.qkv_bias)
        self.value = nn.Linear(dim, dim, bias=config.qkv_bias)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def _heads(self, x):
        return x.view(x.shape[0], x.shape[1], self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, hidden, mask=None):
        windows, length, _ = hidden.shape
        q, k, v = self._heads(self.query(hidden)), self._heads(self.key(hidden)), self._heads(self.value(hidden))
        scores = q @ k.transpose(-1, -2) / self.head_dim**0.5
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        scores = scores + bias.view(length, length, -1).permute(2, 0, 1).unsqueeze(0)
        if mask is not None:
            count = mask.shape[0]
            scores = scores.view(windows // count, count, self.num_heads, length, length) + mask[None, :, None]
            scores = scores.view(-1, self.num_heads, length, length)
        probs = self.dropout(scores.softmax(-1))
        return (probs @ v).transpose(1, 2).reshape(hidden.shape), probs


class SwinSelfOutput(nn.Module):
    def __init__(self, config: SwinConfig, dim: int):
        super().__init__()
        self.dense = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def forward(self, hidden):
        return self.dropout(self.dense(hidden))


class SwinAttention(nn.Module):
    def __init__(self, config: SwinConfig, dim: int, num_heads: int):
        super().__init__()
        self.self = SwinSelfAttention(config, dim, num_heads)
        self.output = SwinSelfOutput(config, dim)

    def forward(self, hidden, mask=None):
        context, probs = self.self(hidden, mask)
        return self.output(context), probs


class SwinIntermediate(nn.Module):
    def __init__(self, config: SwinConfig, dim: int):
        super().__init__()
        self.dense = nn.Linear(dim, int(config.mlp_ratio * dim))
        self.act = get_activation(config.hidden_act)

    def forward(self, hidden):
        return self.act(self.dense(hidden))


class SwinOutput(nn.Module):
    def __init__(self, config: SwinConfig, dim: int):
        super().__init__()
        self.dense = nn.Linear(int(config.mlp_ratio * dim), dim)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden):
        return self.dropout(self.dense(hidden))


def shifted_window_mask(height: int, width: int, size: int, shift: int, dtype) -> torch.Tensor:
    """[windows, size*size, size*size] additive mask keeping attention inside the regions a shift joined."""
    regions = torch.zeros(1, height, width, 1)
    bounds = (slice(0, -size), slice(-size, -shift), slice(-shift, None))
    label = 0
    for rows in bounds:
        for cols in bounds:
            regions[:, rows, cols, :] = label
            label += 1
    labels = window_partition(regions, size).reshape(-1, size * size)
    differs = labels[:, None, :] != labels[:, :, None]
    return torch.zeros(differs.shape, dtype=dtype).masked_fill(differs, -100.0)


class SwinLayer(nn.Module):
    def __init__(self, config: SwinConfig, dim: int, num_heads: int, drop_path: float, shift_size: int):
        super().__init__()
        self.window_size = config.window_size
        self.shift_size = shift_size
        self.layernorm_before = nn.LayerNorm(dim, eps=config.layer_norm_eps)
        self.attention = SwinAttention(config, dim, num_heads)
        self.drop_path = DropPath(drop_path)
        self.layernorm_after = nn.LayerNorm(dim, eps=config.layer_norm_eps)
        self.intermediate = SwinIntermediate(config, dim)
        self.output = SwinOutput(config, dim)

    def forward(self, hidden, grid, always_partition=False):
        height, width = grid
        size, shift = self.window_size, self.shift_size
        if not always_partition and min(grid) <= size:  # the whole map fits in one window: no shift
            size, shift = min(grid), 0
            if size < self.window_size:
                raise ValueError(
                    f"Swin: a {height}x{width} map is smaller than window_size ({self.window_size}), so the relative "
                    "position table does not fit (transformers 4.57.6 fails here too); use larger images or a smaller "
                    "window_size."
                )
        batch, _, channels = hidden.shape
        shortcut = hidden
        hidden = self.layernorm_before(hidden).view(batch, height, width, channels)
        pad_w, pad_h = (-width) % size, (-height) % size
        hidden = nn.functional.pad(hidden, (0, 0, 0, pad_w, 0, pad_h))
        padded_h, padded_w = hidden.shape[1:3]
        if shift:
            hidden = torch.roll(hidden, (-shift, -shift), dims=(1, 2))
        mask = shifted_window_mask(padded_h, padded_w, size, shift, hidden.dtype).to(hidden.device) if shift else None
        windows = window_partition(hidden, size).reshape(-1, size * size, channels)
        attended, probs = self.attention(windows, mask)
        hidden = window_reverse(attended.view(-1, size, size, channels), size, padded_h, padded_w)
        if shift:
            hidden = torch.roll(hidden, (shift, shift), dims=(1, 2))
        hidden = hidden[:, :height, :width].reshape(batch, height * width, channels)
        hidden = shortcut + self.drop_path(hidden)
        return hidden + self.output(self.intermediate(self.layernorm_after(hidden))), probs


class SwinStage(nn.Module):
    def __init__(self, config: SwinConfig, dim: int, depth: int, num_heads: int, drop_path: list[float],
                 downsample: bool):  # fmt: skip
        super().__init__()
        shifts = [0 if i % 2 == 0 else config.window_size // 2 for i in range(depth)]
        self.blocks = nn.ModuleList(SwinLayer(config, dim, num_heads, drop_path[i], shifts[i]) for i in range(depth))
        self.downsample = SwinPatchMerging(dim) if downsample else None

    def forward(self, hidden, grid, always_partition=False):
        """(output, output before patch merging, next grid, the last block's attention probabilities)."""
        for block in self.blocks:
            hidden, probs = block(hidden, grid, always_partition)
        before = hidden
        if self.downsample is None:
            return hidden, before, grid, probs
        return self.downsample(before, grid), before, ((grid[0] + 1) // 2, (grid[1] + 1) // 2), probs


class SwinEncoder(nn.Module):
    def __init__(self, config: SwinConfig):
        super().__init__()
        rates = torch.linspace(0, config.drop_path_rate, sum(config.depths)).tolist()
        stages, start = [], 0
        for i, depth in enumerate(config.depths):
            stages.append(SwinStage(config, int(config.embed_dim * 2**i), depth, config.num_heads[i],
                                    rates[start : start + depth], downsample=i < len(config.depths) - 1))  # fmt: skip
            start += depth
        self.layers = nn.ModuleList(stages)

    def forward(self, hidden, grid, before_downsampling=False, always_partition=False):
        """(last hidden, hidden states, reshaped [batch, C, H, W] hidden states, attentions: per stage, its last
        block's)."""
        states, maps, attentions = (hidden,), (tokens_to_map(hidden, *grid),), ()
        for stage in self.layers:
            hidden, before, next_grid, probs = stage(hidden, grid, always_partition)
            if before_downsampling:
                states, maps = states + (before,), maps + (tokens_to_map(before, *grid),)
            else:
                states, maps = states + (hidden,), maps + (tokens_to_map(hidden, *next_grid),)
            attentions += (probs,)
            grid = next_grid
        return hidden, states, maps, attentions


class SwinPreTrainedModel(PreTrainedModel):
    config_class = SwinConfig
    base_model_prefix = "swin"
    main_input_name = "pixel_values"

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, nn.Conv2d):
            nn.init.normal_(module.weight, std=self.config.initializer_range)
            nn.init.zeros_(module.bias)
        elif isinstance(module, SwinSelfAttention):
            nn.init.zeros_(module.relative_position_bias_table)
        elif isinstance(module, SwinEmbeddings) and module.mask_token is not None:
            nn.init.zeros_(module.mask_token)


class SwinModel(SwinPreTrainedModel):
    def __init__(self, config: SwinConfig, add_pooling_layer: bool = True, use_mask_token: bool = False):
        super().__init__(config)
        self.embeddings = SwinEmbeddings(config, use_mask_token)
        self.encoder = SwinEncoder(config)
        self.layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.pooler = nn.AdaptiveAvgPool1d(1) if add_pooling_layer else None

    def get_input_embeddings(self):
        return self.embeddings.patch_embeddings

    def forward(self, pixel_values=None, bool_masked_pos=None, output_attentions=None, output_hidden_states=None,
                return_dict=None, **kwargs):  # fmt: skip
        embeds, grid = self.embeddings(pixel_values, bool_masked_pos)
        hidden, states, maps, attentions = self.encoder(embeds, grid)
        hidden = self.layernorm(hidden)
        pooled = self.pooler(hidden.transpose(1, 2)).flatten(1) if self.pooler is not None else None
        keep = self._flag(output_hidden_states, "output_hidden_states")
        result = out.SwinModelOutput(
            last_hidden_state=hidden, pooler_output=pooled, hidden_states=states if keep else None,
            attentions=attentions if self._flag(output_attentions, "output_attentions") else None,
            reshaped_hidden_states=maps if keep else None,
        )  # fmt: skip
        return self._finish(result, return_dict)


class SwinForImageClassification(ImageClassificationModel, SwinPreTrainedModel):
    base_class = SwinModel
    output_class = out.SwinImageClassifierOutput


class SwinForMaskedImageModeling(SwinPreTrainedModel):
    def __init__(self, config: SwinConfig):
        super().__init__(config)
        self.swin = SwinModel(config, add_pooling_layer=False, use_mask_token=True)
        self.decoder = PixelDecoder(config.hidden_size, config.encoder_stride, config.num_channels)

    def forward(self, pixel_values=None, bool_masked_pos=None, return_dict=None, **kwargs):
        encoded = self.swin(pixel_values, bool_masked_pos=bool_masked_pos, return_dict=True, **kwargs)
        hidden = encoded.last_hidden_state
        side = int(hidden.shape[1] ** 0.5)
        reconstruction = self.decoder(tokens_to_map(hidden, side, side))
        loss = None
        if bool_masked_pos is not None:
            loss = masked_image_loss(pixel_values, reconstruction, bool_masked_pos, self.config)
        result = out.from_encoded(out.SwinMaskedImageModelingOutput, encoded, loss=loss, reconstruction=reconstruction)
        return self._finish(result, return_dict)


class SwinBackbone(SwinPreTrainedModel):
    """Feature maps (channels-first, layer-normalised) of the stages named by out_features, taken before
    each stage's patch merging."""

    def __init__(self, config: SwinConfig):
        super().__init__(config)
        self.num_features = [config.embed_dim] + [int(config.embed_dim * 2**i) for i in range(len(config.depths))]
        self.embeddings = SwinEmbeddings(config)
        self.encoder = SwinEncoder(config)
        self.hidden_states_norms = nn.ModuleDict(
            {stage: nn.LayerNorm(self.num_features[i]) for stage, i in zip(config.out_features, config.out_indices)}
        )

    @property
    def channels(self) -> list[int]:
        return [self.num_features[i] for i in self.config.out_indices]

    def forward(self, pixel_values=None, output_hidden_states=None, output_attentions=None, return_dict=None,
                **kwargs):  # fmt: skip
        embeds, grid = self.embeddings(pixel_values)
        _, states, maps, attentions = self.encoder(embeds, grid, before_downsampling=True, always_partition=True)
        features = []
        for stage, i in zip(self.config.out_features, self.config.out_indices):
            normed = self.hidden_states_norms[stage](maps[i].permute(0, 2, 3, 1))
            features.append(normed.permute(0, 3, 1, 2).contiguous())
        result = out.BackboneOutput(
            feature_maps=tuple(features),
            hidden_states=states if self._flag(output_hidden_states, "output_hidden_states") else None,
            attentions=attentions if self._flag(output_attentions, "output_attentions") else None,
        )
        return self._finish(result, return_dict)
