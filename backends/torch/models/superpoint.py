"""SuperPoint in PyTorch: the convolutional encoder, the keypoint decoder (per-pixel scores, non-maximum
suppression, threshold, border removal, top-k) and the descriptor decoder (descriptors sampled bilinearly at the
keypoints). Keypoints vary in number per image: the outputs are padded to the batch's largest count and `mask`
marks the real ones."""

from __future__ import annotations

import torch
from torch import nn

from autoload import outputs as out
from autoload.models.superpoint import CELL, SuperPointConfig

from ..modeling import PreTrainedModel


class SuperPointConvBlock(nn.Module):
    """conv_a -> ReLU -> conv_b -> ReLU (-> 2x2 max pooling)."""

    def __init__(self, in_channels: int, out_channels: int, add_pooling: bool):
        super().__init__()
        self.conv_a = nn.Conv2d(in_channels, out_channels, 3, 1, 1)
        self.conv_b = nn.Conv2d(out_channels, out_channels, 3, 1, 1)
        self.pool = nn.MaxPool2d(2, 2) if add_pooling else None

    def forward(self, x):
        x = nn.functional.relu(self.conv_b(nn.functional.relu(self.conv_a(x))))
        return self.pool(x) if self.pool is not None else x


class SuperPointEncoder(nn.Module):
    """`conv_blocks.<i>` from one (grey) channel; every block but the last halves the resolution."""

    def __init__(self, config: SuperPointConfig):
        super().__init__()
        sizes = config.encoder_hidden_sizes
        blocks = [SuperPointConvBlock(1, sizes[0], True)]
        blocks += [SuperPointConvBlock(sizes[i - 1], sizes[i], True) for i in range(1, len(sizes) - 1)]
        blocks.append(SuperPointConvBlock(sizes[-2], sizes[-1], False))
        self.conv_blocks = nn.ModuleList(blocks)

    def forward(self, x):
        states = ()
        for block in self.conv_blocks:
            x = block(x)
            states += (x,)
        return x, states


def simple_nms(scores: torch.Tensor, radius: int) -> torch.Tensor:
    """Keep the scores that are the maximum of their (2r+1)^2 neighbourhood, twice re-admitting maxima outside the
    neighbourhoods of those already kept; zero elsewhere."""

    def max_pool(x):
        return nn.functional.max_pool2d(x, kernel_size=radius * 2 + 1, stride=1, padding=radius)

    zeros = torch.zeros_like(scores)
    keep = scores == max_pool(scores)
    for _ in range(2):
        suppressed = max_pool(keep.float()) > 0
        rest = torch.where(suppressed, zeros, scores)
        keep = keep | ((rest == max_pool(rest)) & ~suppressed)
    return torch.where(keep, scores, zeros)


class SuperPointInterestPointDecoder(nn.Module):
    """conv_score_a -> ReLU -> conv_score_b: 65 classes per encoder position, softmax, the 64 pixel classes laid
    out as the cell's pixels, then NMS; keypoints are the pixels above keypoint_threshold away from the border,
    the max_keypoints best when that is set, as (x, y)."""

    def __init__(self, config: SuperPointConfig):
        super().__init__()
        self.config = config
        self.conv_score_a = nn.Conv2d(config.encoder_hidden_sizes[-1], config.decoder_hidden_size, 3, 1, 1)
        self.conv_score_b = nn.Conv2d(config.decoder_hidden_size, config.keypoint_decoder_dim, 1)

    def pixel_scores(self, encoded):
        scores = self.conv_score_b(nn.functional.relu(self.conv_score_a(encoded))).softmax(1)[:, :-1]
        batch, _, height, width = scores.shape
        scores = scores.permute(0, 2, 3, 1).reshape(batch, height, width, CELL, CELL)
        scores = scores.permute(0, 1, 3, 2, 4).reshape(batch, height * CELL, width * CELL)
        return simple_nms(scores, self.config.nms_radius)

    def extract(self, scores):
        """Keypoints (x, y) and their scores from one image's [height, width] score map."""
        c = self.config
        height, width = scores.shape
        keypoints = torch.nonzero(scores > c.keypoint_threshold)
        values = scores[tuple(keypoints.t())]
        border = c.border_removal_distance
        # transformers measures the far borders from 8x the map's size (so in effect only the near ones count)
        keep = ((keypoints[:, 0] >= border) & (keypoints[:, 0] < height * CELL - border)
                & (keypoints[:, 1] >= border) & (keypoints[:, 1] < width * CELL - border))  # fmt: skip
        keypoints, values = keypoints[keep], values[keep]
        if 0 <= c.max_keypoints < len(keypoints):
            values, order = torch.topk(values, c.max_keypoints, dim=0)
            keypoints = keypoints[order]
        return torch.flip(keypoints, [1]).to(values.dtype), values


def sample_descriptors(keypoints, descriptors, scale: int = CELL):
    """Bilinear samples (align_corners, zeros outside) of a [channels, h, w] map at pixel keypoints (x, y),
    L2-normalised: [keypoints, channels]."""
    channels, height, width = descriptors.shape
    positions = keypoints - scale / 2 + 0.5
    divisor = torch.tensor([width * scale - scale / 2 - 0.5, height * scale - scale / 2 - 0.5]).to(positions)
    grid = (positions / divisor) * 2 - 1
    sampled = nn.functional.grid_sample(descriptors[None], grid.view(1, 1, -1, 2), mode="bilinear", align_corners=True)
    return nn.functional.normalize(sampled.reshape(channels, -1), p=2, dim=0).t()


class SuperPointDescriptorDecoder(nn.Module):
    """conv_descriptor_a -> ReLU -> conv_descriptor_b, L2-normalised over channels."""

    def __init__(self, config: SuperPointConfig):
        super().__init__()
        self.conv_descriptor_a = nn.Conv2d(config.encoder_hidden_sizes[-1], config.decoder_hidden_size, 3, 1, 1)
        self.conv_descriptor_b = nn.Conv2d(config.decoder_hidden_size, config.descriptor_decoder_dim, 1)

    def forward(self, encoded):
        return nn.functional.normalize(self.conv_descriptor_b(nn.functional.relu(self.conv_descriptor_a(encoded))), dim=1)


def pad_keypoints(per_image, batch: int, descriptor_dim: int, width: int, height: int):
    """Stack per-image (keypoints, scores, descriptors) padded to the largest count, with the int32 mask; keypoints
    relative to the image's width and height."""
    count = max((len(k) for k, _, _ in per_image), default=0)
    device = per_image[0][1].device
    keypoints = torch.zeros(batch, count, 2, device=device)
    scores = torch.zeros(batch, count, device=device)
    descriptors = torch.zeros(batch, count, descriptor_dim, device=device)
    mask = torch.zeros(batch, count, dtype=torch.int, device=device)
    for i, (points, values, vectors) in enumerate(per_image):
        n = len(points)
        keypoints[i, :n], scores[i, :n], descriptors[i, :n], mask[i, :n] = points, values, vectors, 1
    return keypoints / torch.tensor([width, height], device=device), scores, descriptors, mask


class SuperPointPreTrainedModel(PreTrainedModel):
    config_class = SuperPointConfig
    base_model_prefix = "superpoint"
    main_input_name = "pixel_values"

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, nn.Conv2d):
            nn.init.normal_(module.weight, std=self.config.initializer_range)
            nn.init.zeros_(module.bias)


class SuperPointForKeypointDetection(SuperPointPreTrainedModel):
    def __init__(self, config: SuperPointConfig):
        super().__init__(config)
        config.check_sizes()
        self.encoder = SuperPointEncoder(config)
        self.keypoint_decoder = SuperPointInterestPointDecoder(config)
        self.descriptor_decoder = SuperPointDescriptorDecoder(config)

    def forward(self, pixel_values=None, labels=None, output_hidden_states=None, return_dict=None, **kwargs):
        if labels is not None:
            raise ValueError("SuperPoint does not support training for now.")
        if pixel_values is None or pixel_values.ndim != 4:
            raise ValueError("pixel_values must have shape [batch, channels, height, width] (channel 0 is read).")
        grey = pixel_values[:, :1]  # the image processor repeats the grey image over three channels
        batch, _, height, width = grey.shape
        encoded, states = self.encoder(grey)
        scores = self.keypoint_decoder.pixel_scores(encoded)
        maps = self.descriptor_decoder(encoded)
        per_image = []
        for image_scores, descriptor_map in zip(scores, maps):
            points, values = self.keypoint_decoder.extract(image_scores)
            per_image.append((points, values, sample_descriptors(points, descriptor_map)))
        keypoints, scores, descriptors, mask = pad_keypoints(per_image, batch, self.config.descriptor_decoder_dim,
                                                             width, height)  # fmt: skip
        keep = self._flag(output_hidden_states, "output_hidden_states")
        result = out.SuperPointKeypointDescriptionOutput(keypoints=keypoints, scores=scores, descriptors=descriptors,
                                                         mask=mask, hidden_states=states if keep else None)  # fmt: skip
        return self._finish(result, return_dict)
