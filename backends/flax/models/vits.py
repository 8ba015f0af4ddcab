"""VITS in Flax (linen), inference only. transformers has no Flax VITS, so parameter names mirror the PyTorch
modules (weight-normalised convolutions keep weight_g / weight_v, transposed convolutions their PyTorch `weight`,
both in PyTorch's layout). Everything runs channels-last; the spectrogram is returned as [batch, bins, frames].

The number of output frames depends on the predicted durations, so the model runs eagerly (not under jax.jit);
while only shapes are traced (initialisation, jax.eval_shape) a placeholder frame count is used. Noise scaled by
noise_scale / noise_scale_duration is drawn from the "noise" RNG stream when given (`rngs={"noise": key}`
through module.apply), else from PRNGKey(0)."""

from __future__ import annotations

import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from autoload import outputs as out
from autoload.models.vits import VitsConfig

from ..activations import get_activation
from ..blocks.norms import LayerNorm
from ..modeling import FlaxPreTrainedModel

MIN_BIN_SIZE = MIN_DERIVATIVE = 1e-3  # the spline's fixed limits
DDS_LAYER_NORM_EPS = 1e-5  # the depth-separable convolutions' LayerNorms use PyTorch's default eps


def same_padding(kernel_size: int, dilation: int = 1) -> int:
    return (kernel_size * dilation - dilation) // 2


def pad_time(x, left: int, right: int | None = None):
    right = left if right is None else right
    return jnp.pad(x, ((0, 0), (left, right), (0, 0))) if left or right else x


def conv1d(features: int, kernel_size: int, name: str, dilation: int = 1, groups: int = 1, use_bias: bool = True):
    """PyTorch's Conv1d without padding (pad before calling); kernel [k, in/groups, out]."""
    return nn.Conv(features, (kernel_size,), padding="VALID", kernel_dilation=(dilation,), feature_group_count=groups,
                   use_bias=use_bias, kernel_init=nn.initializers.he_normal(), name=name)  # fmt: skip


def layer_norm(name: str, eps: float):
    return LayerNorm(epsilon=eps, name=name)


def noise_key(module: nn.Module):
    return module.make_rng("noise") if module.has_rng("noise") else jax.random.PRNGKey(0)


# -- text encoder ---------------------------------------------------------------------------------------------------
class FlaxVitsAttention(nn.Module):
    config: VitsConfig

    def relative_table(self, embeddings, length: int):
        w = self.config.window_size
        positions = jnp.arange(length)
        offsets = positions[None, :] - positions[:, None]
        inside = (jnp.abs(offsets) <= w).astype(embeddings.dtype)
        return embeddings[0][jnp.clip(offsets, -w, w) + w] * inside[..., None]

    @nn.compact
    def __call__(self, hidden_states, attention_bias=None):
        c = self.config
        heads, head_dim, w = c.num_attention_heads, c.head_dim, c.window_size
        batch, length, size = hidden_states.shape

        def proj(name):
            return nn.Dense(size, use_bias=c.use_bias, name=name)

        def split(x):
            return x.reshape(batch, length, heads, head_dim).transpose(0, 2, 1, 3)

        query = split(proj("q_proj")(hidden_states) * head_dim**-0.5)
        key, value = split(proj("k_proj")(hidden_states)), split(proj("v_proj")(hidden_states))
        scores = query @ key.transpose(0, 1, 3, 2)
        if w:
            init = nn.initializers.normal(head_dim**-0.5)
            emb_rel_k = self.param("emb_rel_k", init, (1, 2 * w + 1, head_dim))
            emb_rel_v = self.param("emb_rel_v", init, (1, 2 * w + 1, head_dim))
            scores = scores + jnp.einsum("bhqd,qkd->bhqk", query, self.relative_table(emb_rel_k, length))
        if attention_bias is not None:
            scores = scores + attention_bias
        weights = jax.nn.softmax(scores, axis=-1)
        context = weights @ value
        if w:
            context = context + jnp.einsum("bhqk,qkd->bhqd", weights, self.relative_table(emb_rel_v, length))
        context = context.transpose(0, 2, 1, 3).reshape(batch, length, size)
        return proj("out_proj")(context), weights


class FlaxVitsFeedForward(nn.Module):
    config: VitsConfig

    @nn.compact
    def __call__(self, hidden_states, padding_mask):
        c = self.config
        kernel = c.ffn_kernel_size
        padding = ((kernel - 1) // 2, kernel // 2)
        x = conv1d(c.ffn_dim, kernel, "conv_1")(pad_time(hidden_states * padding_mask, *padding))
        x = get_activation(c.hidden_act)(x)
        return conv1d(c.hidden_size, kernel, "conv_2")(pad_time(x * padding_mask, *padding)) * padding_mask


class FlaxVitsEncoderLayer(nn.Module):
    config: VitsConfig

    @nn.compact
    def __call__(self, hidden_states, padding_mask, attention_bias=None):
        c = self.config
        attended, weights = FlaxVitsAttention(c, name="attention")(hidden_states, attention_bias)
        hidden_states = layer_norm("layer_norm", c.layer_norm_eps)(hidden_states + attended)
        fed = FlaxVitsFeedForward(c, name="feed_forward")(hidden_states, padding_mask)
        return layer_norm("final_layer_norm", c.layer_norm_eps)(hidden_states + fed), weights


class FlaxVitsEncoder(nn.Module):
    config: VitsConfig

    @nn.compact
    def __call__(self, hidden, padding_mask, attention_mask=None, output_attentions=False, output_hidden_states=False):
        bias = None
        if attention_mask is not None:
            keep = attention_mask.astype(hidden.dtype)[:, None, None, :]
            bias = (1.0 - keep) * jnp.finfo(hidden.dtype).min
        hidden = hidden * padding_mask
        states, attentions = (), ()
        for i in range(self.config.num_hidden_layers):
            if output_hidden_states:
                states += (hidden,)
            hidden, weights = FlaxVitsEncoderLayer(self.config, name=f"layers.{i}")(hidden, padding_mask, bias)
            attentions += (weights,)
        hidden = hidden * padding_mask
        if output_hidden_states:
            states += (hidden,)
        return out.BaseModelOutput(last_hidden_state=hidden, hidden_states=states if output_hidden_states else None,
                                   attentions=attentions if output_attentions else None)  # fmt: skip


class FlaxVitsTextEncoder(nn.Module):
    config: VitsConfig

    @nn.compact
    def __call__(self, input_ids, padding_mask, attention_mask=None, output_attentions=False,
                 output_hidden_states=False):  # fmt: skip
        c = self.config
        embed = nn.Embed(c.vocab_size, c.hidden_size, embedding_init=nn.initializers.normal(c.initializer_range),
                         name="embed_tokens")  # fmt: skip
        hidden = embed(input_ids) * math.sqrt(c.hidden_size)
        encoded = FlaxVitsEncoder(c, name="encoder")(hidden, padding_mask, attention_mask, output_attentions,
                                                     output_hidden_states)  # fmt: skip
        stats = conv1d(c.flow_size * 2, 1, "project")(encoded.last_hidden_state) * padding_mask
        return encoded, stats[..., : c.flow_size], stats[..., c.flow_size:]


# -- WaveNet and the prior flow -------------------------------------------------------------------------------------
class WeightNormConv1D(nn.Module):
    """kernel = weight_g * weight_v / |weight_v| (norm over all but the output axis), PyTorch layouts."""

    in_channels: int
    features: int
    kernel_size: int
    dilation: int = 1
    padding: int = 0

    @nn.compact
    def __call__(self, x):
        v = self.param("weight_v", nn.initializers.he_normal(), (self.features, self.in_channels, self.kernel_size))
        g = self.param("weight_g", nn.initializers.ones, (self.features, 1, 1))
        bias = self.param("bias", nn.initializers.zeros, (self.features,))
        kernel = (g * v / jnp.sqrt(jnp.sum(v * v, axis=(1, 2), keepdims=True))).transpose(2, 1, 0)
        y = jax.lax.conv_general_dilated(pad_time(x, self.padding), kernel, (1,), "VALID", rhs_dilation=(self.dilation,),
                                         dimension_numbers=("NWC", "WIO", "NWC"))  # fmt: skip
        return y + bias


class FlaxVitsWaveNet(nn.Module):
    config: VitsConfig
    num_layers: int

    @nn.compact
    def __call__(self, inputs, padding_mask, global_conditioning=None):
        c = self.config
        size, layers, kernel = c.hidden_size, self.num_layers, c.wavenet_kernel_size
        if global_conditioning is not None:
            global_conditioning = WeightNormConv1D(c.speaker_embedding_size, 2 * size * layers, 1,
                                                   name="cond_layer")(global_conditioning)  # fmt: skip
        skipped = jnp.zeros_like(inputs)
        for i in range(layers):
            dilation = c.wavenet_dilation_rate**i
            gates = WeightNormConv1D(size, 2 * size, kernel, dilation, same_padding(kernel, dilation),
                                     name=f"in_layers.{i}")(inputs)  # fmt: skip
            if global_conditioning is not None:
                gates = gates + global_conditioning[..., 2 * size * i: 2 * size * (i + 1)]
            acts = jnp.tanh(gates[..., :size]) * jax.nn.sigmoid(gates[..., size:])
            width = 2 * size if i < layers - 1 else size
            res_skip = WeightNormConv1D(size, width, 1, name=f"res_skip_layers.{i}")(acts)
            if i < layers - 1:
                inputs = (inputs + res_skip[..., :size]) * padding_mask
                skipped = skipped + res_skip[..., size:]
            else:
                skipped = skipped + res_skip
        return skipped * padding_mask


class FlaxVitsPosteriorEncoder(nn.Module):
    """Training only (as in transformers); run once at initialisation so its parameters exist."""

    config: VitsConfig

    @nn.compact
    def __call__(self, inputs, padding_mask, global_conditioning=None):
        c = self.config
        hidden = conv1d(c.hidden_size, 1, "conv_pre")(inputs) * padding_mask
        hidden = FlaxVitsWaveNet(c, c.posterior_encoder_num_wavenet_layers, name="wavenet")(
            hidden, padding_mask, global_conditioning
        )
        return conv1d(c.flow_size * 2, 1, "conv_proj")(hidden) * padding_mask


class FlaxVitsResidualCouplingLayer(nn.Module):
    config: VitsConfig

    @nn.compact
    def __call__(self, inputs, padding_mask, global_conditioning=None):
        c = self.config
        half = c.flow_size // 2
        first, second = inputs[..., :half], inputs[..., half:]
        hidden = conv1d(c.hidden_size, 1, "conv_pre")(first) * padding_mask
        hidden = FlaxVitsWaveNet(c, c.prior_encoder_num_wavenet_layers, name="wavenet")(
            hidden, padding_mask, global_conditioning
        )
        mean = conv1d(half, 1, "conv_post")(hidden) * padding_mask
        return jnp.concatenate([first, (second - mean) * padding_mask], axis=-1)


class FlaxVitsResidualCouplingBlock(nn.Module):
    """The prior flow, run backwards."""

    config: VitsConfig

    @nn.compact
    def __call__(self, inputs, padding_mask, global_conditioning=None):
        for i in reversed(range(self.config.prior_encoder_num_flows)):
            inputs = FlaxVitsResidualCouplingLayer(self.config, name=f"flows.{i}")(
                inputs[..., ::-1], padding_mask, global_conditioning
            )
        return inputs


# -- duration predictors --------------------------------------------------------------------------------------------
class FlaxVitsDilatedDepthSeparableConv(nn.Module):
    config: VitsConfig

    @nn.compact
    def __call__(self, inputs, padding_mask, global_conditioning=None):
        c = self.config
        kernel, channels = c.duration_predictor_kernel_size, c.hidden_size
        if global_conditioning is not None:
            inputs = inputs + global_conditioning
        for i in range(c.depth_separable_num_layers):
            dilation = kernel**i
            hidden = conv1d(channels, kernel, f"convs_dilated.{i}", dilation, groups=channels)(
                pad_time(inputs * padding_mask, same_padding(kernel, dilation))
            )
            hidden = nn.gelu(layer_norm(f"norms_1.{i}", DDS_LAYER_NORM_EPS)(hidden), approximate=False)
            hidden = conv1d(channels, 1, f"convs_pointwise.{i}")(hidden)
            hidden = nn.gelu(layer_norm(f"norms_2.{i}", DDS_LAYER_NORM_EPS)(hidden), approximate=False)
            inputs = inputs + hidden
        return inputs * padding_mask


def inverse_rational_quadratic_spline(inputs, widths, heights, derivatives, tail_bound: float):
    """See the PyTorch backend: the inverse of a monotone rational-quadratic spline on [-B, B], identity outside."""
    bins = widths.shape[-1]
    widen = [(0, 0)] * (widths.ndim - 1)

    def knots(unnormalised):
        sizes = MIN_BIN_SIZE + (1 - MIN_BIN_SIZE * bins) * jax.nn.softmax(unnormalised, axis=-1)
        edges = jnp.pad(jnp.cumsum(sizes, axis=-1), widen + [(1, 0)]) * 2 * tail_bound - tail_bound
        edges = edges.at[..., 0].set(-tail_bound).at[..., -1].set(tail_bound)
        return edges, edges[..., 1:] - edges[..., :-1]

    x_knots, bin_widths = knots(widths)
    y_knots, bin_heights = knots(heights)
    boundary = math.log(math.expm1(1 - MIN_DERIVATIVE))
    slopes = MIN_DERIVATIVE + jax.nn.softplus(jnp.pad(derivatives, widen + [(1, 1)], constant_values=boundary))

    inside = (inputs >= -tail_bound) & (inputs <= tail_bound)
    y = jnp.where(inside, inputs, 0.0)
    locations = y_knots.at[..., -1].add(1e-6)
    index = jnp.clip(jnp.sum(y[..., None] >= locations, axis=-1) - 1, 0, bins - 1)[..., None]

    def pick(table):
        return jnp.take_along_axis(table, index, axis=-1)[..., 0]

    x0, width, y0, height = pick(x_knots), pick(bin_widths), pick(y_knots), pick(bin_heights)
    delta = height / width
    slope0, slope1 = pick(slopes[..., :-1]), pick(slopes[..., 1:])
    curvature = slope0 + slope1 - 2 * delta
    offset = y - y0
    a = height * (delta - slope0) + offset * curvature
    b = height * slope0 - offset * curvature
    c = -delta * offset
    discriminant = b * b - 4 * a * c
    if not isinstance(discriminant, jax.core.Tracer) and bool(jnp.any(jnp.where(inside, discriminant, 0.0) < 0)):
        raise RuntimeError("VITS duration flow: the spline inversion met a negative discriminant (invalid weights?).")
    theta = (2 * c) / (-b - jnp.sqrt(jnp.maximum(discriminant, 0.0)))
    return jnp.where(inside, theta * width + x0, inputs)


class FlaxVitsConvFlow(nn.Module):
    config: VitsConfig

    @nn.compact
    def __call__(self, inputs, padding_mask, global_conditioning=None):
        c = self.config
        half, bins, filters = c.depth_separable_channels // 2, c.duration_predictor_flow_bins, c.hidden_size
        first, second = inputs[..., :half], inputs[..., half:]
        hidden = conv1d(filters, 1, "conv_pre")(first)
        hidden = FlaxVitsDilatedDepthSeparableConv(c, name="conv_dds")(hidden, padding_mask, global_conditioning)
        hidden = conv1d(half * (bins * 3 - 1), 1, "conv_proj")(hidden) * padding_mask
        batch, length = hidden.shape[:2]
        hidden = hidden.reshape(batch, length, half, bins * 3 - 1)
        scale = math.sqrt(filters)
        second = inverse_rational_quadratic_spline(second, hidden[..., :bins] / scale,
                                                   hidden[..., bins: 2 * bins] / scale, hidden[..., 2 * bins:],
                                                   c.duration_predictor_tail_bound)  # fmt: skip
        return jnp.concatenate([first, second], axis=-1) * padding_mask


class FlaxVitsElementwiseAffine(nn.Module):
    config: VitsConfig

    @nn.compact
    def __call__(self, inputs, padding_mask, global_conditioning=None):
        shape = (self.config.depth_separable_channels, 1)
        translate = self.param("translate", nn.initializers.zeros, shape)
        log_scale = self.param("log_scale", nn.initializers.zeros, shape)
        return (inputs - translate[:, 0]) * jnp.exp(-log_scale[:, 0]) * padding_mask


class FlaxVitsStochasticDurationPredictor(nn.Module):
    config: VitsConfig

    def setup(self):
        c = self.config
        channels, flows = c.hidden_size, c.duration_predictor_num_flows
        self.conv_pre = conv1d(channels, 1, "conv_pre")
        self.conv_proj = conv1d(channels, 1, "conv_proj")
        self.conv_dds = FlaxVitsDilatedDepthSeparableConv(c, name="conv_dds")
        if c.speaker_embedding_size:
            self.cond = conv1d(channels, 1, "cond")
        self.flows = [FlaxVitsElementwiseAffine(c, name="flows.0")] + [
            FlaxVitsConvFlow(c, name=f"flows.{i + 1}") for i in range(flows)
        ]
        self.post_conv_pre = conv1d(channels, 1, "post_conv_pre")
        self.post_conv_proj = conv1d(channels, 1, "post_conv_proj")
        self.post_conv_dds = FlaxVitsDilatedDepthSeparableConv(c, name="post_conv_dds")
        self.post_flows = [FlaxVitsElementwiseAffine(c, name="post_flows.0")] + [
            FlaxVitsConvFlow(c, name=f"post_flows.{i + 1}") for i in range(flows)
        ]

    def __call__(self, inputs, padding_mask, global_conditioning=None, noise_scale=1.0):
        inputs = self.conv_pre(jax.lax.stop_gradient(inputs))
        if global_conditioning is not None:
            inputs = inputs + self.cond(jax.lax.stop_gradient(global_conditioning))
        inputs = self.conv_proj(self.conv_dds(inputs, padding_mask)) * padding_mask
        latents = jax.random.normal(noise_key(self), inputs.shape[:2] + (2,), inputs.dtype) * noise_scale
        backwards = self.flows[::-1]
        for flow in backwards[:-2] + backwards[-1:]:
            latents = flow(latents[..., ::-1], padding_mask, inputs)
        if self.is_initializing():  # the training-only modules: run once so their parameters exist
            probe = jnp.zeros(inputs.shape[:2] + (1,), inputs.dtype)
            hidden = self.post_conv_proj(self.post_conv_dds(self.post_conv_pre(probe), padding_mask))
            for flow in self.post_flows + self.flows[1:2]:
                flow(jnp.zeros(inputs.shape[:2] + (2,), inputs.dtype), padding_mask, hidden)
        return latents[..., :1]


class FlaxVitsDurationPredictor(nn.Module):
    config: VitsConfig

    @nn.compact
    def __call__(self, inputs, padding_mask, global_conditioning=None):
        c = self.config
        kernel, channels = c.duration_predictor_kernel_size, c.duration_predictor_filter_channels
        inputs = jax.lax.stop_gradient(inputs)
        if global_conditioning is not None:
            inputs = inputs + conv1d(c.hidden_size, 1, "cond")(jax.lax.stop_gradient(global_conditioning))
        for i in (1, 2):
            inputs = jax.nn.relu(conv1d(channels, kernel, f"conv_{i}")(pad_time(inputs * padding_mask, kernel // 2)))
            inputs = layer_norm(f"norm_{i}", c.layer_norm_eps)(inputs)
        return conv1d(1, 1, "proj")(inputs * padding_mask) * padding_mask


# -- HiFi-GAN decoder -----------------------------------------------------------------------------------------------
class TransposedConv1D(nn.Module):
    """PyTorch's ConvTranspose1d: `weight` [in, out, k] and `bias` in PyTorch's layout, stride and padding."""

    in_channels: int
    features: int
    kernel_size: int
    stride: int
    padding: int

    @nn.compact
    def __call__(self, x):
        weight = self.param("weight", nn.initializers.he_normal(), (self.in_channels, self.features, self.kernel_size))
        bias = self.param("bias", nn.initializers.zeros, (self.features,))
        kernel = jnp.flip(weight, -1).transpose(2, 0, 1)  # [k, in, out]
        edge = self.kernel_size - 1 - self.padding
        y = jax.lax.conv_general_dilated(x, kernel, (1,), [(edge, edge)], lhs_dilation=(self.stride,),
                                         dimension_numbers=("NWC", "WIO", "NWC"))  # fmt: skip
        return y + bias


class FlaxHifiGanResidualBlock(nn.Module):
    channels: int
    kernel_size: int
    dilations: tuple
    leaky_relu_slope: float

    @nn.compact
    def __call__(self, hidden):
        k, slope = self.kernel_size, self.leaky_relu_slope
        for i, dilation in enumerate(self.dilations):
            x = conv1d(self.channels, k, f"convs1.{i}", dilation)(
                pad_time(nn.leaky_relu(hidden, slope), same_padding(k, dilation))
            )
            hidden = conv1d(self.channels, k, f"convs2.{i}")(pad_time(nn.leaky_relu(x, slope), same_padding(k))) + hidden
        return hidden


class FlaxVitsHifiGan(nn.Module):
    config: VitsConfig

    @nn.compact
    def __call__(self, spectrogram, global_conditioning=None):
        c = self.config
        start, slope, kernels = c.upsample_initial_channel, c.leaky_relu_slope, len(c.resblock_kernel_sizes)
        hidden = conv1d(start, 7, "conv_pre")(pad_time(spectrogram, 3))
        if global_conditioning is not None:
            hidden = hidden + conv1d(start, 1, "cond")(global_conditioning)
        for i, (rate, kernel) in enumerate(zip(c.upsample_rates, c.upsample_kernel_sizes)):
            channels = start // 2 ** (i + 1)
            hidden = TransposedConv1D(start // 2**i, channels, kernel, rate, (kernel - rate) // 2,
                                      name=f"upsampler.{i}")(nn.leaky_relu(hidden, slope))  # fmt: skip
            total = 0
            for j, (size, dilations) in enumerate(zip(c.resblock_kernel_sizes, c.resblock_dilation_sizes)):
                block = FlaxHifiGanResidualBlock(channels, size, tuple(dilations), slope,
                                                 name=f"resblocks.{i * kernels + j}")  # fmt: skip
                total = total + block(hidden)
            hidden = total / kernels
        hidden = conv1d(1, 7, "conv_post", use_bias=False)(pad_time(nn.leaky_relu(hidden, 0.01), 3))
        return jnp.tanh(hidden)


# -- model ----------------------------------------------------------------------------------------------------------
def frame_count(lengths, placeholder: int) -> int:
    """The longest predicted length, or `placeholder` while only shapes are traced."""
    if isinstance(lengths, jax.core.Tracer):
        return placeholder
    return int(jnp.max(lengths))


class FlaxVitsModule(nn.Module):
    config: VitsConfig
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, input_ids, attention_mask=None, speaker_id=None, output_attentions=False,
                 output_hidden_states=False, return_dict=True, deterministic=True, speaking_rate=None,
                 noise_scale=None, noise_scale_duration=None, **kwargs):  # fmt: skip
        if not deterministic:
            raise NotImplementedError("VITS in Flax runs inference only (train=True is not supported).")
        c = self.config
        speaking_rate = c.speaking_rate if speaking_rate is None else speaking_rate
        noise_scale = c.noise_scale if noise_scale is None else noise_scale
        noise_scale_duration = c.noise_scale_duration if noise_scale_duration is None else noise_scale_duration
        mask = jnp.ones_like(input_ids) if attention_mask is None else attention_mask
        input_mask = mask.astype(jnp.float32)[..., None]
        speaker = None
        if c.num_speakers > 1 and speaker_id is not None:
            table = nn.Embed(c.num_speakers, c.speaker_embedding_size, name="embed_speaker")
            ids = jnp.reshape(jnp.asarray(speaker_id), (-1,))
            concrete = not isinstance(ids, jax.core.Tracer)
            if ids.shape != (1,) or (concrete and not 0 <= int(ids[0]) < c.num_speakers):
                raise ValueError(f"speaker_id must be one int in the range 0-{c.num_speakers - 1}, got {speaker_id}.")
            speaker = table(ids)[:, None, :]
        encoded, means, log_variances = FlaxVitsTextEncoder(c, name="text_encoder")(
            input_ids, input_mask, attention_mask, output_attentions, output_hidden_states
        )
        if self.is_initializing():
            posterior_input = jnp.zeros(input_ids.shape[:1] + (1, c.spectrogram_bins))
            FlaxVitsPosteriorEncoder(c, name="posterior_encoder")(posterior_input, jnp.ones((1, 1, 1)), speaker)
        hidden = encoded.last_hidden_state
        if c.use_stochastic_duration_prediction:
            predictor = FlaxVitsStochasticDurationPredictor(c, name="duration_predictor")
            log_duration = predictor(hidden, input_mask, speaker, noise_scale_duration)
        else:
            log_duration = FlaxVitsDurationPredictor(c, name="duration_predictor")(hidden, input_mask, speaker)
        durations = jnp.ceil(jnp.exp(log_duration) * input_mask * (1.0 / speaking_rate))
        lengths = jnp.maximum(jnp.sum(durations, axis=(1, 2)), 1).astype(jnp.int32)
        frames = jnp.arange(frame_count(lengths, input_ids.shape[1]))
        output_mask = (frames[None, :] < lengths[:, None]).astype(input_mask.dtype)[..., None]
        ends = jnp.cumsum(durations[..., 0], axis=-1)
        starts = ends - durations[..., 0]
        position = frames.astype(ends.dtype)[None, :, None]
        alignment = ((position >= starts[:, None, :]) & (position < ends[:, None, :])).astype(input_mask.dtype)
        alignment = alignment * input_mask.transpose(0, 2, 1) * output_mask
        means, log_variances = alignment @ means, alignment @ log_variances
        latents = means + jax.random.normal(noise_key(self), means.shape) * jnp.exp(log_variances) * noise_scale
        spectrogram = FlaxVitsResidualCouplingBlock(c, name="flow")(latents, output_mask, speaker) * output_mask
        waveform = FlaxVitsHifiGan(c, name="decoder")(spectrogram, speaker)[..., 0]
        result = out.from_encoded(out.VitsModelOutput, encoded, waveform=waveform,
                                  spectrogram=spectrogram.transpose(0, 2, 1),
                                  sequence_lengths=lengths * c.hop_length)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxVitsPreTrainedModel(FlaxPreTrainedModel):
    config_class = VitsConfig
    base_model_prefix = "vits"
    module_class = FlaxVitsModule

    def __init__(self, config, *args, **kwargs):
        config.check_sizes()
        super().__init__(config, *args, **kwargs)

    def dummy_inputs(self) -> dict:
        inputs = {"input_ids": jnp.zeros((1, 2), dtype="i4")}
        if self.config.num_speakers > 1:  # so the speaker embedding and conditioning layers are created too
            inputs["speaker_id"] = 0
        return inputs


class FlaxVitsModel(FlaxVitsPreTrainedModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        # Synthesis settings users change on the model after loading (model.noise_scale = ...), as in PyTorch; they
        # reach the module as call arguments (a linen module's fields are frozen).
        self.speaking_rate = config.speaking_rate
        self.noise_scale = config.noise_scale
        self.noise_scale_duration = config.noise_scale_duration

    def __call__(self, *args, **kwargs):
        for name in ("speaking_rate", "noise_scale", "noise_scale_duration"):
            kwargs.setdefault(name, getattr(self, name))
        return super().__call__(*args, **kwargs)

