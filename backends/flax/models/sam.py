"""SAM (Segment Anything) in Flax (transformers never had it, so the parameter tree carries the PyTorch module
names): a ViT image encoder with windowed attention and decomposed relative positions and a convolutional neck; a
prompt encoder for points, boxes and masks; a two-way transformer mask decoder that predicts masks and IoU scores."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from autoload import outputs as out
from autoload.models.sam import SamConfig, SamMaskDecoderConfig, SamVisionConfig

from ..activations import get_activation
from ..blocks.norms import LayerNorm
from ..blocks.vision import check_pixel_values, dense, nhwc, normal
from ..modeling import FlaxPreTrainedModel


def nchw(x):
    return jnp.transpose(x, (0, 3, 1, 2))


def conv(config, features: int, kernel: int, name: str, stride: int = 1, padding="VALID", use_bias: bool = True):
    return nn.Conv(features, (kernel, kernel), strides=(stride, stride), padding=padding, use_bias=use_bias,
                   kernel_init=normal(config), name=name)  # fmt: skip


class SamMLPBlock(nn.Module):
    config: Any

    @nn.compact
    def __call__(self, x):
        c = self.config
        return dense(c, c.hidden_size, "lin2")(get_activation(c.hidden_act)(dense(c, c.mlp_dim, "lin1")(x)))


# -- image encoder ------------------------------------------------------------------------------------------------
def relative_table(rel_pos, size: int):
    """[size (query), size (key), dim]: the embedding of each query-key offset along one axis."""
    if rel_pos.shape[0] != 2 * size - 1:
        raise ValueError(f"relative position table of {rel_pos.shape[0]} rows for a window of {size}: the checkpoint "
                         f"needs {2 * size - 1} (2 * window - 1).")  # fmt: skip
    return rel_pos[np.arange(size)[:, None] - np.arange(size)[None, :] + (size - 1)]


class SamVisionAttention(nn.Module):
    config: SamVisionConfig
    window_size: int

    @nn.compact
    def __call__(self, hidden, output_attentions=False, deterministic=True):
        c = self.config
        batch, height, width, _ = hidden.shape
        heads, head_dim = c.num_attention_heads, c.hidden_size // c.num_attention_heads
        qkv = dense(c, c.hidden_size * 3, "qkv", use_bias=c.qkv_bias)(hidden)
        qkv = qkv.reshape(batch, height * width, 3, heads, head_dim).transpose(2, 0, 3, 1, 4)
        query, key, value = qkv.reshape(3, batch * heads, height * width, head_dim)
        scores = (query * head_dim**-0.5) @ jnp.swapaxes(key, -1, -2)
        if c.use_rel_pos:
            size = self.window_size or c.grid
            rel_pos_h = self.param("rel_pos_h", nn.initializers.zeros, (2 * size - 1, head_dim))
            rel_pos_w = self.param("rel_pos_w", nn.initializers.zeros, (2 * size - 1, head_dim))
            q = query.reshape(batch * heads, height, width, head_dim)
            rel_h = jnp.einsum("bhwc,hkc->bhwk", q, relative_table(rel_pos_h, height))
            rel_w = jnp.einsum("bhwc,wkc->bhwk", q, relative_table(rel_pos_w, width))
            scores = scores + (rel_h[..., :, None] + rel_w[..., None, :]).reshape(scores.shape)
        probs = jax.nn.softmax(scores, axis=-1)
        dropped = nn.Dropout(c.attention_dropout)(probs, deterministic=deterministic)
        attended = (dropped @ value).reshape(batch, heads, height, width, head_dim).transpose(0, 2, 3, 1, 4)
        attended = dense(c, c.hidden_size, "proj")(attended.reshape(batch, height, width, -1))
        return attended, (probs if output_attentions else None)


def window_partition(x, window: int):
    """[batch * windows, window, window, C] (the map padded with zeros to a multiple of the window), padded size."""
    batch, height, width, channels = x.shape
    pad_h, pad_w = (-height) % window, (-width) % window
    x = jnp.pad(x, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)))
    rows, cols = (height + pad_h) // window, (width + pad_w) // window
    x = x.reshape(batch, rows, window, cols, window, channels).transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, window, window, channels), (height + pad_h, width + pad_w)


def window_unpartition(windows, window: int, padded: tuple[int, int], size: tuple[int, int]):
    rows, cols, channels = padded[0] // window, padded[1] // window, windows.shape[-1]
    x = windows.reshape(-1, rows, cols, window, window, channels).transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, padded[0], padded[1], channels)[:, : size[0], : size[1]]


class SamVisionLayer(nn.Module):
    config: SamVisionConfig
    window_size: int

    @nn.compact
    def __call__(self, hidden, output_attentions=False, deterministic=True):
        c = self.config
        normed = LayerNorm(epsilon=c.layer_norm_eps, name="layer_norm1")(hidden)
        attn = SamVisionAttention(c, self.window_size, name="attn")
        if self.window_size:
            windows, padded = window_partition(normed, self.window_size)
            attended, probs = attn(windows, output_attentions, deterministic)
            attended = window_unpartition(attended, self.window_size, padded, normed.shape[1:3])
        else:
            attended, probs = attn(normed, output_attentions, deterministic)
        hidden = hidden + attended
        mlp = SamMLPBlock(c, name="mlp")
        return hidden + mlp(LayerNorm(epsilon=c.layer_norm_eps, name="layer_norm2")(hidden)), probs


class SamLayerList(nn.Module):
    """`layers/<i>`: the encoder's layers, each with its own attention window."""

    config: SamVisionConfig

    @nn.compact
    def __call__(self, hidden, output_attentions=False, deterministic=True):
        states, attentions = (hidden,), ()
        for i, window in enumerate(self.config.layer_windows()):
            hidden, probs = SamVisionLayer(self.config, window, name=str(i))(hidden, output_attentions, deterministic)
            states += (hidden,)
            attentions += (probs,)
        return hidden, states, attentions


class SamVisionNeck(nn.Module):
    config: SamVisionConfig

    @nn.compact
    def __call__(self, hidden):
        c = self.config
        hidden = LayerNorm(epsilon=1e-6, name="layer_norm1")(conv(c, c.output_channels, 1, "conv1", use_bias=False)(hidden))
        hidden = conv(c, c.output_channels, 3, "conv2", padding=((1, 1), (1, 1)), use_bias=False)(hidden)
        return nchw(LayerNorm(epsilon=1e-6, name="layer_norm2")(hidden))


class SamVisionEncoder(nn.Module):
    config: SamVisionConfig

    @nn.compact
    def __call__(self, pixel_values, output_attentions=False, output_hidden_states=False, deterministic=True):
        c = self.config
        check_pixel_values(pixel_values, c.num_channels)
        if tuple(pixel_values.shape[-2:]) != (c.image_size, c.image_size):
            raise ValueError(f"Input image size ({pixel_values.shape[-2]}*{pixel_values.shape[-1]}) doesn't match the "
                             f"model ({c.image_size}*{c.image_size}); SamProcessor resizes and pads images to it.")  # fmt: skip
        patch = SamPatchEmbeddings(c, name="patch_embed")
        hidden = patch(pixel_values)
        if c.use_abs_pos:
            hidden = hidden + self.param("pos_embed", nn.initializers.zeros, (1, c.grid, c.grid, c.hidden_size))
        hidden, states, attentions = SamLayerList(c, name="layers")(hidden, output_attentions, deterministic)
        return out.SamVisionEncoderOutput(last_hidden_state=SamVisionNeck(c, name="neck")(hidden),
                                          hidden_states=states if output_hidden_states else None,
                                          attentions=attentions if output_attentions else None)  # fmt: skip


class SamPatchEmbeddings(nn.Module):
    config: SamVisionConfig

    @nn.compact
    def __call__(self, pixel_values):
        c = self.config
        return conv(c, c.hidden_size, c.patch_size, "projection", stride=c.patch_size)(nhwc(pixel_values))


# -- prompt encoder -----------------------------------------------------------------------------------------------
def fourier_features(coords, table, input_shape=None):
    """Random Fourier features of (x, y) in [0, 1]: sin and cos of 2 pi (2 xy - 1) @ table."""
    if input_shape is not None:
        coords = coords / jnp.asarray([input_shape[1], input_shape[0]], coords.dtype)
    coords = 2 * math.pi * ((2 * coords - 1) @ table)
    return jnp.concatenate([jnp.sin(coords), jnp.cos(coords)], axis=-1)


class SamPositionalEmbedding(nn.Module):
    config: SamVisionConfig

    @nn.compact
    def __call__(self):
        """The table [2, num_pos_feats]."""
        c = self.config
        return self.param("positional_embedding", nn.initializers.normal(c.hidden_size // 2), (2, c.num_pos_feats))


class SamMaskEmbedding(nn.Module):
    config: Any

    @nn.compact
    def __call__(self, masks):
        c = self.config
        quarter, act = c.mask_input_channels // 4, get_activation(c.hidden_act)
        hidden = conv(c, quarter, 2, "conv1", stride=2)(nhwc(masks))
        hidden = act(LayerNorm(epsilon=c.layer_norm_eps, name="layer_norm1")(hidden))
        hidden = conv(c, c.mask_input_channels, 2, "conv2", stride=2)(hidden)
        hidden = act(LayerNorm(epsilon=c.layer_norm_eps, name="layer_norm2")(hidden))
        return nchw(conv(c, c.hidden_size, 1, "conv3")(hidden))


class SamEmbeddingList(nn.Module):
    """`<name>/<i>`: single-row embeddings (the point and box-corner embeddings)."""

    count: int
    width: int
    config: Any

    @nn.compact
    def __call__(self):
        return [nn.Embed(1, self.width, embedding_init=normal(self.config), name=str(i))(jnp.arange(1))
                for i in range(self.count)]  # fmt: skip


class SamPromptEncoder(nn.Module):
    """Sparse embeddings of points and box corners, dense embeddings of a mask prompt (or the no-mask embedding).
    The positional features' table is the model's shared_image_embedding's, handed to each call."""

    config: SamConfig

    @nn.compact
    def __call__(self, table, input_points=None, input_labels=None, input_boxes=None, input_masks=None):
        c = self.config.prompt_encoder_config
        rows = SamEmbeddingList(c.num_point_embeddings, c.hidden_size, c, name="point_embed")()
        no_mask = nn.Embed(1, c.hidden_size, embedding_init=normal(c), name="no_mask_embed")(jnp.arange(1))
        not_a_point = nn.Embed(1, c.hidden_size, embedding_init=normal(c), name="not_a_point_embed")(jnp.arange(1))
        mask_embed = SamMaskEmbedding(c, name="mask_embed")
        size = (c.image_size, c.image_size)
        sparse, batch = None, 1
        if input_points is not None:
            if input_labels is None:
                raise ValueError("If points are provided, labels must also be provided.")
            batch = input_points.shape[0]
            points, labels = input_points + 0.5, input_labels.astype(input_points.dtype)
            if input_boxes is None:  # without a box, a "not a point" closes every prompt
                points = jnp.concatenate([points, jnp.zeros(points.shape[:2] + (1, 2), points.dtype)], axis=2)
                labels = jnp.concatenate([labels, -jnp.ones(labels.shape[:2] + (1,), labels.dtype)], axis=2)
            embedded = fourier_features(points, table, size)
            labels = labels[..., None]
            embedded = jnp.where(labels == -1, not_a_point, embedded)
            embedded = jnp.where(labels != -10, embedded, jnp.zeros_like(embedded))
            embedded = jnp.where(labels == 0, embedded + rows[0], embedded)
            sparse = jnp.where(labels == 1, embedded + rows[1], embedded)
        if input_boxes is not None:
            batch = input_boxes.shape[0]
            corners = (input_boxes + 0.5).reshape(input_boxes.shape[0], input_boxes.shape[1], 2, 2)
            boxes = fourier_features(corners, table, size) + jnp.concatenate([rows[2], rows[3]])
            sparse = boxes if sparse is None else jnp.concatenate([sparse, boxes], axis=2)
        if input_masks is not None:
            dense_embeddings = mask_embed(input_masks)
        else:
            grid = c.image_embedding_size
            dense_embeddings = jnp.broadcast_to(no_mask.reshape(1, -1, 1, 1), (batch, c.hidden_size, grid, grid))
        return sparse, dense_embeddings


# -- mask decoder -------------------------------------------------------------------------------------------------
class SamAttention(nn.Module):
    """Attention over prompt tokens / image positions, projected down by downsample_rate first."""

    config: SamMaskDecoderConfig
    downsample_rate: int | None = None

    @nn.compact
    def __call__(self, query, key, value, attention_similarity=None):
        c = self.config
        rate = c.attention_downsample_rate if self.downsample_rate is None else self.downsample_rate
        inner = c.hidden_size // rate
        heads = c.num_attention_heads

        def split(x):
            batch, points, tokens, width = x.shape
            return x.reshape(batch * points, tokens, heads, width // heads).transpose(0, 2, 1, 3)

        batch, points = query.shape[:2]
        q = split(dense(c, inner, "q_proj")(query))
        k, v = split(dense(c, inner, "k_proj")(key)), split(dense(c, inner, "v_proj")(value))
        scores = q @ jnp.swapaxes(k, -1, -2) * (inner // heads) ** -0.5
        if attention_similarity is not None:
            scores = scores + attention_similarity
        attended = (jax.nn.softmax(scores, axis=-1) @ v).transpose(0, 2, 1, 3)
        return dense(c, c.hidden_size, "out_proj")(attended.reshape(batch, points, attended.shape[1], inner))


class SamTwoWayAttentionBlock(nn.Module):
    """Prompt tokens attend to themselves and to the image; then the image attends to the tokens."""

    config: SamMaskDecoderConfig
    skip_first_layer_pe: bool = False

    @nn.compact
    def __call__(self, queries, keys, query_pe, key_pe, attention_similarity=None):
        c = self.config

        def norm(name):
            return LayerNorm(epsilon=c.layer_norm_eps, name=name)

        self_attn = SamAttention(c, 1, name="self_attn")
        if self.skip_first_layer_pe:
            queries = self_attn(queries, queries, queries)
        else:
            query = queries + query_pe
            queries = queries + self_attn(query, query, queries)
        queries = norm("layer_norm1")(queries)
        # transformers builds the blocks' cross-attentions with its default rate 2, whatever the config says
        cross = SamAttention(c, 2, name="cross_attn_token_to_image")
        queries = norm("layer_norm2")(queries + cross(queries + query_pe, keys + key_pe, keys, attention_similarity))
        queries = norm("layer_norm3")(queries + SamMLPBlock(c, name="mlp")(queries))
        attended = SamAttention(c, 2, name="cross_attn_image_to_token")(keys + key_pe, queries + query_pe, queries)
        return queries, norm("layer_norm4")(keys + attended), attended


class SamBlockList(nn.Module):
    """`layers/<i>`: the two-way blocks (the first adds no position to its self-attention)."""

    config: SamMaskDecoderConfig

    @nn.compact
    def __call__(self, queries, keys, query_pe, key_pe, attention_similarity=None, target_embedding=None):
        attentions = ()
        for i in range(self.config.num_hidden_layers):
            if target_embedding is not None:
                queries = queries + target_embedding
            block = SamTwoWayAttentionBlock(self.config, skip_first_layer_pe=i == 0, name=str(i))
            queries, keys, attended = block(queries, keys, query_pe, key_pe, attention_similarity)
            attentions += (attended,)
        return queries, keys, attentions


class SamTwoWayTransformer(nn.Module):
    config: SamMaskDecoderConfig

    @nn.compact
    def __call__(self, point_embeddings, image_embeddings, image_pe, attention_similarity=None, target_embedding=None):
        c = self.config

        def as_keys(x):  # [batch, C, H, W] -> [batch, 1, H * W, C]
            return x.reshape(x.shape[0], x.shape[1], -1).transpose(0, 2, 1)[:, None]

        keys, key_pe = as_keys(image_embeddings), as_keys(image_pe)
        queries, keys, attentions = SamBlockList(c, name="layers")(point_embeddings, keys, point_embeddings, key_pe,
                                                                   attention_similarity, target_embedding)  # fmt: skip
        final = SamAttention(c, name="final_attn_token_to_image")
        attended = final(queries + point_embeddings, keys + key_pe, keys)
        # torch's default eps, as transformers
        return LayerNorm(epsilon=1e-5, name="layer_norm_final_attn")(queries + attended), keys, attentions


class SamHiddenLayers(nn.Module):
    """`layers/<i>`: a feed-forward head's hidden Dense layers, each followed by ReLU."""

    config: Any
    width: int
    count: int

    @nn.compact
    def __call__(self, x):
        for i in range(self.count):
            x = jax.nn.relu(dense(self.config, self.width, str(i))(x))
        return x


class SamFeedForward(nn.Module):
    config: Any
    hidden_dim: int
    output_dim: int
    num_layers: int
    sigmoid_output: bool = False

    @nn.compact
    def __call__(self, x):
        c = self.config
        x = jax.nn.relu(dense(c, self.hidden_dim, "proj_in")(x))
        x = SamHiddenLayers(c, self.hidden_dim, self.num_layers - 2, name="layers")(x)
        x = dense(c, self.output_dim, "proj_out")(x)
        return jax.nn.sigmoid(x) if self.sigmoid_output else x


class SamHypernetworks(nn.Module):
    """`output_hypernetworks_mlps/<i>`: one MLP per mask token, turning it into the mask's channel weights."""

    config: SamMaskDecoderConfig

    @nn.compact
    def __call__(self, mask_tokens):
        width = self.config.hidden_size
        return jnp.stack([SamFeedForward(self.config, width, width // 8, 3, name=str(i))(mask_tokens[:, :, i])
                          for i in range(mask_tokens.shape[2])], axis=2)  # fmt: skip


class SamUpscale(nn.Module):
    """PyTorch's ConvTranspose2d with kernel 2 and stride 2 on a channels-last map: every input position writes its
    own 2x2 block. The kernel is stored [2, 2, out, in] (the layout the converters give a transposed convolution)."""

    features: int
    config: Any

    @nn.compact
    def __call__(self, x):
        kernel = self.param("kernel", normal(self.config), (2, 2, self.features, x.shape[-1]))
        bias = self.param("bias", nn.initializers.zeros, (self.features,))
        batch, height, width, _ = x.shape
        y = jnp.einsum("bijk,acok->biajco", x, kernel)
        return y.reshape(batch, 2 * height, 2 * width, self.features) + bias


class SamMaskDecoder(nn.Module):
    config: SamMaskDecoderConfig

    @nn.compact
    def __call__(self, image_embeddings, image_pe, sparse, dense_embeddings, multimask_output: bool = True,
                 attention_similarity=None, target_embedding=None):  # fmt: skip
        c = self.config
        width, masks_n = c.hidden_size, c.num_multimask_outputs + 1
        iou_token = nn.Embed(1, width, embedding_init=normal(c), name="iou_token")(jnp.arange(1))
        mask_tokens = nn.Embed(masks_n, width, embedding_init=normal(c), name="mask_tokens")(jnp.arange(masks_n))
        batch, channels, height, image_width = image_embeddings.shape
        points = sparse.shape[1] if sparse is not None else 1
        tokens = jnp.tile(jnp.concatenate([iou_token, mask_tokens])[None, None], (batch, points, 1, 1))
        if sparse is not None:
            tokens = jnp.concatenate([tokens, sparse.astype(tokens.dtype)], axis=2)
        image = jnp.repeat(image_embeddings + dense_embeddings, points, axis=0)
        image_pe = jnp.repeat(image_pe, points, axis=0)
        tokens_out, image, attentions = SamTwoWayTransformer(c, name="transformer")(
            tokens, image, image_pe, attention_similarity, target_embedding)  # fmt: skip
        iou_out, mask_out = tokens_out[:, :, 0], tokens_out[:, :, 1 : 1 + masks_n]
        image = jnp.swapaxes(image, 2, 3).reshape(batch * points, channels, height, image_width)
        gelu = jax.nn.gelu
        upscaled = SamUpscale(width // 4, c, name="upscale_conv1")(nhwc(image))
        upscaled = gelu(LayerNorm(epsilon=1e-6, name="upscale_layer_norm")(upscaled), approximate=False)
        upscaled = gelu(SamUpscale(width // 8, c, name="upscale_conv2")(upscaled), approximate=False)
        hyper = SamHypernetworks(c, name="output_hypernetworks_mlps")(mask_out)
        up_height, up_width, up_channels = upscaled.shape[1:]
        upscaled = nchw(upscaled).reshape(batch, points, up_channels, up_height * up_width)
        masks = (hyper @ upscaled).reshape(batch, points, -1, up_height, up_width)
        iou = SamFeedForward(c, c.iou_head_hidden_dim, masks_n, c.iou_head_depth, name="iou_prediction_head")(iou_out)
        keep = slice(1, None) if multimask_output else slice(0, 1)
        return masks[:, :, keep], iou[:, :, keep], attentions


# -- models -------------------------------------------------------------------------------------------------------
class FlaxSamVisionModule(nn.Module):
    config: SamVisionConfig
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, pixel_values, deterministic=True, output_attentions=False, output_hidden_states=False,
                 return_dict=True, **kwargs):  # fmt: skip
        result = SamVisionEncoder(self.config, name="vision_encoder")(pixel_values, output_attentions,
                                                                      output_hidden_states, deterministic)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxSamModule(nn.Module):
    config: SamConfig
    dtype: Any = jnp.float32

    def setup(self):
        c = self.config
        self.shared_image_embedding = SamPositionalEmbedding(c.vision_config)
        self.vision_encoder = SamVisionEncoder(c.vision_config)
        self.prompt_encoder = SamPromptEncoder(c)
        self.mask_decoder = SamMaskDecoder(c.mask_decoder_config)

    def get_image_wide_positional_embeddings(self):
        size = self.config.prompt_encoder_config.image_embedding_size
        centres = (jnp.arange(size, dtype=jnp.float32) + 0.5) / size
        grid = jnp.stack([jnp.broadcast_to(centres[None, :], (size, size)),
                          jnp.broadcast_to(centres[:, None], (size, size))], axis=-1)  # fmt: skip
        return fourier_features(grid, self.shared_image_embedding()).transpose(2, 0, 1)[None]

    def get_image_embeddings(self, pixel_values):
        return self.vision_encoder(pixel_values).last_hidden_state

    def get_prompt_embeddings(self, input_points=None, input_labels=None, input_boxes=None, input_masks=None):
        return self.prompt_encoder(self.shared_image_embedding(), input_points, input_labels, input_boxes, input_masks)

    def __call__(self, pixel_values=None, input_points=None, input_labels=None, input_boxes=None, input_masks=None,
                 image_embeddings=None, multimask_output=True, attention_similarity=None, target_embedding=None,
                 deterministic=True, output_attentions=False, output_hidden_states=False, return_dict=True,
                 **kwargs):  # fmt: skip
        if (pixel_values is None) == (image_embeddings is None):
            raise ValueError("Give SamModel exactly one of pixel_values and image_embeddings (from "
                             "get_image_embeddings).")  # fmt: skip
        batch = (pixel_values if pixel_values is not None else image_embeddings).shape[0]
        check_prompts(input_points, input_boxes, batch)
        image_pe = jnp.tile(self.get_image_wide_positional_embeddings(), (batch, 1, 1, 1))
        vision = None
        if pixel_values is not None:
            vision = self.vision_encoder(pixel_values, output_attentions, output_hidden_states, deterministic)
            image_embeddings = vision.last_hidden_state
        if input_points is not None and input_labels is None:
            input_labels = jnp.ones(input_points.shape[:3], jnp.int32)
        sparse, dense_embeddings = self.prompt_encoder(self.shared_image_embedding(), input_points, input_labels,
                                                       input_boxes, input_masks)  # fmt: skip
        masks, iou, attentions = self.mask_decoder(image_embeddings, image_pe, sparse, dense_embeddings,
                                                   bool(multimask_output), attention_similarity, target_embedding)  # fmt: skip
        result = out.SamImageSegmentationOutput(
            iou_scores=iou, pred_masks=masks,
            vision_hidden_states=vision.hidden_states if vision is not None else None,
            vision_attentions=vision.attentions if vision is not None else None,
            mask_decoder_attentions=attentions if output_attentions else None,
        )  # fmt: skip
        return out.finish(result, return_dict)


def check_prompts(input_points, input_boxes, batch: int) -> None:
    """transformers' checks of the prompt shapes, with its messages."""
    if input_points is not None and input_points.ndim != 4:
        raise ValueError("The input_points must be a 4D tensor of shape (batch_size, point_batch_size, "
                         f"nb_points_per_image, 2); got {tuple(input_points.shape)}.")  # fmt: skip
    if input_boxes is not None and input_boxes.ndim != 3:
        raise ValueError(f"The input_boxes must be a 3D tensor of shape (batch_size, nb_boxes, 4); got "
                         f"{tuple(input_boxes.shape)}.")  # fmt: skip
    if input_points is not None and input_boxes is not None and input_points.shape[1] != input_boxes.shape[1]:
        raise ValueError("You should provide as many bounding boxes as input points per box. Got "
                         f"{input_points.shape[1]} and {input_boxes.shape[1]}.")  # fmt: skip
    if input_points is not None and input_points.shape[0] != batch:
        raise ValueError(f"The batch size of the image embeddings and the input points must be the same. Got {batch} "
                         f"and {input_points.shape[0]} respectively; pass several prompts for one image as "
                         "input_points of shape (batch_size, point_batch_size, num_points_per_image, 2).")  # fmt: skip


class FlaxSamPreTrainedModel(FlaxPreTrainedModel):
    config_class = SamConfig
    base_model_prefix = "sam"
    main_input_name = "pixel_values"
    # transformers' SamModel ties the prompt encoder's copy of the positional features to shared_image_embedding
    _keys_to_ignore_on_load_unexpected = [r"prompt_encoder\.shared_embedding\.positional_embedding"]


class FlaxSamVisionModel(FlaxSamPreTrainedModel):
    config_class = SamVisionConfig
    module_class = FlaxSamVisionModule

    def dummy_inputs(self) -> dict:
        c = self.config
        return {"pixel_values": jnp.zeros((1, c.num_channels, c.image_size, c.image_size), jnp.float32)}


class FlaxSamModel(FlaxSamPreTrainedModel):
    module_class = FlaxSamModule

    def dummy_inputs(self) -> dict:
        v, p = self.config.vision_config, self.config.prompt_encoder_config
        mask = 4 * p.image_embedding_size
        return {"pixel_values": jnp.zeros((1, v.num_channels, v.image_size, v.image_size), jnp.float32),
                "input_points": jnp.zeros((1, 1, 1, 2), jnp.float32), "input_labels": jnp.ones((1, 1, 1), jnp.int32),
                "input_boxes": jnp.zeros((1, 1, 4), jnp.float32),
                "input_masks": jnp.zeros((1, 1, mask, mask), jnp.float32)}  # fmt: skip

    def get_image_embeddings(self, pixel_values, params=None):
        return self.module.apply({"params": params or self.params}, jnp.asarray(pixel_values),
                                 method=FlaxSamModule.get_image_embeddings)  # fmt: skip

    def get_prompt_embeddings(self, input_points=None, input_labels=None, input_boxes=None, input_masks=None,
                              params=None):  # fmt: skip
        def array(x):
            return None if x is None else jnp.asarray(x)

        return self.module.apply({"params": params or self.params}, array(input_points), array(input_labels),
                                 array(input_boxes), array(input_masks), method=FlaxSamModule.get_prompt_embeddings)  # fmt: skip
