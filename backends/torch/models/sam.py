"""SAM (Segment Anything) in PyTorch: a ViT image encoder with windowed attention and decomposed relative
positions and a convolutional neck; a prompt encoder for points, boxes and masks; a two-way transformer mask
decoder that predicts masks and their IoU scores."""

from __future__ import annotations

import math

import torch
from torch import nn

from autoload import outputs as out
from autoload.models.sam import SamConfig, SamMaskDecoderConfig, SamVisionConfig

from ..activations import get_activation
from ..blocks.vision import check_pixel_values
from ..modeling import PreTrainedModel


class SamLayerNorm(nn.Module):
    """LayerNorm over the channels of a channels-first map (weight and bias named as SAM's checkpoints)."""

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = nn.functional.layer_norm(x, x.shape[-1:], self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class SamMLPBlock(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.lin1 = nn.Linear(config.hidden_size, config.mlp_dim)
        self.lin2 = nn.Linear(config.mlp_dim, config.hidden_size)
        self.act = get_activation(config.hidden_act)

    def forward(self, x):
        return self.lin2(self.act(self.lin1(x)))


# -- image encoder ------------------------------------------------------------------------------------------------
class SamPatchEmbeddings(nn.Module):
    def __init__(self, config: SamVisionConfig):
        super().__init__()
        self.config = config
        self.projection = nn.Conv2d(config.num_channels, config.hidden_size, config.patch_size, config.patch_size)

    def forward(self, pixel_values):
        check_pixel_values(pixel_values, self.config.num_channels)
        size = self.config.image_size
        if tuple(pixel_values.shape[-2:]) != (size, size):
            raise ValueError(f"Input image size ({pixel_values.shape[-2]}*{pixel_values.shape[-1]}) doesn't match the "
                             f"model ({size}*{size}); SamProcessor resizes and pads images to it.")  # fmt: skip
        return self.projection(pixel_values).permute(0, 2, 3, 1)


def relative_table(rel_pos: torch.Tensor, size: int) -> torch.Tensor:
    """[size (query), size (key), dim]: the embedding of each query-key offset along one axis."""
    if rel_pos.shape[0] != 2 * size - 1:
        raise ValueError(f"relative position table of {rel_pos.shape[0]} rows for a window of {size}: the checkpoint "
                         f"needs {2 * size - 1} (2 * window - 1).")  # fmt: skip
    offsets = torch.arange(size)[:, None] - torch.arange(size)[None, :] + (size - 1)
    return rel_pos[offsets.to(rel_pos.device)]


class SamVisionAttention(nn.Module):
    """Attention over a window (or the whole grid) with decomposed relative positions (MViTv2's)."""

    def __init__(self, config: SamVisionConfig, window_size: int):
        super().__init__()
        self.num_attention_heads = config.num_attention_heads
        head_dim = config.hidden_size // config.num_attention_heads
        self.scale = head_dim**-0.5
        self.dropout = config.attention_dropout
        self.qkv = nn.Linear(config.hidden_size, config.hidden_size * 3, bias=config.qkv_bias)
        self.proj = nn.Linear(config.hidden_size, config.hidden_size)
        self.use_rel_pos = config.use_rel_pos
        if self.use_rel_pos:
            size = window_size or config.grid
            self.rel_pos_h = nn.Parameter(torch.zeros(2 * size - 1, head_dim))
            self.rel_pos_w = nn.Parameter(torch.zeros(2 * size - 1, head_dim))

    def forward(self, hidden, output_attentions=False):
        batch, height, width, _ = hidden.shape
        heads = self.num_attention_heads
        qkv = self.qkv(hidden).reshape(batch, height * width, 3, heads, -1).permute(2, 0, 3, 1, 4)
        query, key, value = qkv.reshape(3, batch * heads, height * width, -1).unbind(0)
        scores = (query * self.scale) @ key.transpose(-2, -1)
        if self.use_rel_pos:
            q = query.reshape(batch * heads, height, width, -1)
            rel_h = torch.einsum("bhwc,hkc->bhwk", q, relative_table(self.rel_pos_h, height))
            rel_w = torch.einsum("bhwc,wkc->bhwk", q, relative_table(self.rel_pos_w, width))
            scores = scores + (rel_h[..., :, None] + rel_w[..., None, :]).reshape(scores.shape)
        probs = torch.softmax(scores, dim=-1, dtype=torch.float32).to(query.dtype)
        attended = nn.functional.dropout(probs, p=self.dropout, training=self.training) @ value
        attended = attended.reshape(batch, heads, height, width, -1).permute(0, 2, 3, 1, 4)
        return self.proj(attended.reshape(batch, height, width, -1)), (probs if output_attentions else None)


def window_partition(x: torch.Tensor, window: int):
    """[batch * windows, window, window, C] (the map padded with zeros to a multiple of the window), padded size."""
    batch, height, width, channels = x.shape
    pad_h, pad_w = (-height) % window, (-width) % window
    x = nn.functional.pad(x, (0, 0, 0, pad_w, 0, pad_h))
    rows, cols = (height + pad_h) // window, (width + pad_w) // window
    x = x.reshape(batch, rows, window, cols, window, channels).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, window, window, channels), (height + pad_h, width + pad_w)


def window_unpartition(windows: torch.Tensor, window: int, padded: tuple[int, int], size: tuple[int, int]):
    rows, cols = padded[0] // window, padded[1] // window
    x = windows.reshape(-1, rows, cols, window, window, windows.shape[-1]).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, padded[0], padded[1], windows.shape[-1])[:, : size[0], : size[1]]


class SamVisionLayer(nn.Module):
    def __init__(self, config: SamVisionConfig, window_size: int):
        super().__init__()
        self.layer_norm1 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.attn = SamVisionAttention(config, window_size)
        self.layer_norm2 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.mlp = SamMLPBlock(config)
        self.window_size = window_size

    def forward(self, hidden, output_attentions=False):
        normed = self.layer_norm1(hidden)
        if self.window_size:
            size = normed.shape[1:3]
            windows, padded = window_partition(normed, self.window_size)
            attended, probs = self.attn(windows, output_attentions)
            attended = window_unpartition(attended, self.window_size, padded, size)
        else:
            attended, probs = self.attn(normed, output_attentions)
        hidden = hidden + attended
        return hidden + self.mlp(self.layer_norm2(hidden)), probs


class SamVisionNeck(nn.Module):
    def __init__(self, config: SamVisionConfig):
        super().__init__()
        self.conv1 = nn.Conv2d(config.hidden_size, config.output_channels, kernel_size=1, bias=False)
        self.layer_norm1 = SamLayerNorm(config.output_channels)
        self.conv2 = nn.Conv2d(config.output_channels, config.output_channels, kernel_size=3, padding=1, bias=False)
        self.layer_norm2 = SamLayerNorm(config.output_channels)

    def forward(self, hidden):
        hidden = self.layer_norm1(self.conv1(hidden.permute(0, 3, 1, 2)))
        return self.layer_norm2(self.conv2(hidden))


class SamVisionEncoder(nn.Module):
    def __init__(self, config: SamVisionConfig):
        super().__init__()
        self.config = config
        self.patch_embed = SamPatchEmbeddings(config)
        if config.use_abs_pos:
            self.pos_embed = nn.Parameter(torch.zeros(1, config.grid, config.grid, config.hidden_size))
        self.layers = nn.ModuleList(SamVisionLayer(config, window) for window in config.layer_windows())
        self.neck = SamVisionNeck(config)

    def forward(self, pixel_values, output_attentions=False, output_hidden_states=False):
        hidden = self.patch_embed(pixel_values)
        if self.config.use_abs_pos:
            hidden = hidden + self.pos_embed
        states, attentions = (hidden,), ()
        for layer in self.layers:
            hidden, probs = layer(hidden, output_attentions)
            states += (hidden,)
            attentions += (probs,)
        return out.SamVisionEncoderOutput(last_hidden_state=self.neck(hidden),
                                          hidden_states=states if output_hidden_states else None,
                                          attentions=attentions if output_attentions else None)  # fmt: skip


# -- prompt encoder -----------------------------------------------------------------------------------------------
class SamPositionalEmbedding(nn.Module):
    """Random Fourier features of (x, y) in [0, 1]: sin and cos of 2 pi (2 xy - 1) @ positional_embedding."""

    def __init__(self, config: SamVisionConfig):
        super().__init__()
        self.register_buffer("positional_embedding", torch.zeros(2, config.num_pos_feats))

    def forward(self, coords, input_shape=None):
        if input_shape is not None:
            coords = coords / torch.tensor([input_shape[1], input_shape[0]], dtype=coords.dtype, device=coords.device)
        coords = (2 * coords - 1).to(self.positional_embedding.dtype) @ self.positional_embedding
        coords = 2 * math.pi * coords
        return torch.cat([torch.sin(coords), torch.cos(coords)], dim=-1)


class SamMaskEmbedding(nn.Module):
    def __init__(self, config):
        super().__init__()
        quarter = config.mask_input_channels // 4
        self.activation = get_activation(config.hidden_act)
        self.conv1 = nn.Conv2d(1, quarter, kernel_size=2, stride=2)
        self.conv2 = nn.Conv2d(quarter, config.mask_input_channels, kernel_size=2, stride=2)
        self.conv3 = nn.Conv2d(config.mask_input_channels, config.hidden_size, kernel_size=1)
        self.layer_norm1 = SamLayerNorm(quarter, eps=config.layer_norm_eps)
        self.layer_norm2 = SamLayerNorm(config.mask_input_channels, eps=config.layer_norm_eps)

    def forward(self, masks):
        hidden = self.activation(self.layer_norm1(self.conv1(masks)))
        hidden = self.activation(self.layer_norm2(self.conv2(hidden)))
        return self.conv3(hidden)


class SamPromptEncoder(nn.Module):
    """Sparse embeddings of points and box corners, dense embeddings of a mask prompt (or the no-mask embedding).
    The positional features are SamModel's shared_image_embedding, handed to each call."""

    def __init__(self, config: SamConfig):
        super().__init__()
        prompt = config.prompt_encoder_config
        self.config = prompt
        self.mask_embed = SamMaskEmbedding(prompt)
        self.no_mask_embed = nn.Embedding(1, prompt.hidden_size)
        self.point_embed = nn.ModuleList(nn.Embedding(1, prompt.hidden_size) for _ in range(prompt.num_point_embeddings))
        self.not_a_point_embed = nn.Embedding(1, prompt.hidden_size)

    def _embed_points(self, positional, points, labels, pad: bool):
        points = points + 0.5  # pixel centres
        labels = labels.to(points.dtype)
        if pad:  # without a box, a "not a point" closes every prompt
            points = torch.cat([points, points.new_zeros(points.shape[:2] + (1, 2))], dim=2)
            labels = torch.cat([labels, -labels.new_ones(labels.shape[:2] + (1,))], dim=2)
        size = self.config.image_size
        embedded = positional(points, (size, size))
        labels = labels[..., None]
        embedded = torch.where(labels == -1, self.not_a_point_embed.weight, embedded)
        embedded = torch.where(labels != -10, embedded, torch.zeros_like(embedded))
        embedded = torch.where(labels == 0, embedded + self.point_embed[0].weight, embedded)
        return torch.where(labels == 1, embedded + self.point_embed[1].weight, embedded)

    def _embed_boxes(self, positional, boxes):
        corners = (boxes + 0.5).reshape(boxes.shape[0], boxes.shape[1], 2, 2)
        size = self.config.image_size
        corner_embeds = torch.cat([self.point_embed[2].weight, self.point_embed[3].weight])
        return positional(corners, (size, size)) + corner_embeds

    def forward(self, positional, input_points=None, input_labels=None, input_boxes=None, input_masks=None):
        sparse, batch = None, 1
        if input_points is not None:
            if input_labels is None:
                raise ValueError("If points are provided, labels must also be provided.")
            batch = input_points.shape[0]
            sparse = self._embed_points(positional, input_points, input_labels, pad=input_boxes is None)
        if input_boxes is not None:
            batch = input_boxes.shape[0]
            boxes = self._embed_boxes(positional, input_boxes)
            sparse = boxes if sparse is None else torch.cat([sparse, boxes], dim=2)
        if input_masks is not None:
            dense = self.mask_embed(input_masks)
        else:
            size = self.config.image_embedding_size
            dense = self.no_mask_embed.weight.reshape(1, -1, 1, 1).expand(batch, -1, size, size)
        return sparse, dense


# -- mask decoder -------------------------------------------------------------------------------------------------
class SamAttention(nn.Module):
    """Attention over prompt tokens / image positions, projected down by downsample_rate first."""

    def __init__(self, config: SamMaskDecoderConfig, downsample_rate: int | None = None):
        super().__init__()
        rate = config.attention_downsample_rate if downsample_rate is None else downsample_rate
        inner = config.hidden_size // rate
        self.num_attention_heads = config.num_attention_heads
        self.scaling = (inner // config.num_attention_heads) ** -0.5
        self.q_proj = nn.Linear(config.hidden_size, inner)
        self.k_proj = nn.Linear(config.hidden_size, inner)
        self.v_proj = nn.Linear(config.hidden_size, inner)
        self.out_proj = nn.Linear(inner, config.hidden_size)

    def _heads(self, x):
        batch, points, tokens, width = x.shape
        heads = self.num_attention_heads
        return x.reshape(batch * points, tokens, heads, width // heads).transpose(1, 2)

    def forward(self, query, key, value, attention_similarity=None):
        batch, points = query.shape[:2]
        q, k, v = self._heads(self.q_proj(query)), self._heads(self.k_proj(key)), self._heads(self.v_proj(value))
        scores = q @ k.transpose(2, 3) * self.scaling
        if attention_similarity is not None:
            scores = scores + attention_similarity
        attended = (torch.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype) @ v).transpose(1, 2)
        return self.out_proj(attended.reshape(batch, points, attended.shape[1], -1))


class SamTwoWayAttentionBlock(nn.Module):
    """Prompt tokens attend to themselves and to the image; then the image attends to the tokens."""

    def __init__(self, config: SamMaskDecoderConfig, skip_first_layer_pe: bool = False):
        super().__init__()
        eps = config.layer_norm_eps
        self.self_attn = SamAttention(config, downsample_rate=1)
        self.layer_norm1 = nn.LayerNorm(config.hidden_size, eps=eps)
        # transformers builds the blocks' cross-attentions with its default rate 2, whatever the config says
        self.cross_attn_token_to_image = SamAttention(config, downsample_rate=2)
        self.layer_norm2 = nn.LayerNorm(config.hidden_size, eps=eps)
        self.mlp = SamMLPBlock(config)
        self.layer_norm3 = nn.LayerNorm(config.hidden_size, eps=eps)
        self.layer_norm4 = nn.LayerNorm(config.hidden_size, eps=eps)
        self.cross_attn_image_to_token = SamAttention(config, downsample_rate=2)
        self.skip_first_layer_pe = skip_first_layer_pe

    def forward(self, queries, keys, query_pe, key_pe, attention_similarity=None):
        if self.skip_first_layer_pe:
            queries = self.self_attn(queries, queries, queries)
        else:
            query = queries + query_pe
            queries = queries + self.self_attn(query, query, queries)
        queries = self.layer_norm1(queries)
        queries = queries + self.cross_attn_token_to_image(queries + query_pe, keys + key_pe, keys, attention_similarity)
        queries = self.layer_norm2(queries)
        queries = self.layer_norm3(queries + self.mlp(queries))
        attended = self.cross_attn_image_to_token(keys + key_pe, queries + query_pe, queries)
        return queries, self.layer_norm4(keys + attended), attended


class SamTwoWayTransformer(nn.Module):
    def __init__(self, config: SamMaskDecoderConfig):
        super().__init__()
        self.layers = nn.ModuleList(SamTwoWayAttentionBlock(config, skip_first_layer_pe=i == 0)
                                    for i in range(config.num_hidden_layers))  # fmt: skip
        self.final_attn_token_to_image = SamAttention(config)
        self.layer_norm_final_attn = nn.LayerNorm(config.hidden_size)  # torch's default eps, as transformers

    def forward(self, point_embeddings, image_embeddings, image_pe, attention_similarity=None, target_embedding=None):
        keys = image_embeddings.flatten(2).permute(0, 2, 1).unsqueeze(1)
        key_pe = image_pe.flatten(2).permute(0, 2, 1).unsqueeze(1)
        queries, attentions = point_embeddings, ()
        for layer in self.layers:
            if target_embedding is not None:
                queries = queries + target_embedding
            queries, keys, attended = layer(queries, keys, point_embeddings, key_pe, attention_similarity)
            attentions += (attended,)
        attended = self.final_attn_token_to_image(queries + point_embeddings, keys + key_pe, keys)
        return self.layer_norm_final_attn(queries + attended), keys, attentions


class SamFeedForward(nn.Module):
    def __init__(self, input_dim: int, hidden_dim: int, output_dim: int, num_layers: int, sigmoid_output: bool = False):
        super().__init__()
        self.proj_in = nn.Linear(input_dim, hidden_dim)
        self.proj_out = nn.Linear(hidden_dim, output_dim)
        self.layers = nn.ModuleList(nn.Linear(hidden_dim, hidden_dim) for _ in range(num_layers - 2))
        self.sigmoid_output = sigmoid_output

    def forward(self, x):
        x = torch.relu(self.proj_in(x))
        for layer in self.layers:
            x = torch.relu(layer(x))
        x = self.proj_out(x)
        return torch.sigmoid(x) if self.sigmoid_output else x


class SamMaskDecoder(nn.Module):
    def __init__(self, config: SamMaskDecoderConfig):
        super().__init__()
        width = config.hidden_size
        self.num_mask_tokens = config.num_multimask_outputs + 1
        self.iou_token = nn.Embedding(1, width)
        self.mask_tokens = nn.Embedding(self.num_mask_tokens, width)
        self.transformer = SamTwoWayTransformer(config)
        self.upscale_conv1 = nn.ConvTranspose2d(width, width // 4, kernel_size=2, stride=2)
        self.upscale_conv2 = nn.ConvTranspose2d(width // 4, width // 8, kernel_size=2, stride=2)
        self.upscale_layer_norm = SamLayerNorm(width // 4)
        self.output_hypernetworks_mlps = nn.ModuleList(SamFeedForward(width, width, width // 8, 3)
                                                       for _ in range(self.num_mask_tokens))  # fmt: skip
        self.iou_prediction_head = SamFeedForward(width, config.iou_head_hidden_dim, self.num_mask_tokens,
                                                  config.iou_head_depth)  # fmt: skip

    def forward(self, image_embeddings, image_pe, sparse, dense, multimask_output: bool, attention_similarity=None,
                target_embedding=None):  # fmt: skip
        batch, channels, height, width = image_embeddings.shape
        points = sparse.shape[1] if sparse is not None else 1
        tokens = torch.cat([self.iou_token.weight, self.mask_tokens.weight]).repeat(batch, points, 1, 1)
        if sparse is not None:
            tokens = torch.cat([tokens, sparse.to(tokens.dtype)], dim=2)
        image = (image_embeddings + dense).repeat_interleave(points, 0)
        image_pe = image_pe.repeat_interleave(points, 0)
        tokens_out, image, attentions = self.transformer(tokens, image, image_pe, attention_similarity,
                                                         target_embedding)  # fmt: skip
        iou_out, mask_out = tokens_out[:, :, 0], tokens_out[:, :, 1 : 1 + self.num_mask_tokens]
        image = image.transpose(2, 3).reshape(batch * points, channels, height, width)
        gelu = nn.functional.gelu
        upscaled = gelu(self.upscale_conv2(gelu(self.upscale_layer_norm(self.upscale_conv1(image)))))
        hyper = torch.stack([mlp(mask_out[:, :, i]) for i, mlp in enumerate(self.output_hypernetworks_mlps)], dim=2)
        up_channels, up_height, up_width = upscaled.shape[1:]
        upscaled = upscaled.reshape(batch, points, up_channels, up_height * up_width)
        masks = (hyper @ upscaled).reshape(batch, points, -1, up_height, up_width)
        iou = self.iou_prediction_head(iou_out)
        keep = slice(1, None) if multimask_output else slice(0, 1)
        return masks[:, :, keep], iou[:, :, keep], attentions


# -- models -------------------------------------------------------------------------------------------------------
class SamPreTrainedModel(PreTrainedModel):
    config_class = SamConfig
    base_model_prefix = "sam"
    main_input_name = "pixel_values"
    # transformers' SamModel ties the prompt encoder's copy of the positional features to shared_image_embedding
    _keys_to_ignore_on_load_unexpected = [r"prompt_encoder\.shared_embedding\.positional_embedding"]

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, SamPositionalEmbedding):
            scale = self.config.vision_config.hidden_size // 2 if isinstance(self.config, SamConfig) else 1
            module.positional_embedding = torch.randn(module.positional_embedding.shape) * scale
        elif isinstance(module, SamLayerNorm):
            with torch.no_grad():
                module.weight.fill_(1.0)
                module.bias.zero_()


class SamVisionModel(SamPreTrainedModel):
    config_class = SamVisionConfig

    def __init__(self, config: SamVisionConfig):
        super().__init__(config)
        self.vision_encoder = SamVisionEncoder(config)

    def get_input_embeddings(self):
        return self.vision_encoder.patch_embed

    def forward(self, pixel_values=None, output_attentions=None, output_hidden_states=None, return_dict=None,
                **kwargs):  # fmt: skip
        if pixel_values is None:
            raise ValueError("You have to specify pixel_values")
        result = self.vision_encoder(pixel_values, self._flag(output_attentions, "output_attentions"),
                                     self._flag(output_hidden_states, "output_hidden_states"))  # fmt: skip
        return self._finish(result, return_dict)


def check_prompts(input_points, input_boxes, batch: int) -> None:
    """transformers' checks of the prompt shapes, with its messages."""
    if input_points is not None and len(input_points.shape) != 4:
        raise ValueError("The input_points must be a 4D tensor of shape (batch_size, point_batch_size, "
                         f"nb_points_per_image, 2); got {tuple(input_points.shape)}.")  # fmt: skip
    if input_boxes is not None and len(input_boxes.shape) != 3:
        raise ValueError(f"The input_boxes must be a 3D tensor of shape (batch_size, nb_boxes, 4); got "
                         f"{tuple(input_boxes.shape)}.")  # fmt: skip
    if input_points is not None and input_boxes is not None and input_points.shape[1] != input_boxes.shape[1]:
        raise ValueError("You should provide as many bounding boxes as input points per box. Got "
                         f"{input_points.shape[1]} and {input_boxes.shape[1]}.")  # fmt: skip
    if input_points is not None and input_points.shape[0] != batch:
        raise ValueError(f"The batch size of the image embeddings and the input points must be the same. Got {batch} "
                         f"and {input_points.shape[0]} respectively; pass several prompts for one image as "
                         "input_points of shape (batch_size, point_batch_size, num_points_per_image, 2).")  # fmt: skip


class SamModel(SamPreTrainedModel):
    def __init__(self, config: SamConfig):
        super().__init__(config)
        self.shared_image_embedding = SamPositionalEmbedding(config.vision_config)
        self.vision_encoder = SamVisionEncoder(config.vision_config)
        self.prompt_encoder = SamPromptEncoder(config)
        self.mask_decoder = SamMaskDecoder(config.mask_decoder_config)

    def get_input_embeddings(self):
        return self.vision_encoder.patch_embed

    def get_image_wide_positional_embeddings(self):
        size = self.config.prompt_encoder_config.image_embedding_size
        table = self.shared_image_embedding.positional_embedding
        centres = (torch.arange(size, device=table.device, dtype=table.dtype) + 0.5) / size
        grid = torch.stack([centres[None, :].expand(size, size), centres[:, None].expand(size, size)], dim=-1)
        return self.shared_image_embedding(grid).permute(2, 0, 1).unsqueeze(0)

    @torch.no_grad()
    def get_image_embeddings(self, pixel_values, **kwargs):
        return self.vision_encoder(pixel_values).last_hidden_state

    @torch.no_grad()
    def get_prompt_embeddings(self, input_points=None, input_labels=None, input_boxes=None, input_masks=None):
        return self.prompt_encoder(self.shared_image_embedding, input_points, input_labels, input_boxes, input_masks)

    def forward(self, pixel_values=None, input_points=None, input_labels=None, input_boxes=None, input_masks=None,
                image_embeddings=None, multimask_output: bool = True, attention_similarity=None, target_embedding=None,
                output_attentions=None, output_hidden_states=None, return_dict=None, **kwargs):  # fmt: skip
        if (pixel_values is None) == (image_embeddings is None):
            raise ValueError("Give SamModel exactly one of pixel_values and image_embeddings (from "
                             "get_image_embeddings).")  # fmt: skip
        output_attentions = self._flag(output_attentions, "output_attentions")
        output_hidden_states = self._flag(output_hidden_states, "output_hidden_states")
        batch = (pixel_values if pixel_values is not None else image_embeddings).shape[0]
        check_prompts(input_points, input_boxes, batch)
        image_pe = self.get_image_wide_positional_embeddings().repeat(batch, 1, 1, 1)
        vision = None
        if pixel_values is not None:
            vision = self.vision_encoder(pixel_values, output_attentions, output_hidden_states)
            image_embeddings = vision.last_hidden_state
        if input_points is not None and input_labels is None:
            input_labels = torch.ones(input_points.shape[:3], dtype=torch.int, device=input_points.device)
        sparse, dense = self.prompt_encoder(self.shared_image_embedding, input_points, input_labels, input_boxes,
                                            input_masks)  # fmt: skip
        masks, iou, attentions = self.mask_decoder(image_embeddings, image_pe, sparse, dense, multimask_output,
                                                   attention_similarity, target_embedding)  # fmt: skip
        result = out.SamImageSegmentationOutput(
            iou_scores=iou, pred_masks=masks,
            vision_hidden_states=vision.hidden_states if vision is not None else None,
            vision_attentions=vision.attentions if vision is not None else None,
            mask_decoder_attentions=attentions if output_attentions else None,
        )  # fmt: skip
        return self._finish(result, return_dict)
