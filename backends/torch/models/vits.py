"""VITS in PyTorch (inference): text encoder with windowed relative-position attention, duration predictor,
length regulation, the prior flow run backwards and the HiFi-GAN decoder. The posterior encoder is built so its
weights load and save, but inference does not use it (as in transformers)."""

from __future__ import annotations

import math

import torch
from torch import nn

from autoload import outputs as out
from autoload.models.vits import VitsConfig

from ..activations import get_activation
from ..modeling import PreTrainedModel

MIN_BIN_WIDTH = MIN_BIN_HEIGHT = MIN_DERIVATIVE = 1e-3  # the spline's fixed limits
DDS_LAYER_NORM_EPS = 1e-5  # the depth-separable convolutions' LayerNorms keep torch's default eps


def same_padding(kernel_size: int, dilation: int = 1) -> int:
    return (kernel_size * dilation - dilation) // 2


def channel_layer_norm(norm: nn.LayerNorm, x):
    """LayerNorm over the channels of a [batch, channels, time] tensor."""
    return norm(x.transpose(1, -1)).transpose(1, -1)


# -- text encoder ---------------------------------------------------------------------------------------------------
class VitsAttention(nn.Module):
    """Self-attention whose logits and outputs add learned embeddings of the relative offset key - query, for
    offsets within +-window_size (emb_rel_k / emb_rel_v: [1, 2 * window + 1, head_dim], shared by the heads)."""

    def __init__(self, config: VitsConfig):
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_dim = config.head_dim
        self.scaling = self.head_dim**-0.5
        self.window_size = config.window_size
        self.dropout = config.attention_dropout
        size = config.hidden_size
        self.k_proj = nn.Linear(size, size, bias=config.use_bias)
        self.v_proj = nn.Linear(size, size, bias=config.use_bias)
        self.q_proj = nn.Linear(size, size, bias=config.use_bias)
        self.out_proj = nn.Linear(size, size, bias=config.use_bias)
        if self.window_size:
            self.emb_rel_k = nn.Parameter(torch.zeros(1, 2 * self.window_size + 1, self.head_dim))
            self.emb_rel_v = nn.Parameter(torch.zeros(1, 2 * self.window_size + 1, self.head_dim))

    def relative_table(self, embeddings, length: int):
        """[length(query), length(key), head_dim]: the embedding of offset key - query, zero beyond the window."""
        positions = torch.arange(length, device=embeddings.device)
        offsets = positions[None, :] - positions[:, None]
        inside = (offsets.abs() <= self.window_size).to(embeddings.dtype)
        index = offsets.clamp(-self.window_size, self.window_size) + self.window_size
        return embeddings[0][index] * inside[..., None]

    def split_heads(self, x):
        batch, length, _ = x.shape
        return x.view(batch, length, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, hidden_states, attention_bias=None, output_attentions=False):
        batch, length, _ = hidden_states.shape
        query = self.split_heads(self.q_proj(hidden_states) * self.scaling)
        key = self.split_heads(self.k_proj(hidden_states))
        value = self.split_heads(self.v_proj(hidden_states))
        scores = query @ key.transpose(-1, -2)
        if self.window_size:
            scores = scores + torch.einsum("bhqd,qkd->bhqk", query, self.relative_table(self.emb_rel_k, length))
        if attention_bias is not None:
            scores = scores + attention_bias
        weights = scores.softmax(-1)
        probs = nn.functional.dropout(weights, p=self.dropout, training=self.training)
        context = probs @ value
        if self.window_size:
            context = context + torch.einsum("bhqk,qkd->bhqd", probs, self.relative_table(self.emb_rel_v, length))
        context = context.transpose(1, 2).reshape(batch, length, -1)
        return self.out_proj(context), (weights if output_attentions else None)


class VitsFeedForward(nn.Module):
    """Two convolutions over time (kernel ffn_kernel_size, padded left (k-1)//2 and right k//2), masked."""

    def __init__(self, config: VitsConfig):
        super().__init__()
        self.conv_1 = nn.Conv1d(config.hidden_size, config.ffn_dim, config.ffn_kernel_size)
        self.conv_2 = nn.Conv1d(config.ffn_dim, config.hidden_size, config.ffn_kernel_size)
        self.act_fn = get_activation(config.hidden_act)
        self.dropout = nn.Dropout(config.activation_dropout)
        kernel = config.ffn_kernel_size
        self.padding = ((kernel - 1) // 2, kernel // 2)

    def forward(self, hidden_states, padding_mask):
        x = hidden_states.transpose(1, 2)
        mask = padding_mask.transpose(1, 2)
        x = self.conv_1(nn.functional.pad(x * mask, self.padding))
        x = self.dropout(self.act_fn(x))
        x = self.conv_2(nn.functional.pad(x * mask, self.padding))
        return (x * mask).transpose(1, 2)


class VitsEncoderLayer(nn.Module):
    """Post-norm: LayerNorm(x + attention), then LayerNorm(x + feed-forward)."""

    def __init__(self, config: VitsConfig):
        super().__init__()
        self.attention = VitsAttention(config)
        self.dropout = nn.Dropout(config.hidden_dropout)
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.feed_forward = VitsFeedForward(config)
        self.final_layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states, padding_mask, attention_bias=None, output_attentions=False):
        attended, weights = self.attention(hidden_states, attention_bias, output_attentions)
        hidden_states = self.layer_norm(hidden_states + self.dropout(attended))
        fed = self.feed_forward(hidden_states, padding_mask)
        return self.final_layer_norm(hidden_states + self.dropout(fed)), weights


class VitsEncoder(nn.Module):
    def __init__(self, config: VitsConfig):
        super().__init__()
        self.layerdrop = config.layerdrop
        self.layers = nn.ModuleList([VitsEncoderLayer(config) for _ in range(config.num_hidden_layers)])

    def forward(self, hidden_states, padding_mask, attention_mask=None, output_attentions=False,
                output_hidden_states=False):  # fmt: skip
        bias = None
        if attention_mask is not None:
            keep = attention_mask[:, None, None, :].to(hidden_states.dtype)
            bias = (1.0 - keep) * torch.finfo(hidden_states.dtype).min
        hidden_states = hidden_states * padding_mask
        states, attentions = (), ()
        for layer in self.layers:
            if output_hidden_states:
                states += (hidden_states,)
            if self.training and torch.rand(()) < self.layerdrop:
                attentions += (None,)
                continue
            hidden_states, weights = layer(hidden_states, padding_mask, bias, output_attentions)
            attentions += (weights,)
        hidden_states = hidden_states * padding_mask
        if output_hidden_states:
            states += (hidden_states,)
        return out.BaseModelOutput(last_hidden_state=hidden_states, hidden_states=states if output_hidden_states
                                   else None, attentions=attentions if output_attentions else None)  # fmt: skip


class VitsTextEncoder(nn.Module):
    """Token embeddings (scaled by sqrt(hidden_size)), the encoder, and `project` to the prior's means and log
    variances (flow_size each)."""

    def __init__(self, config: VitsConfig):
        super().__init__()
        self.config = config
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size, config.pad_token_id)
        self.encoder = VitsEncoder(config)
        self.project = nn.Conv1d(config.hidden_size, config.flow_size * 2, kernel_size=1)

    def forward(self, input_ids, padding_mask, attention_mask=None, output_attentions=False,
                output_hidden_states=False):  # fmt: skip
        embedded = self.embed_tokens(input_ids) * math.sqrt(self.config.hidden_size)
        encoded = self.encoder(embedded, padding_mask, attention_mask, output_attentions, output_hidden_states)
        stats = self.project(encoded.last_hidden_state.transpose(1, 2)).transpose(1, 2) * padding_mask
        means, log_variances = stats.split(self.config.flow_size, dim=2)
        return encoded, means, log_variances


# -- WaveNet and the prior flow -------------------------------------------------------------------------------------
class VitsWaveNet(nn.Module):
    """Gated dilated convolutions (weight-normalised): tanh(a) * sigmoid(b) of in_layers[i] (plus the speaker's
    conditioning), res_skip_layers[i] splitting into a residual and a skip part (the last layer: skip only)."""

    def __init__(self, config: VitsConfig, num_layers: int):
        super().__init__()
        size = config.hidden_size
        self.hidden_size = size
        self.num_layers = num_layers
        self.dropout = nn.Dropout(config.wavenet_dropout)
        weight_norm = nn.utils.parametrizations.weight_norm
        if config.speaker_embedding_size:
            self.cond_layer = weight_norm(nn.Conv1d(config.speaker_embedding_size, 2 * size * num_layers, 1))
        self.in_layers = nn.ModuleList()
        self.res_skip_layers = nn.ModuleList()
        for i in range(num_layers):
            dilation = config.wavenet_dilation_rate**i
            conv = nn.Conv1d(size, 2 * size, config.wavenet_kernel_size, dilation=dilation,
                             padding=same_padding(config.wavenet_kernel_size, dilation))  # fmt: skip
            self.in_layers.append(weight_norm(conv))
            self.res_skip_layers.append(weight_norm(nn.Conv1d(size, 2 * size if i < num_layers - 1 else size, 1)))

    def forward(self, inputs, padding_mask, global_conditioning=None):
        size = self.hidden_size
        if global_conditioning is not None:
            global_conditioning = self.cond_layer(global_conditioning)
        skipped = torch.zeros_like(inputs)
        for i in range(self.num_layers):
            gates = self.in_layers[i](inputs)
            if global_conditioning is not None:
                gates = gates + global_conditioning[:, 2 * size * i: 2 * size * (i + 1)]
            acts = self.dropout(torch.tanh(gates[:, :size]) * torch.sigmoid(gates[:, size:]))
            res_skip = self.res_skip_layers[i](acts)
            if i < self.num_layers - 1:
                inputs = (inputs + res_skip[:, :size]) * padding_mask
                skipped = skipped + res_skip[:, size:]
            else:
                skipped = skipped + res_skip
        return skipped * padding_mask


class VitsPosteriorEncoder(nn.Module):
    """Spectrogram -> latent (training only; kept for its weights). Samples with torch's generator."""

    def __init__(self, config: VitsConfig):
        super().__init__()
        self.out_channels = config.flow_size
        self.conv_pre = nn.Conv1d(config.spectrogram_bins, config.hidden_size, 1)
        self.wavenet = VitsWaveNet(config, config.posterior_encoder_num_wavenet_layers)
        self.conv_proj = nn.Conv1d(config.hidden_size, self.out_channels * 2, 1)

    def forward(self, inputs, padding_mask, global_conditioning=None):
        hidden = self.wavenet(self.conv_pre(inputs) * padding_mask, padding_mask, global_conditioning)
        mean, log_stddev = (self.conv_proj(hidden) * padding_mask).split(self.out_channels, dim=1)
        return (mean + torch.randn_like(mean) * torch.exp(log_stddev)) * padding_mask, mean, log_stddev


class VitsResidualCouplingLayer(nn.Module):
    """Mean-only affine coupling: the second half of the channels shifted by a WaveNet of the first half."""

    def __init__(self, config: VitsConfig):
        super().__init__()
        self.half_channels = config.flow_size // 2
        self.conv_pre = nn.Conv1d(self.half_channels, config.hidden_size, 1)
        self.wavenet = VitsWaveNet(config, config.prior_encoder_num_wavenet_layers)
        self.conv_post = nn.Conv1d(config.hidden_size, self.half_channels, 1)

    def shift(self, first_half, padding_mask, global_conditioning):
        hidden = self.wavenet(self.conv_pre(first_half) * padding_mask, padding_mask, global_conditioning)
        return self.conv_post(hidden) * padding_mask

    def forward(self, inputs, padding_mask, global_conditioning=None, reverse=False):
        first_half, second_half = inputs.split(self.half_channels, dim=1)
        mean = self.shift(first_half, padding_mask, global_conditioning)
        second_half = (second_half - mean if reverse else second_half + mean) * padding_mask
        return torch.cat([first_half, second_half], dim=1)


class VitsResidualCouplingBlock(nn.Module):
    """The prior flow: coupling layers, each followed by a flip of the channels."""

    def __init__(self, config: VitsConfig):
        super().__init__()
        self.flows = nn.ModuleList([VitsResidualCouplingLayer(config) for _ in range(config.prior_encoder_num_flows)])

    def forward(self, inputs, padding_mask, global_conditioning=None, reverse=False):
        if not reverse:
            for flow in self.flows:
                inputs = torch.flip(flow(inputs, padding_mask, global_conditioning), [1])
            return inputs
        for flow in reversed(self.flows):
            inputs = flow(torch.flip(inputs, [1]), padding_mask, global_conditioning, reverse=True)
        return inputs


# -- duration predictors --------------------------------------------------------------------------------------------
class VitsDilatedDepthSeparableConv(nn.Module):
    """Residual layers of depthwise dilated conv (dilation kernel**i) -> LayerNorm -> GELU -> pointwise conv ->
    LayerNorm -> GELU."""

    def __init__(self, config: VitsConfig, dropout_rate: float = 0.0):
        super().__init__()
        kernel = config.duration_predictor_kernel_size
        channels = config.hidden_size
        self.num_layers = config.depth_separable_num_layers
        self.dropout = nn.Dropout(dropout_rate)
        self.convs_dilated = nn.ModuleList()
        self.convs_pointwise = nn.ModuleList()
        self.norms_1 = nn.ModuleList()
        self.norms_2 = nn.ModuleList()
        for i in range(self.num_layers):
            dilation = kernel**i
            self.convs_dilated.append(nn.Conv1d(channels, channels, kernel, groups=channels, dilation=dilation,
                                                padding=same_padding(kernel, dilation)))  # fmt: skip
            self.convs_pointwise.append(nn.Conv1d(channels, channels, 1))
            self.norms_1.append(nn.LayerNorm(channels, eps=DDS_LAYER_NORM_EPS))
            self.norms_2.append(nn.LayerNorm(channels, eps=DDS_LAYER_NORM_EPS))

    def forward(self, inputs, padding_mask, global_conditioning=None):
        if global_conditioning is not None:
            inputs = inputs + global_conditioning
        gelu = nn.functional.gelu
        for i in range(self.num_layers):
            hidden = gelu(channel_layer_norm(self.norms_1[i], self.convs_dilated[i](inputs * padding_mask)))
            hidden = gelu(channel_layer_norm(self.norms_2[i], self.convs_pointwise[i](hidden)))
            inputs = inputs + self.dropout(hidden)
        return inputs * padding_mask


def inverse_rational_quadratic_spline(inputs, widths, heights, derivatives, tail_bound: float):
    """Invert a monotone rational-quadratic spline on [-tail_bound, tail_bound] (identity outside). `widths`,
    `heights`: unnormalised bin sizes [..., bins]; `derivatives`: unnormalised inner knot slopes [..., bins - 1]
    (the outer knots have slope 1)."""
    bins = widths.shape[-1]
    span = 2 * tail_bound

    def knots(unnormalised, minimum):
        sizes = minimum + (1 - minimum * bins) * unnormalised.softmax(-1)
        edges = nn.functional.pad(sizes.cumsum(-1), (1, 0)) * span - tail_bound
        edges = torch.cat([torch.full_like(edges[..., :1], -tail_bound), edges[..., 1:-1],
                           torch.full_like(edges[..., :1], tail_bound)], dim=-1)  # fmt: skip
        return edges, edges[..., 1:] - edges[..., :-1]

    x_knots, bin_widths = knots(widths, MIN_BIN_WIDTH)
    y_knots, bin_heights = knots(heights, MIN_BIN_HEIGHT)
    boundary = math.log(math.expm1(1 - MIN_DERIVATIVE))  # softplus(boundary) + MIN_DERIVATIVE == 1
    slopes = MIN_DERIVATIVE + nn.functional.softplus(nn.functional.pad(derivatives, (1, 1), value=boundary))

    inside = (inputs >= -tail_bound) & (inputs <= tail_bound)
    y = torch.where(inside, inputs, torch.zeros_like(inputs))
    locations = torch.cat([y_knots[..., :-1], y_knots[..., -1:] + 1e-6], dim=-1)
    index = ((y[..., None] >= locations).sum(-1) - 1).clamp(0, bins - 1)[..., None]

    def pick(table):
        return table.gather(-1, index)[..., 0]

    x0, width, y0, height = pick(x_knots), pick(bin_widths), pick(y_knots), pick(bin_heights)
    delta = height / width
    slope0, slope1 = pick(slopes[..., :-1]), pick(slopes[..., 1:])
    curvature = slope0 + slope1 - 2 * delta
    offset = y - y0
    a = height * (delta - slope0) + offset * curvature
    b = height * slope0 - offset * curvature
    c = -delta * offset
    discriminant = b * b - 4 * a * c
    if bool((discriminant[inside] < 0).any()):
        raise RuntimeError("VITS duration flow: the spline inversion met a negative discriminant (invalid weights?).")
    theta = (2 * c) / (-b - torch.sqrt(discriminant.clamp_min(0)))
    return torch.where(inside, theta * width + x0, inputs)


class VitsConvFlow(nn.Module):
    """Neural spline coupling: the second half transformed by a rational-quadratic spline whose bins come from
    the first half (conv_pre -> depth-separable convs -> conv_proj)."""

    def __init__(self, config: VitsConfig):
        super().__init__()
        self.filter_channels = config.hidden_size
        self.half_channels = config.depth_separable_channels // 2
        self.num_bins = config.duration_predictor_flow_bins
        self.tail_bound = config.duration_predictor_tail_bound
        self.conv_pre = nn.Conv1d(self.half_channels, self.filter_channels, 1)
        self.conv_dds = VitsDilatedDepthSeparableConv(config)
        self.conv_proj = nn.Conv1d(self.filter_channels, self.half_channels * (self.num_bins * 3 - 1), 1)

    def forward(self, inputs, padding_mask, global_conditioning=None, reverse=True):
        if not reverse:
            raise NotImplementedError("VITS: only inference (the reverse flow) is supported, as in transformers.")
        first_half, second_half = inputs.split(self.half_channels, dim=1)
        hidden = self.conv_dds(self.conv_pre(first_half), padding_mask, global_conditioning)
        hidden = self.conv_proj(hidden) * padding_mask
        batch, channels, length = first_half.shape
        hidden = hidden.reshape(batch, channels, -1, length).permute(0, 1, 3, 2)
        bins, scale = self.num_bins, math.sqrt(self.filter_channels)
        second_half = inverse_rational_quadratic_spline(second_half, hidden[..., :bins] / scale,
                                                        hidden[..., bins: 2 * bins] / scale, hidden[..., 2 * bins:],
                                                        self.tail_bound)  # fmt: skip
        return torch.cat([first_half, second_half], dim=1) * padding_mask


class VitsElementwiseAffine(nn.Module):
    def __init__(self, config: VitsConfig):
        super().__init__()
        self.translate = nn.Parameter(torch.zeros(config.depth_separable_channels, 1))
        self.log_scale = nn.Parameter(torch.zeros(config.depth_separable_channels, 1))

    def forward(self, inputs, padding_mask, global_conditioning=None, reverse=True):
        if not reverse:
            raise NotImplementedError("VITS: only inference (the reverse flow) is supported, as in transformers.")
        return (inputs - self.translate) * torch.exp(-self.log_scale) * padding_mask


class VitsStochasticDurationPredictor(nn.Module):
    """Log durations from noise (scaled by noise_scale) run backwards through the flows, conditioned on the text
    encoding. The first spline flow is skipped on the way back, as in the original VITS; post_* modules are only
    used in training and are kept for their weights."""

    def __init__(self, config: VitsConfig):
        super().__init__()
        channels = config.hidden_size
        self.conv_pre = nn.Conv1d(channels, channels, 1)
        self.conv_proj = nn.Conv1d(channels, channels, 1)
        self.conv_dds = VitsDilatedDepthSeparableConv(config, dropout_rate=config.duration_predictor_dropout)
        if config.speaker_embedding_size:
            self.cond = nn.Conv1d(config.speaker_embedding_size, channels, 1)
        flows = config.duration_predictor_num_flows
        self.flows = nn.ModuleList([VitsElementwiseAffine(config)] + [VitsConvFlow(config) for _ in range(flows)])
        self.post_conv_pre = nn.Conv1d(1, channels, 1)
        self.post_conv_proj = nn.Conv1d(channels, channels, 1)
        self.post_conv_dds = VitsDilatedDepthSeparableConv(config, dropout_rate=config.duration_predictor_dropout)
        self.post_flows = nn.ModuleList(
            [VitsElementwiseAffine(config)] + [VitsConvFlow(config) for _ in range(flows)]
        )

    def forward(self, inputs, padding_mask, global_conditioning=None, noise_scale=1.0):
        inputs = self.conv_pre(inputs.detach())
        if global_conditioning is not None:
            inputs = inputs + self.cond(global_conditioning.detach())
        inputs = self.conv_proj(self.conv_dds(inputs, padding_mask)) * padding_mask
        batch, _, length = inputs.shape
        latents = torch.randn(batch, 2, length, device=inputs.device, dtype=inputs.dtype) * noise_scale
        backwards = list(self.flows)[::-1]
        for flow in backwards[:-2] + backwards[-1:]:
            latents = flow(torch.flip(latents, [1]), padding_mask, global_conditioning=inputs, reverse=True)
        return latents[:, :1]


class VitsDurationPredictor(nn.Module):
    """The deterministic predictor: two conv -> ReLU -> LayerNorm blocks and a projection to one log duration."""

    def __init__(self, config: VitsConfig):
        super().__init__()
        kernel = config.duration_predictor_kernel_size
        channels = config.duration_predictor_filter_channels
        self.dropout = nn.Dropout(config.duration_predictor_dropout)
        self.conv_1 = nn.Conv1d(config.hidden_size, channels, kernel, padding=kernel // 2)
        self.norm_1 = nn.LayerNorm(channels, eps=config.layer_norm_eps)
        self.conv_2 = nn.Conv1d(channels, channels, kernel, padding=kernel // 2)
        self.norm_2 = nn.LayerNorm(channels, eps=config.layer_norm_eps)
        self.proj = nn.Conv1d(channels, 1, 1)
        if config.speaker_embedding_size:
            self.cond = nn.Conv1d(config.speaker_embedding_size, config.hidden_size, 1)

    def forward(self, inputs, padding_mask, global_conditioning=None):
        inputs = inputs.detach()
        if global_conditioning is not None:
            inputs = inputs + self.cond(global_conditioning.detach())
        inputs = self.dropout(channel_layer_norm(self.norm_1, torch.relu(self.conv_1(inputs * padding_mask))))
        inputs = self.dropout(channel_layer_norm(self.norm_2, torch.relu(self.conv_2(inputs * padding_mask))))
        return self.proj(inputs * padding_mask) * padding_mask


# -- HiFi-GAN decoder -----------------------------------------------------------------------------------------------
class HifiGanResidualBlock(nn.Module):
    def __init__(self, channels: int, kernel_size: int, dilations, leaky_relu_slope: float):
        super().__init__()
        self.leaky_relu_slope = leaky_relu_slope
        self.convs1 = nn.ModuleList([nn.Conv1d(channels, channels, kernel_size, dilation=d,
                                               padding=same_padding(kernel_size, d)) for d in dilations])  # fmt: skip
        self.convs2 = nn.ModuleList([nn.Conv1d(channels, channels, kernel_size, padding=same_padding(kernel_size))
                                     for _ in dilations])  # fmt: skip

    def forward(self, hidden_states):
        act = nn.functional.leaky_relu
        for conv1, conv2 in zip(self.convs1, self.convs2):
            residual = hidden_states
            hidden_states = conv2(act(conv1(act(hidden_states, self.leaky_relu_slope)), self.leaky_relu_slope))
            hidden_states = hidden_states + residual
        return hidden_states


class VitsHifiGan(nn.Module):
    """conv_pre, then per upsampling stage: leaky ReLU, transposed conv, the mean of the multi-receptive-field
    residual blocks; leaky ReLU (slope 0.01), conv_post and tanh."""

    def __init__(self, config: VitsConfig):
        super().__init__()
        self.leaky_relu_slope = config.leaky_relu_slope
        self.num_kernels = len(config.resblock_kernel_sizes)
        start = config.upsample_initial_channel
        self.conv_pre = nn.Conv1d(config.flow_size, start, kernel_size=7, padding=3)
        self.upsampler = nn.ModuleList()
        self.resblocks = nn.ModuleList()
        channels = start
        for i, (rate, kernel) in enumerate(zip(config.upsample_rates, config.upsample_kernel_sizes)):
            channels = start // 2 ** (i + 1)
            self.upsampler.append(nn.ConvTranspose1d(start // 2**i, channels, kernel, stride=rate,
                                                     padding=(kernel - rate) // 2))  # fmt: skip
            for size, dilations in zip(config.resblock_kernel_sizes, config.resblock_dilation_sizes):
                self.resblocks.append(HifiGanResidualBlock(channels, size, dilations, config.leaky_relu_slope))
        self.conv_post = nn.Conv1d(channels, 1, kernel_size=7, padding=3, bias=False)
        if config.speaker_embedding_size:
            self.cond = nn.Conv1d(config.speaker_embedding_size, start, 1)

    def forward(self, spectrogram, global_conditioning=None):
        hidden = self.conv_pre(spectrogram)
        if global_conditioning is not None:
            hidden = hidden + self.cond(global_conditioning)
        for i, upsample in enumerate(self.upsampler):
            hidden = upsample(nn.functional.leaky_relu(hidden, self.leaky_relu_slope))
            blocks = self.resblocks[i * self.num_kernels: (i + 1) * self.num_kernels]
            hidden = sum(block(hidden) for block in blocks) / self.num_kernels
        return torch.tanh(self.conv_post(nn.functional.leaky_relu(hidden)))


# -- model ----------------------------------------------------------------------------------------------------------
def regulate_lengths(durations, input_mask):
    """Frame-to-token alignment from integer-valued durations and the input mask (both [batch, 1, tokens]): ([batch, frames, tokens] one-hot
    rows, output mask [batch, 1, frames], frame counts [batch])."""
    lengths = durations.sum([1, 2]).clamp_min(1).long()
    frames = torch.arange(int(lengths.max()), device=durations.device)
    output_mask = (frames[None, :] < lengths[:, None]).unsqueeze(1).to(input_mask.dtype)
    ends = durations[:, 0].cumsum(-1)
    starts = ends - durations[:, 0]
    position = frames.to(ends.dtype)[None, :, None]
    alignment = ((position >= starts[:, None, :]) & (position < ends[:, None, :])).to(input_mask.dtype)
    alignment = alignment * input_mask * output_mask.transpose(1, 2)
    return alignment, output_mask, lengths


class VitsPreTrainedModel(PreTrainedModel):
    config_class = VitsConfig
    base_model_prefix = "vits"
    main_input_name = "input_ids"

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, (nn.Conv1d, nn.ConvTranspose1d)):
            with torch.no_grad():
                nn.init.kaiming_normal_(module.weight)
                if module.bias is not None:
                    bound = math.sqrt(module.groups / (module.in_channels * module.kernel_size[0]))
                    nn.init.uniform_(module.bias, -bound, bound)
        elif isinstance(module, VitsAttention) and module.window_size:
            nn.init.normal_(module.emb_rel_k, std=module.head_dim**-0.5)
            nn.init.normal_(module.emb_rel_v, std=module.head_dim**-0.5)
        elif isinstance(module, VitsElementwiseAffine):
            nn.init.zeros_(module.translate)
            nn.init.zeros_(module.log_scale)


class VitsModel(VitsPreTrainedModel):
    def __init__(self, config: VitsConfig):
        super().__init__(config)
        config.check_sizes()
        # Synthesis settings users change on the model after loading (model.noise_scale = ...), as in transformers.
        self.speaking_rate = config.speaking_rate
        self.noise_scale = config.noise_scale
        self.noise_scale_duration = config.noise_scale_duration
        self.text_encoder = VitsTextEncoder(config)
        self.flow = VitsResidualCouplingBlock(config)
        self.decoder = VitsHifiGan(config)
        if config.use_stochastic_duration_prediction:
            self.duration_predictor = VitsStochasticDurationPredictor(config)
        else:
            self.duration_predictor = VitsDurationPredictor(config)
        if config.num_speakers > 1:
            self.embed_speaker = nn.Embedding(config.num_speakers, config.speaker_embedding_size)
        self.posterior_encoder = VitsPosteriorEncoder(config)

    def get_input_embeddings(self):
        return self.text_encoder.embed_tokens

    def get_encoder(self):
        return self.text_encoder

    def speaker_embeddings(self, speaker_id):
        c = self.config
        if c.num_speakers <= 1 or speaker_id is None:
            return None
        ids = torch.as_tensor(speaker_id, device=self.device).reshape(-1)
        if ids.numel() != 1 or not 0 <= int(ids[0]) < c.num_speakers:
            raise ValueError(f"speaker_id must be one int in the range 0-{c.num_speakers - 1}, got {speaker_id}.")
        return self.embed_speaker(ids).unsqueeze(-1)

    def forward(self, input_ids=None, attention_mask=None, speaker_id=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, labels=None, **kwargs):  # fmt: skip
        if labels is not None:
            raise NotImplementedError("Training of VITS is not supported (labels were given), as in transformers.")
        if input_ids is None:
            raise ValueError("VitsModel needs input_ids (token ids from VitsTokenizer).")
        c = self.config
        dtype = self.text_encoder.embed_tokens.weight.dtype
        mask = attention_mask if attention_mask is not None else torch.ones_like(input_ids)
        input_mask = mask.unsqueeze(-1).to(dtype)
        speaker = self.speaker_embeddings(speaker_id)
        encoded, means, log_variances = self.text_encoder(
            input_ids, input_mask, attention_mask, self._flag(output_attentions, "output_attentions"),
            self._flag(output_hidden_states, "output_hidden_states"),
        )
        hidden = encoded.last_hidden_state.transpose(1, 2)
        input_mask = input_mask.transpose(1, 2)
        if c.use_stochastic_duration_prediction:
            log_duration = self.duration_predictor(hidden, input_mask, speaker, noise_scale=self.noise_scale_duration)
        else:
            log_duration = self.duration_predictor(hidden, input_mask, speaker)
        durations = torch.ceil(torch.exp(log_duration) * input_mask * (1.0 / self.speaking_rate))
        alignment, output_mask, lengths = regulate_lengths(durations, input_mask)
        means = (alignment @ means).transpose(1, 2)
        log_variances = (alignment @ log_variances).transpose(1, 2)
        latents = means + torch.randn_like(means) * torch.exp(log_variances) * self.noise_scale
        spectrogram = self.flow(latents, output_mask, speaker, reverse=True) * output_mask
        waveform = self.decoder(spectrogram, speaker).squeeze(1)
        result = out.from_encoded(out.VitsModelOutput, encoded, waveform=waveform, spectrogram=spectrogram,
                                  sequence_lengths=lengths * c.hop_length)  # fmt: skip
        return self._finish(result, return_dict)
