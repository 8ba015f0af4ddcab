"""VideoMAE in PyTorch: tubelet embeddings (a 3-D convolution) with fixed sinusoidal positions, the ViT encoder of
the vision blocks with VideoMAE's separate query / value biases, the masked-autoencoder pre-training decoder with
its normalised-pixel loss, and the video classifier."""

from __future__ import annotations

import torch
from torch import nn

from autoload import outputs as out
from autoload.models.videomae import IMAGENET_MEAN, IMAGENET_STD, VideoMAEConfig, sinusoid_table

from ..blocks.vision import ViTAttention, ViTEncoder, ViTLayer, ViTSelfAttention, attend
from ..heads import ImageClassificationModel, TaskModel
from ..modeling import PreTrainedModel


class VideoMAESelfAttention(ViTSelfAttention):
    """query / key / value without biases of their own; with qkv_bias, `q_bias` and `v_bias` (the key has none)."""

    def __init__(self, config: VideoMAEConfig, window=None):
        super().__init__(config, None)
        size = config.hidden_size
        self.q_bias = nn.Parameter(torch.zeros(size)) if config.qkv_bias else None
        self.v_bias = nn.Parameter(torch.zeros(size)) if config.qkv_bias else None

    def forward(self, hidden, bias=None, head_mask=None, output_attentions=False, **kwargs):
        q = self._heads(nn.functional.linear(hidden, self.query.weight, self.q_bias))
        k = self._heads(self.key(hidden))
        v = self._heads(nn.functional.linear(hidden, self.value.weight, self.v_bias))
        context, probs = attend(q, k, v, None, head_mask, self.dropout_p, self.training, output_attentions)
        return context.transpose(1, 2).reshape(hidden.shape), probs


class VideoMAEAttention(ViTAttention):
    self_attention_class = VideoMAESelfAttention


class VideoMAELayer(ViTLayer):
    attention_class = VideoMAEAttention


class VideoMAEEncoder(ViTEncoder):
    layer_class = VideoMAELayer


def check_video(pixel_values, config: VideoMAEConfig) -> None:
    if pixel_values is None or pixel_values.ndim != 5:
        shape = None if pixel_values is None else tuple(pixel_values.shape)
        raise ValueError(f"pixel_values must be a video batch [batch, frames, channels, height, width]; got {shape}.")
    _, frames, channels, height, width = pixel_values.shape
    if channels != config.num_channels:
        raise ValueError(
            "Make sure that the channel dimension of the pixel values match with the one set in the configuration."
        )
    size = config.image_size if isinstance(config.image_size, (list, tuple)) else (config.image_size,) * 2
    if (height, width) != tuple(size):
        raise ValueError(f"Input image size ({height}*{width}) doesn't match model ({size[0]}*{size[1]}).")
    if frames // config.tubelet_size != config.tubelet_grid[0]:
        raise ValueError(
            f"The video has {frames} frames; the model's positions cover num_frames={config.num_frames} (in tubelets "
            f"of {config.tubelet_size})."
        )


class VideoMAEPatchEmbeddings(nn.Module):
    """Non-overlapping tubelets (tubelet_size frames x patch x patch) projected by a 3-D convolution (`projection`)."""

    def __init__(self, config: VideoMAEConfig):
        super().__init__()
        patch = config.patch_size if isinstance(config.patch_size, (list, tuple)) else (config.patch_size,) * 2
        kernel = (int(config.tubelet_size), *patch)
        self.projection = nn.Conv3d(config.num_channels, config.hidden_size, kernel, kernel)

    def forward(self, pixel_values):
        return self.projection(pixel_values.permute(0, 2, 1, 3, 4)).flatten(2).transpose(1, 2)


class VideoMAEEmbeddings(nn.Module):
    """Tubelet embeddings plus the fixed sinusoidal table; with bool_masked_pos only the visible tubelets remain."""

    def __init__(self, config: VideoMAEConfig):
        super().__init__()
        self.config = config
        self.patch_embeddings = VideoMAEPatchEmbeddings(config)
        table = torch.from_numpy(sinusoid_table(config.num_patches, config.hidden_size))
        self.register_buffer("position_embeddings", table, persistent=False)

    def forward(self, pixel_values, bool_masked_pos=None):
        check_video(pixel_values, self.config)
        embeds = self.patch_embeddings(pixel_values.to(self.patch_embeddings.projection.weight.dtype))
        embeds = embeds + self.position_embeddings.to(embeds.dtype)
        if bool_masked_pos is not None:
            batch, _, channels = embeds.shape
            embeds = embeds[~bool_masked_pos.bool()].reshape(batch, -1, channels)
        return embeds


class VideoMAEPreTrainedModel(PreTrainedModel):
    config_class = VideoMAEConfig
    base_model_prefix = "videomae"
    main_input_name = "pixel_values"

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, nn.Conv3d):
            nn.init.normal_(module.weight, std=self.config.initializer_range)
            nn.init.zeros_(module.bias)


class VideoMAEModel(VideoMAEPreTrainedModel):
    def __init__(self, config: VideoMAEConfig):
        super().__init__(config)
        config.videomae_options()
        self.embeddings = VideoMAEEmbeddings(config)
        self.encoder = VideoMAEEncoder(config)
        self.layernorm = None if config.use_mean_pooling else nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def get_input_embeddings(self):
        return self.embeddings.patch_embeddings

    def forward(self, pixel_values=None, bool_masked_pos=None, head_mask=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, **kwargs):  # fmt: skip
        hidden = self.embeddings(pixel_values, bool_masked_pos)
        hidden, states, attentions = self.encoder(hidden, head_mask, self._flag(output_attentions, "output_attentions"),
                                                  self._flag(output_hidden_states, "output_hidden_states"))  # fmt: skip
        if self.layernorm is not None:
            hidden = self.layernorm(hidden)
        result = out.BaseModelOutput(last_hidden_state=hidden, hidden_states=states, attentions=attentions)
        return self._finish(result, return_dict)


class VideoMAEForVideoClassification(ImageClassificationModel, VideoMAEPreTrainedModel):
    base_class = VideoMAEModel

    def __init__(self, config: VideoMAEConfig):
        super().__init__(config)
        self.fc_norm = nn.LayerNorm(config.hidden_size) if config.use_mean_pooling else None

    def pool(self, encoded, input_ids=None, mask=None):
        """fc_norm of the mean over tubelets (use_mean_pooling), else the first tubelet's state."""
        hidden = encoded.last_hidden_state
        return self.fc_norm(hidden.mean(1)) if self.fc_norm is not None else hidden[:, 0]


class VideoMAEDecoder(nn.Module):
    """`decoder_layers.<i>` (the encoder's layer at the decoder's sizes), then `norm` and the pixel `head` on the
    last return_token_num tokens."""

    def __init__(self, config: VideoMAEConfig):
        super().__init__()
        decoder = config.decoder_config()
        self.decoder_layers = nn.ModuleList(VideoMAELayer(decoder, i) for i in range(decoder.num_hidden_layers))
        self.norm = nn.LayerNorm(config.decoder_hidden_size)
        outputs = config.videomae_options()["decoder_outputs"]
        self.head = nn.Linear(config.decoder_hidden_size, outputs) if outputs > 0 else nn.Identity()

    def forward(self, hidden, return_token_num: int):
        for layer in self.decoder_layers:
            hidden, _ = layer(hidden)
        if return_token_num > 0:
            hidden = hidden[:, -return_token_num:]
        return self.head(self.norm(hidden))


def tubelet_pixels(pixel_values, config: VideoMAEConfig) -> torch.Tensor:
    """The reconstruction target: each tubelet's pixels [batch, tubelets, tubelet * patch * patch * channels],
    unnormalised from ImageNet statistics for RGB, each tubelet normalised per channel with norm_pix_loss."""
    if config.num_channels == 3:
        mean = torch.tensor(IMAGENET_MEAN, dtype=pixel_values.dtype, device=pixel_values.device)[None, None, :, None, None]
        std = torch.tensor(IMAGENET_STD, dtype=pixel_values.dtype, device=pixel_values.device)[None, None, :, None, None]
        frames = pixel_values * std + mean
    elif not config.norm_pix_loss:
        raise ValueError("Can't unnormalize non-RGB images. Consider setting config.norm_pix_loss to False.")
    else:
        frames = pixel_values
    batch, time, channels, height, width = frames.shape
    t, p = int(config.tubelet_size), config.patch_size
    frames = frames.view(batch, time // t, t, channels, height // p, p, width // p, p)
    frames = frames.permute(0, 1, 4, 6, 2, 5, 7, 3).reshape(batch, -1, t * p * p, channels)
    if config.norm_pix_loss:
        frames = (frames - frames.mean(dim=-2, keepdim=True)) / (frames.var(dim=-2, unbiased=True, keepdim=True).sqrt() + 1e-6)
    return frames.reshape(batch, frames.shape[1], -1)


class VideoMAEForPreTraining(TaskModel, VideoMAEPreTrainedModel):
    """Encodes the visible tubelets, projects them to the decoder's width (`encoder_to_decoder`), appends the
    `mask_token` for every masked one (each with its sinusoidal position) and predicts the masked tubelets' pixels;
    the loss is their mean squared error to the (normalised) pixels."""

    base_class = VideoMAEModel

    def __init__(self, config: VideoMAEConfig):
        super().__init__(config)
        self.encoder_to_decoder = nn.Linear(config.hidden_size, config.decoder_hidden_size, bias=False)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, config.decoder_hidden_size))
        table = torch.from_numpy(sinusoid_table(config.num_patches, config.decoder_hidden_size))
        self.register_buffer("position_embeddings", table, persistent=False)
        self.decoder = VideoMAEDecoder(config)

    def forward(self, pixel_values=None, bool_masked_pos=None, head_mask=None, return_dict=None, **kwargs):
        if bool_masked_pos is None:
            raise ValueError("One must provided a boolean mask ")
        bool_masked_pos = bool_masked_pos.bool()
        encoded = self.encode(pixel_values, bool_masked_pos=bool_masked_pos, head_mask=head_mask, **kwargs)
        visible = self.encoder_to_decoder(encoded.last_hidden_state)
        batch, _, channels = visible.shape
        positions = self.position_embeddings.to(visible.dtype).expand(batch, -1, -1)
        visible_positions = positions[~bool_masked_pos].reshape(batch, -1, channels)
        masked_positions = positions[bool_masked_pos].reshape(batch, -1, channels)
        tokens = torch.cat([visible + visible_positions, self.mask_token + masked_positions], dim=1)
        logits = self.decoder(tokens, masked_positions.shape[1])
        with torch.no_grad():
            target = tubelet_pixels(pixel_values, self.config)
            labels = target[bool_masked_pos].reshape(batch, -1, target.shape[-1])
        loss = nn.functional.mse_loss(logits, labels)
        result = out.from_encoded(out.VideoMAEForPreTrainingOutput, encoded, loss=loss, logits=logits)
        return self._finish(result, return_dict)
