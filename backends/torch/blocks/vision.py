"""Vision building blocks in PyTorch, parameterised by config; attribute names are the checkpoint names.

- Patch embeddings with learned tokens (class, distillation, registers), a mask token and position
  embeddings that can be resized to other image sizes (`ViTEmbeddings`, laid out by the config's
  `token_layout`).
- The pre-norm ViT encoder layer in ViT's naming (`attention.attention.{query,key,value}`,
  `attention.output.dense`, `intermediate.dense`, `output.dense`, `layernorm_before/after`) with the
  config's q/k/v biases, layer scale (`lambda_1/2`), drop path and BEiT's relative position bias.
- The CLIP-style pre-norm layer (`self_attn.{q,k,v,out}_proj`, `layer_norm1/2`, `mlp.fc1/fc2`).
- Convolution pieces shared by the convolutional models and heads: channels-first LayerNorm, drop path,
  conv + BatchNorm + ReLU, the masked-image-modeling pixel decoder.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from autoload.vision import bicubic_matrix, bilinear_matrix, pair, window_relative_position_index

from ..activations import get_activation


def check_pixel_values(pixel_values: torch.Tensor, num_channels: int) -> None:
    if pixel_values is None:
        raise ValueError("You have to specify pixel_values.")
    if pixel_values.ndim != 4 or pixel_values.shape[1] != num_channels:
        raise ValueError(
            f"pixel_values must have shape [batch, {num_channels}, height, width]; got {tuple(pixel_values.shape)}. "
            "Images are channels-first (use the image processor's output)."
        )


def config_flag(config, value, name: str):
    """A call's output flag, else the config's setting of the same name."""
    return getattr(config, name) if value is None else value


def resize_grid(table: torch.Tensor, rows: int, cols: int, kind: str = "bicubic") -> torch.Tensor:
    """Resize a [height, width, channels] grid as torch.nn.functional.interpolate does (align_corners=False),
    through the same matrices the TF and Flax backends use."""
    make = bicubic_matrix if kind == "bicubic" else bilinear_matrix
    height, width = table.shape[:2]
    if (height, width) == (rows, cols):
        return table
    left = torch.from_numpy(make(height, rows)).to(table)
    right = torch.from_numpy(make(width, cols)).to(table)
    return torch.einsum("rh,hwc,sw->rsc", left, table, right)


def per_layer_head_mask(head_mask, layers: int):
    """transformers' head_mask ([heads] or [layers, heads], 1 keeps a head) as one [1, heads, 1, 1] factor per
    layer, or Nones."""
    if head_mask is None:
        return [None] * layers
    head_mask = torch.as_tensor(head_mask)
    if head_mask.ndim == 1:
        head_mask = head_mask[None].expand(layers, -1)
    return [m[None, :, None, None] for m in head_mask]


class DropPath(nn.Module):
    """Stochastic depth: drop whole residual branches per sample while training; identity in eval."""

    def __init__(self, rate: float = 0.0):
        super().__init__()
        self.rate = rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.rate == 0.0 or not self.training:
            return x
        keep = 1.0 - self.rate
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep


class ChannelsFirstLayerNorm(nn.Module):
    """LayerNorm over the channel axis of [batch, channels, height, width] maps (statistics in float32)."""

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        x = x.float()
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        x = ((x - mean) / torch.sqrt(var + self.eps)).to(dtype)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class ConvBatchNormReLU(nn.Module):
    """conv (no bias) -> BatchNorm -> ReLU, named conv / bn as in the UperNet and FCN segmentation heads."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, padding: int = 0, dilation: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding, bias=False, dilation=dilation)
        self.bn = nn.BatchNorm2d(out_channels)
        self.activation = nn.ReLU()

    def forward(self, x):
        return self.activation(self.bn(self.conv(x)))


class PixelDecoder(nn.Sequential):
    """SimMIM's decoder: a 1x1 conv to stride**2 * channels values per position, then a pixel shuffle
    (`decoder.0` holds the conv)."""

    def __init__(self, in_channels: int, stride: int, num_channels: int):
        super().__init__(nn.Conv2d(in_channels, stride**2 * num_channels, kernel_size=1), nn.PixelShuffle(stride))


def masked_image_loss(pixel_values, reconstruction, bool_masked_pos, config) -> torch.Tensor:
    """Mean L1 error of the reconstruction over masked patches, per channel (SimMIM's loss)."""
    size, patch = config.image_size // config.patch_size, config.patch_size
    mask = bool_masked_pos.reshape(-1, size, size).repeat_interleave(patch, 1).repeat_interleave(patch, 2)
    mask = mask.unsqueeze(1).to(reconstruction.dtype)
    l1 = nn.functional.l1_loss(pixel_values, reconstruction, reduction="none")
    return (l1 * mask).sum() / (mask.sum() + 1e-5) / config.num_channels


def check_mim_stride(config, bool_masked_pos) -> None:
    if bool_masked_pos is not None and config.patch_size != config.encoder_stride:
        raise ValueError(
            "When bool_masked_pos is given, patch_size must equal encoder_stride so the reconstruction has the "
            f"input's size; got patch_size={config.patch_size} and encoder_stride={config.encoder_stride}."
        )


def tokens_to_map(tokens: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """[batch, rows*cols, channels] -> [batch, channels, rows, cols]."""
    return tokens.transpose(1, 2).reshape(tokens.shape[0], tokens.shape[-1], rows, cols)


# -- ViT-style token embeddings ------------------------------------------------------------------------------
class PatchEmbeddings(nn.Module):
    """Non-overlapping patches projected by one strided conv (`projection`): [b, c, h, w] -> [b, n, hidden]."""

    def __init__(self, config, check_size: bool = True):
        super().__init__()
        self.num_channels = config.num_channels
        self.image_size, self.patch_size = pair(config.image_size), pair(config.patch_size)
        self.num_patches = (self.image_size[0] // self.patch_size[0]) * (self.image_size[1] // self.patch_size[1])
        self.check_size = check_size
        self.projection = nn.Conv2d(config.num_channels, config.hidden_size, self.patch_size, self.patch_size)

    def forward(self, pixel_values, interpolate_pos_encoding: bool = False):
        check_pixel_values(pixel_values, self.num_channels)
        if self.check_size and not interpolate_pos_encoding and tuple(pixel_values.shape[-2:]) != self.image_size:
            raise ValueError(
                f"Input image size ({pixel_values.shape[-2]}*{pixel_values.shape[-1]}) doesn't match the model "
                f"({self.image_size[0]}*{self.image_size[1]}); resize it or pass interpolate_pos_encoding=True."
            )
        embeds = self.projection(pixel_values.to(self.projection.weight.dtype))
        return embeds.flatten(2).transpose(1, 2), tuple(embeds.shape[-2:])


class ViTEmbeddings(nn.Module):
    """Learned tokens + patch embeddings (+ position embeddings), as the config's token_layout says."""

    def __init__(self, config, use_mask_token: bool = False):
        super().__init__()
        layout = config.token_layout
        self.layout = layout
        self.patch_size = pair(config.patch_size)
        size = config.hidden_size
        for name in layout.tokens:
            self.register_parameter(name, nn.Parameter(torch.zeros(1, 1, size)))
        shape = (1, size) if layout.flat_mask_token else (1, 1, size)
        self.mask_token = nn.Parameter(torch.zeros(shape)) if use_mask_token else None
        self.patch_embeddings = PatchEmbeddings(config, check_size=layout.interpolation == "on_request")
        count = self.patch_embeddings.num_patches + len(layout.tokens)
        if layout.position_embeddings:
            self.position_embeddings = nn.Parameter(torch.zeros(1, count, size))
        else:
            self.position_embeddings = None
        if layout.registers:
            self.register_tokens = nn.Parameter(torch.zeros(1, layout.registers, size))
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def positions_for(self, height: int, width: int) -> torch.Tensor:
        """The position table resized (bicubic) for an image of another size; unchanged for the same size."""
        table, leading = self.position_embeddings, len(self.layout.tokens)
        grid = int((table.shape[1] - leading) ** 0.5)
        rows, cols = height // self.patch_size[0], width // self.patch_size[1]
        if (rows, cols) == (grid, grid):
            return table
        patches = table[0, leading:].reshape(grid, grid, -1)
        patches = resize_grid(patches.float(), rows, cols, self.layout.position_resize)
        patches = patches.to(table.dtype).reshape(1, rows * cols, -1)
        return torch.cat([table[:, :leading], patches], dim=1)

    def forward(self, pixel_values, bool_masked_pos=None, interpolate_pos_encoding: bool = False):
        """Returns (tokens, (patch rows, patch cols))."""
        embeds, grid = self.patch_embeddings(pixel_values, interpolate_pos_encoding)
        if bool_masked_pos is not None:
            if self.mask_token is None:
                raise ValueError("bool_masked_pos was given but this model has no mask token (use_mask_token).")
            mask = bool_masked_pos.unsqueeze(-1).to(embeds.dtype)
            embeds = embeds * (1.0 - mask) + self.mask_token.to(embeds.dtype) * mask
        batch = embeds.shape[0]
        leading = [getattr(self, name).expand(batch, -1, -1) for name in self.layout.tokens]
        embeds = torch.cat([*leading, embeds], dim=1)
        if self.position_embeddings is not None:
            resize = interpolate_pos_encoding or self.layout.interpolation == "always"
            height, width = pixel_values.shape[-2:]
            embeds = embeds + (self.positions_for(height, width) if resize else self.position_embeddings)
        if self.layout.registers:
            count = len(self.layout.tokens)
            registers = self.register_tokens.expand(batch, -1, -1)
            embeds = torch.cat([embeds[:, :count], registers, embeds[:, count:]], dim=1)
        return self.dropout(embeds), grid


# -- attention ------------------------------------------------------------------------------------------------
def attend(q, k, v, bias=None, head_mask=None, dropout: float = 0.0, training: bool = False,
           output_attentions: bool = False):  # fmt: skip
    """q/k/v [batch, heads, length, dim] -> (context [batch, heads, length, dim], probabilities or None)."""
    p = dropout if training else 0.0
    if not output_attentions and head_mask is None:
        return nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=p), None
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if bias is not None:
        scores = scores + bias
    probs = nn.functional.dropout(scores.softmax(-1), p, training)
    if head_mask is not None:
        probs = probs * head_mask
    return probs @ v, probs


class RelativePositionBias(nn.Module):
    """BEiT's learned bias per head for every pair of positions of the patch grid, plus the class token's
    three extra rows; the table is resized (bilinear) for other grids."""

    def __init__(self, config, window: tuple[int, int]):
        super().__init__()
        self.window = window
        rows = (2 * window[0] - 1) * (2 * window[1] - 1) + 3
        self.relative_position_bias_table = nn.Parameter(torch.zeros(rows, config.num_attention_heads))

    def forward(self, grid: tuple[int, int], interpolate_pos_encoding: bool = False, length: int | None = None):
        table = self.relative_position_bias_table
        old = (2 * self.window[0] - 1, 2 * self.window[1] - 1)
        new = (2 * grid[0] - 1, 2 * grid[1] - 1)
        # transformers lays the table out as (width, height) rows but resizes it to (height, width): the same
        # for square windows, and reproduced as is for others.
        pairs = resize_grid(table[:-3].reshape(old[1], old[0], -1), new[0], new[1], "bilinear")
        table = torch.cat([pairs.reshape(-1, table.shape[1]), table[-3:]])
        index = torch.from_numpy(window_relative_position_index(*grid, class_token=True)).to(table.device)
        area = grid[0] * grid[1] + 1
        bias = table[index.reshape(-1)].reshape(area, area, -1).permute(2, 0, 1)
        if interpolate_pos_encoding and length is not None and length != area:
            bias = nn.functional.interpolate(bias[:, None], size=(length, length), mode="bilinear",
                                             align_corners=False)[:, 0]  # fmt: skip
        return bias[None]


class ViTSelfAttention(nn.Module):
    def __init__(self, config, window: tuple[int, int] | None = None):
        super().__init__()
        size = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.head_dim = size // self.num_heads
        query_bias, key_bias, value_bias = config.projection_biases
        self.query = nn.Linear(size, size, bias=query_bias)
        self.key = nn.Linear(size, size, bias=key_bias)
        self.value = nn.Linear(size, size, bias=value_bias)
        self.dropout_p = config.attention_probs_dropout_prob
        if window is not None:
            self.relative_position_bias = RelativePositionBias(config, window)

    def _heads(self, x):
        return x.view(x.shape[0], x.shape[1], self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, hidden, bias=None, head_mask=None, output_attentions=False, grid=None,
                interpolate_pos_encoding=False):  # fmt: skip
        if hasattr(self, "relative_position_bias"):
            own = self.relative_position_bias(grid, interpolate_pos_encoding, hidden.shape[1])
            bias = own if bias is None else bias + own
        q, k, v = self._heads(self.query(hidden)), self._heads(self.key(hidden)), self._heads(self.value(hidden))
        context, probs = attend(q, k, v, bias, head_mask, self.dropout_p, self.training, output_attentions)
        return context.transpose(1, 2).reshape(hidden.shape), probs


class ViTSelfOutput(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden):
        return self.dropout(self.dense(hidden))


class ViTAttention(nn.Module):
    self_attention_class = ViTSelfAttention  # a variant's attention with other parameters (VideoMAE's q/v biases)

    def __init__(self, config, window: tuple[int, int] | None = None):
        super().__init__()
        self.attention = self.self_attention_class(config, window)
        self.output = ViTSelfOutput(config)

    def forward(self, hidden, **kwargs):
        context, probs = self.attention(hidden, **kwargs)
        return self.output(context), probs


class ViTIntermediate(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.act = get_activation(config.hidden_act)

    def forward(self, hidden):
        return self.act(self.dense(hidden))


class ViTOutput(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden):
        return self.dropout(self.dense(hidden))


class ViTLayer(nn.Module):
    """layernorm_before -> attention (-> lambda_1) -> drop path -> +; layernorm_after -> MLP (-> lambda_2) ->
    drop path -> +."""

    attention_class = ViTAttention

    def __init__(self, config, index: int = 0, window: tuple[int, int] | None = None):
        super().__init__()
        self.attention = self.attention_class(config, window)
        self.intermediate = ViTIntermediate(config)
        self.output = ViTOutput(config)
        self.layernorm_before = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.layernorm_after = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.drop_path = DropPath(config.drop_path_rates[index])
        scale = config.layer_scale_init
        if scale is not None:
            self.lambda_1 = nn.Parameter(torch.full((config.hidden_size,), float(scale)))
            self.lambda_2 = nn.Parameter(torch.full((config.hidden_size,), float(scale)))

    def _scaled(self, name: str, x):
        scale = getattr(self, name, None)
        return x if scale is None else scale * x

    def forward(self, hidden, **kwargs):
        attended, probs = self.attention(self.layernorm_before(hidden), **kwargs)
        hidden = self.drop_path(self._scaled("lambda_1", attended)) + hidden
        mlp = self.output(self.intermediate(self.layernorm_after(hidden)))
        return self.drop_path(self._scaled("lambda_2", mlp)) + hidden, probs


class ViTEncoder(nn.Module):
    """`layer.<i>` of `layer_class`; BEiT's shared relative position bias sits beside them."""

    layer_class = ViTLayer

    def __init__(self, config, window: tuple[int, int] | None = None):
        super().__init__()
        shared, in_layers = config.relative_position_bias
        if shared:
            self.relative_position_bias = RelativePositionBias(config, window)
        per_layer = window if in_layers else None
        self.layer = nn.ModuleList(self.layer_class(config, i, per_layer) for i in range(config.num_hidden_layers))

    def forward(self, hidden, head_mask=None, output_attentions=False, output_hidden_states=False, grid=None,
                interpolate_pos_encoding=False):  # fmt: skip
        bias = None
        if hasattr(self, "relative_position_bias"):
            bias = self.relative_position_bias(grid, interpolate_pos_encoding, hidden.shape[1])
        masks = per_layer_head_mask(head_mask, len(self.layer))
        all_hidden = (hidden,) if output_hidden_states else None
        all_attn = () if output_attentions else None
        for layer, mask in zip(self.layer, masks):
            hidden, probs = layer(hidden, bias=bias, head_mask=mask, output_attentions=output_attentions, grid=grid,
                                  interpolate_pos_encoding=interpolate_pos_encoding)  # fmt: skip
            if output_hidden_states:
                all_hidden += (hidden,)
            if output_attentions:
                all_attn += (probs,)
        return hidden, all_hidden, all_attn


class ViTPooler(nn.Module):
    """dense + activation on the first token (`pooler.dense`)."""

    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.pooler_output_size)
        self.activation = get_activation(config.pooler_act)

    def forward(self, hidden):
        return self.activation(self.dense(hidden[:, 0]))


# -- CLIP-style layer ------------------------------------------------------------------------------------------
class CLIPTextEmbeddings(nn.Module):
    """token_embedding + position_embedding (CLIP, SigLIP text towers)."""

    def __init__(self, config):
        super().__init__()
        self.token_embedding = nn.Embedding(config.vocab_size, config.hidden_size)
        self.position_embedding = nn.Embedding(config.max_position_embeddings, config.hidden_size)

    def forward(self, input_ids, position_ids=None):
        length = input_ids.shape[-1]
        if length > self.position_embedding.num_embeddings:
            raise ValueError(
                f"Sequence length {length} is longer than max_position_embeddings "
                f"({self.position_embedding.num_embeddings}); truncate the text."
            )
        if position_ids is None:
            position_ids = torch.arange(length, device=input_ids.device)[None]
        return self.token_embedding(input_ids) + self.position_embedding(position_ids)


class CLIPAttention(nn.Module):
    """q_proj / k_proj / v_proj / out_proj self-attention with an additive mask."""

    def __init__(self, config):
        super().__init__()
        size = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.head_dim = size // self.num_heads
        self.q_proj, self.k_proj = nn.Linear(size, size), nn.Linear(size, size)
        self.v_proj, self.out_proj = nn.Linear(size, size), nn.Linear(size, size)
        self.dropout_p = config.attention_dropout

    def _heads(self, x):
        return x.view(x.shape[0], x.shape[1], self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, hidden, mask=None, output_attentions=False):
        q, k, v = self._heads(self.q_proj(hidden)), self._heads(self.k_proj(hidden)), self._heads(self.v_proj(hidden))
        context, probs = attend(q, k, v, mask, None, self.dropout_p, self.training, output_attentions)
        return self.out_proj(context.transpose(1, 2).reshape(hidden.shape)), probs


class CLIPMLP(nn.Module):
    """fc1 -> activation -> fc2 (CLIP, SigLIP, DINOv2)."""

    def __init__(self, config, width: int | None = None):
        super().__init__()
        width = width or config.intermediate_size
        self.fc1 = nn.Linear(config.hidden_size, width)
        self.fc2 = nn.Linear(width, config.hidden_size)
        self.act = get_activation(config.hidden_act)

    def forward(self, hidden):
        return self.fc2(self.act(self.fc1(hidden)))


class CLIPEncoderLayer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.layer_norm1 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.self_attn = CLIPAttention(config)
        self.layer_norm2 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.mlp = CLIPMLP(config)

    def forward(self, hidden, mask=None, output_attentions=False):
        attended, probs = self.self_attn(self.layer_norm1(hidden), mask, output_attentions)
        hidden = hidden + attended
        return hidden + self.mlp(self.layer_norm2(hidden)), probs


class CLIPEncoder(nn.Module):
    """`layers.<i>`; returns (last hidden, every hidden state from the input on, attentions or None)."""

    def __init__(self, config):
        super().__init__()
        self.layers = nn.ModuleList(CLIPEncoderLayer(config) for _ in range(config.num_hidden_layers))

    def forward(self, hidden, mask=None, output_attentions=False):
        states, attentions = (hidden,), ()
        for layer in self.layers:
            hidden, probs = layer(hidden, mask, output_attentions)
            states += (hidden,)
            attentions += (probs,)
        return hidden, states, attentions if output_attentions else None


# -- DINOv2-style pieces -------------------------------------------------------------------------------------------
class LayerScale(nn.Module):
    """A learned per-channel factor `lambda1` on a residual branch."""

    def __init__(self, hidden_size: int, init: float):
        super().__init__()
        self.lambda1 = nn.Parameter(torch.full((hidden_size,), float(init)))

    def forward(self, x):
        return x * self.lambda1


class SwiGLUMLP(nn.Module):
    """weights_in -> split in half -> silu(a) * b -> weights_out."""

    def __init__(self, hidden_size: int, width: int):
        super().__init__()
        self.weights_in = nn.Linear(hidden_size, 2 * width)
        self.weights_out = nn.Linear(width, hidden_size)

    def forward(self, x):
        gate, value = self.weights_in(x).chunk(2, dim=-1)
        return self.weights_out(nn.functional.silu(gate) * value)


class FirstToken(nn.Module):
    """The pooled output of models whose pooler is just the class token (no weights)."""

    def forward(self, hidden):
        return hidden[:, 0]
