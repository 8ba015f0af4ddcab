"""Speech-encoder building blocks in Flax (linen) for Wav2Vec2, HuBERT and WavLM, built from
autoload.speech.SpeechOptions; parameter paths follow the PyTorch modules (`conv_layers/0/conv`,
`encoder/layers/0/attention`, weight_g / weight_v), as transformers' Flax Wav2Vec2 names them. Mirrors
autoload/backends/torch/blocks/speech.py. BatchNorm (HuBERT conv_pos_batch_norm) uses its running statistics,
as the other Flax models here do."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from autoload import outputs as out
from autoload.speech import (
    ConvLayerOptions,
    SpeechOptions,
    check_audio,
    effective_frame_lengths,
    refuse_adapter,
    training_masks,
)

from ..activations import get_activation
from ..heads import FlaxTaskModel, HeadModule
from ..modeling import FlaxPreTrainedModel
from .norms import LayerNorm

EPS = 1e-5  # PyTorch's default for the GroupNorm / LayerNorm layers built without an eps


def frame_lengths(config, attention_mask, add_adapter: bool | None = None):
    return config.conv_output_lengths(jnp.asarray(attention_mask).sum(-1), add_adapter)


def frame_mask(config, attention_mask, frames: int, add_adapter: bool | None = None):
    """[batch, frames] bool mask of the frames covering real audio, as transformers derives it."""
    lengths = effective_frame_lengths(frame_lengths(config, attention_mask, add_adapter), frames)
    return jnp.arange(frames)[None, :] < lengths[:, None]


def _dense(config, features: int, name: str, dtype=jnp.float32) -> nn.Dense:
    return nn.Dense(features, dtype=dtype, kernel_init=nn.initializers.normal(config.initializer_range), name=name)


class FlaxChannelNorm(nn.Module):
    """GroupNorm with one group per channel: each channel normalised over time, then scaled and shifted."""

    @nn.compact
    def __call__(self, x):
        mean = x.mean(axis=1, keepdims=True)
        variance = ((x - mean) ** 2).mean(axis=1, keepdims=True)
        scale = self.param("scale", nn.initializers.ones, (x.shape[-1],))
        return (x - mean) / jnp.sqrt(variance + EPS) * scale + self.param("bias", nn.initializers.zeros, (x.shape[-1],))


class FlaxSpeechConvLayer(nn.Module):
    layer: ConvLayerOptions
    options: SpeechOptions

    @nn.compact
    def __call__(self, x):
        layer, o = self.layer, self.options
        x = nn.Conv(layer.out_dim, (layer.kernel,), strides=(layer.stride,), padding="VALID", use_bias=o.conv_bias,
                    kernel_init=nn.initializers.he_normal(), name="conv")(x)  # fmt: skip
        if layer.norm == "group":
            x = FlaxChannelNorm(name="layer_norm")(x)
        elif layer.norm == "layer":
            x = LayerNorm(epsilon=EPS, name="layer_norm")(x)
        return get_activation(o.conv_activation)(x)


class FlaxSpeechConvLayers(nn.Module):
    options: SpeechOptions

    @nn.compact
    def __call__(self, x):
        for i, layer in enumerate(self.options.conv_layers):
            x = FlaxSpeechConvLayer(layer, self.options, name=str(i))(x)
        return x


class FlaxSpeechFeatureEncoder(nn.Module):
    options: SpeechOptions

    @nn.compact
    def __call__(self, input_values):
        return FlaxSpeechConvLayers(self.options, name="conv_layers")(input_values[:, :, None])


class FlaxSpeechFeatureProjection(nn.Module):
    config: Any
    options: SpeechOptions

    @nn.compact
    def __call__(self, features, deterministic=True):
        o = self.options
        if o.feature_layer_norm:
            features = LayerNorm(epsilon=o.layer_norm_eps, name="layer_norm")(features)
        hidden = _dense(self.config, o.hidden_size, "projection")(features)
        return nn.Dropout(o.feat_proj_dropout)(hidden, deterministic=deterministic), features


class FlaxWeightNormConv(nn.Module):
    """The grouped positional conv whose kernel is weight_g * weight_v / |weight_v| (norm over all but the kernel
    axis), stored in PyTorch's [out, in/groups, kernel] layout as the checkpoints have it."""

    options: SpeechOptions

    @nn.compact
    def __call__(self, x):
        o = self.options
        size, groups, width = o.pos_conv_kernel, o.pos_conv_groups, o.hidden_size
        v = self.param("weight_v", nn.initializers.he_normal(), (width, width // groups, size))
        g = self.param("weight_g", nn.initializers.ones, (1, 1, size))
        bias = self.param("bias", nn.initializers.zeros, (width,))
        weight = g * v / jnp.sqrt(jnp.sum(v**2, axis=(0, 1), keepdims=True))
        y = jax.lax.conv_general_dilated(x, jnp.transpose(weight, (2, 1, 0)), (1,), [(size // 2, size // 2)],
                                         dimension_numbers=("NWC", "WIO", "NWC"), feature_group_count=groups)  # fmt: skip
        return y + bias


class FlaxSpeechPositionalConvEmbedding(nn.Module):
    options: SpeechOptions

    @nn.compact
    def __call__(self, hidden):
        o = self.options
        size = o.pos_conv_kernel
        if o.pos_conv_batch_norm:
            hidden = nn.BatchNorm(use_running_average=True, momentum=0.9, epsilon=EPS, name="batch_norm")(hidden)
            y = nn.Conv(o.hidden_size, (size,), padding=[(size // 2, size // 2)], feature_group_count=o.pos_conv_groups,
                        name="conv")(hidden)  # fmt: skip
        else:
            y = FlaxWeightNormConv(o, name="conv")(hidden)
        if size % 2 == 0:  # an even kernel yields one frame too many
            y = y[:, :-1]
        return get_activation(o.conv_activation)(y)


class FlaxSpeechFeedForward(nn.Module):
    config: Any
    options: SpeechOptions

    @nn.compact
    def __call__(self, x, deterministic=True):
        o = self.options
        x = get_activation(o.activation)(_dense(self.config, o.intermediate_size, "intermediate_dense")(x))
        x = nn.Dropout(o.activation_dropout)(x, deterministic=deterministic)
        x = _dense(self.config, o.hidden_size, "output_dense")(x)
        return nn.Dropout(o.hidden_dropout)(x, deterministic=deterministic)


def relative_buckets(length: int, num_buckets: int, max_distance: int):
    """[length, length] bucket of each (query, key) distance (see the PyTorch block)."""
    relative = jnp.arange(length)[None, :] - jnp.arange(length)[:, None]
    half = num_buckets // 2
    exact = half // 2
    buckets = (relative > 0).astype(jnp.int32) * half
    distance = jnp.abs(relative)
    safe = jnp.maximum(distance, 1)  # log(0) is not used (those distances are exact)
    far = jnp.log(safe.astype(jnp.float32) / exact) / math.log(max_distance / exact) * (half - exact)
    far = jnp.minimum((exact + far).astype(jnp.int32), half - 1)
    return buckets + jnp.where(distance < exact, distance, far)


class FlaxSpeechSelfAttention(nn.Module):
    """q/k/v/out_proj self-attention, with WavLM's gated relative position bias when options.relative."""

    config: Any
    options: SpeechOptions
    has_bias_table: bool = False

    @nn.compact
    def __call__(self, hidden, bias=None, position_bias=None, output_attentions=False, deterministic=True):
        o = self.options
        batch, length, _ = hidden.shape

        def heads(x):
            return x.reshape(batch, length, o.num_heads, o.head_dim).transpose(0, 2, 1, 3)

        k = heads(_dense(self.config, o.hidden_size, "k_proj")(hidden))
        v = heads(_dense(self.config, o.hidden_size, "v_proj")(hidden))
        q = heads(_dense(self.config, o.hidden_size, "q_proj")(hidden))
        scores = jnp.einsum("bhqd,bhkd->bhqk", q, k) * (o.head_dim**-0.5)
        if o.relative:
            const = self.param("gru_rel_pos_const", nn.initializers.ones, (1, o.num_heads, 1, 1))
            gates = _dense(self.config, 8, "gru_rel_pos_linear")(heads(hidden))
            gates = jax.nn.sigmoid(gates.reshape(batch, o.num_heads, length, 2, 4).sum(-1))
            gate = gates[..., :1] * (gates[..., 1:] * const - 1.0) + 2.0
            if self.has_bias_table:
                table = nn.Embed(o.relative_buckets, o.num_heads, name="rel_attn_embed")
                buckets = relative_buckets(length, o.relative_buckets, o.relative_max_distance)
                position_bias = table(buckets).transpose(2, 0, 1)  # [heads, query, key]
            scores = scores + gate * position_bias[None]
        if bias is not None:
            scores = scores + bias
        probs = jax.nn.softmax(scores, axis=-1)
        dropped = nn.Dropout(o.attention_dropout)(probs, deterministic=deterministic)
        context = jnp.einsum("bhqk,bhkd->bhqd", dropped, v).transpose(0, 2, 1, 3).reshape(batch, length, -1)
        if output_attentions and o.relative:  # WavLM reports head-averaged weights, repeated per head
            probs = jnp.broadcast_to(probs.mean(1, keepdims=True), probs.shape)
        output = _dense(self.config, o.hidden_size, "out_proj")(context)
        return output, probs if output_attentions else None, position_bias


class FlaxSpeechAttnAdapterLayer(nn.Module):
    config: Any
    options: SpeechOptions

    @nn.compact
    def __call__(self, hidden):
        hidden = LayerNorm(epsilon=EPS, name="norm")(hidden)
        hidden = jax.nn.relu(_dense(self.config, self.options.attn_adapter_dim, "linear_1")(hidden))
        return _dense(self.config, self.options.hidden_size, "linear_2")(hidden)


class FlaxSpeechEncoderLayer(nn.Module):
    config: Any
    options: SpeechOptions
    index: int

    @nn.compact
    def __call__(self, hidden, bias=None, position_bias=None, output_attentions=False, deterministic=True):
        o = self.options
        attention = FlaxSpeechSelfAttention(self.config, o, has_bias_table=self.index == 0, name="attention")
        dropout = nn.Dropout(o.hidden_dropout)
        norm = LayerNorm(epsilon=o.layer_norm_eps, name="layer_norm")
        final_norm = LayerNorm(epsilon=o.layer_norm_eps, name="final_layer_norm")
        feed_forward = FlaxSpeechFeedForward(self.config, o, name="feed_forward")
        if o.stable_layer_norm:
            attended, probs, position_bias = attention(norm(hidden), bias, position_bias, output_attentions,
                                                       deterministic)  # fmt: skip
            hidden = hidden + dropout(attended, deterministic=deterministic)
            hidden = hidden + feed_forward(final_norm(hidden), deterministic)
            if o.attn_adapter_dim is not None:
                hidden = hidden + FlaxSpeechAttnAdapterLayer(self.config, o, name="adapter_layer")(hidden)
            return hidden, probs, position_bias
        attended, probs, position_bias = attention(hidden, bias, position_bias, output_attentions, deterministic)
        hidden = norm(hidden + dropout(attended, deterministic=deterministic))
        hidden = final_norm(hidden + feed_forward(hidden, deterministic))
        return hidden, probs, position_bias


class FlaxSpeechEncoderLayers(nn.Module):
    config: Any
    options: SpeechOptions

    @nn.compact
    def __call__(self, hidden, bias=None, output_attentions=False, deterministic=True):
        o = self.options
        states, attentions, position_bias = (), (), None
        for i in range(o.num_layers):
            states += (hidden,)
            layer = FlaxSpeechEncoderLayer(self.config, o, i, name=str(i))
            # LayerDrop while training, decided when the call is traced (as transformers' Flax models do).
            if not deterministic and (i > 0 or not o.relative) and np.random.uniform() < o.layerdrop:
                attentions += (None,)
                continue
            hidden, probs, position_bias = layer(hidden, bias, position_bias, output_attentions, deterministic)
            attentions += (probs,)
        return hidden, states, attentions


class FlaxSpeechEncoder(nn.Module):
    config: Any
    options: SpeechOptions

    @nn.compact
    def __call__(self, hidden, frames=None, output_attentions=False, deterministic=True):
        o = self.options
        bias = None
        if frames is not None:
            hidden = jnp.where(frames[..., None], hidden, 0.0)
            bias = jnp.where(frames, 0.0, jnp.finfo(hidden.dtype).min)[:, None, None, :].astype(hidden.dtype)
        hidden = hidden + FlaxSpeechPositionalConvEmbedding(o, name="pos_conv_embed")(hidden)
        norm = LayerNorm(epsilon=o.layer_norm_eps, name="layer_norm")
        if not o.stable_layer_norm:
            hidden = norm(hidden)
        hidden = nn.Dropout(o.hidden_dropout)(hidden, deterministic=deterministic)
        hidden, states, attentions = FlaxSpeechEncoderLayers(self.config, o, name="layers")(
            hidden, bias, output_attentions, deterministic
        )
        if o.stable_layer_norm:
            hidden = norm(hidden)
        return hidden, states + (hidden,), attentions if output_attentions else None


class FlaxSpeechAdapterLayer(nn.Module):
    options: SpeechOptions

    @nn.compact
    def __call__(self, hidden):
        a = self.options.adapter
        conv = nn.Conv(2 * a.width, (a.kernel,), strides=(a.stride,), padding=[(1, 1)], name="conv")
        return nn.glu(conv(hidden), axis=-1)


class FlaxSpeechAdapterLayers(nn.Module):
    options: SpeechOptions

    @nn.compact
    def __call__(self, hidden, deterministic=True):
        for i in range(self.options.adapter.num_layers):
            layer = FlaxSpeechAdapterLayer(self.options, name=str(i))
            if deterministic or np.random.random() > self.options.layerdrop:
                hidden = layer(hidden)
        return hidden


class FlaxSpeechAdapter(nn.Module):
    """add_adapter: optional proj + proj_layer_norm, then strided convs (padding 1) with a GLU over channels."""

    config: Any
    options: SpeechOptions

    @nn.compact
    def __call__(self, hidden, deterministic=True):
        a = self.options.adapter
        if a.project:
            hidden = _dense(self.config, a.width, "proj")(hidden)
            hidden = LayerNorm(epsilon=EPS, name="proj_layer_norm")(hidden)
        return FlaxSpeechAdapterLayers(self.options, name="layers")(hidden, deterministic)


class FlaxSpeechModule(nn.Module):
    """The base model: features -> projection -> (masked time steps) -> transformer -> (adapter)."""

    config: Any
    dtype: jnp.dtype = jnp.float32
    extract_features: bool = True  # whether the output carries the projection's input (Wav2Vec2BaseModelOutput)
    spec_augment_lengths: bool = True  # whether training's random time masks stay within each example's frames

    @nn.compact
    def __call__(self, input_values, attention_mask=None, mask_time_indices=None, deterministic=True,
                 output_attentions=False, output_hidden_states=False, return_dict=True, freeze_feature_encoder=False,
                 **kwargs):  # fmt: skip
        c = self.config
        o = c.speech_options()
        check_audio(c, input_values.shape)
        features = FlaxSpeechFeatureEncoder(o, name="feature_extractor")(input_values.astype(jnp.float32))
        if freeze_feature_encoder:  # no gradient reaches the conv feature encoder
            features = jax.lax.stop_gradient(features)
        frames = None
        if attention_mask is not None:
            frames = frame_mask(c, attention_mask, features.shape[1], add_adapter=False)
        hidden, extract_features = FlaxSpeechFeatureProjection(c, o, name="feature_projection")(features, deterministic)
        spec = self.param("masked_spec_embed", nn.initializers.uniform(), (o.hidden_size,)) if o.masked_spec_embed else None
        hidden = self.mask_hidden(hidden, spec, mask_time_indices, frames, deterministic)
        hidden, states, attentions = FlaxSpeechEncoder(c, o, name="encoder")(hidden, frames, output_attentions,
                                                                            deterministic)  # fmt: skip
        if o.adapter is not None:
            hidden = FlaxSpeechAdapter(c, o, name="adapter")(hidden, deterministic)
        values = dict(last_hidden_state=hidden, hidden_states=states if output_hidden_states else None,
                      attentions=attentions)  # fmt: skip
        if self.extract_features:
            result = out.Wav2Vec2BaseModelOutput(extract_features=extract_features, **values)
        else:
            result = out.BaseModelOutput(**values)
        return out.finish(result, return_dict)


    def mask_hidden(self, hidden, spec, mask_time_indices=None, frames=None, deterministic=True):
        """SpecAugment: the given masked time steps take the learned vector; while training, random time spans
        (unless given) do too and random feature channels are zeroed, as the config asks. The random masks are
        drawn by numpy when the call runs (once, when traced under jit)."""
        o = self.config.speech_options()
        if not o.apply_spec_augment:
            return hidden
        if mask_time_indices is not None:
            if spec is None:
                raise ValueError(
                    "mask_time_indices needs the learned masked_spec_embed, which this config has none of "
                    "(mask_time_prob and mask_feature_prob are both 0)."
                )
            hidden = jnp.where(jnp.asarray(mask_time_indices, bool)[..., None], spec, hidden)
        if deterministic:
            return hidden
        lengths = np.asarray(frames.sum(-1)) if frames is not None and self.spec_augment_lengths else None
        time, feature = training_masks(o, hidden.shape[0], hidden.shape[1], lengths)
        if time is not None and mask_time_indices is None:
            hidden = jnp.where(time[..., None], spec, hidden)
        if feature is not None:
            hidden = jnp.where(feature[:, None, :], 0.0, hidden)
        return hidden


class FlaxHubertSpeechModule(FlaxSpeechModule):
    extract_features: bool = False
    spec_augment_lengths: bool = False  # transformers' HuBERT draws its training time masks over the padded length


class FlaxSpeechPreTrainedModel(FlaxPreTrainedModel):
    main_input_name = "input_values"

    def dummy_inputs(self) -> dict:
        c = self.config
        frames = 2 + sum((k - 1) * d for k, d in zip(getattr(c, "tdnn_kernel", ()), getattr(c, "tdnn_dilation", ())))
        adapter = c.speech_options().adapter
        if adapter is not None:
            frames = frames * adapter.stride**adapter.num_layers + adapter.kernel
        return {"input_values": jnp.zeros((1, c.samples_for_frames(frames)), jnp.float32)}

    def __call__(self, input_values=None, **kwargs):
        if input_values is None:
            raise ValueError(f"{type(self).__name__} needs input_values.")
        return super().__call__(jnp.asarray(input_values), **kwargs)


# -- heads -------------------------------------------------------------------------------------------------
class SpeechHeadModule(HeadModule):
    """A speech base module plus one head; `weighted` heads read the learned softmax-weighted sum of every
    hidden state (`layer_weights`) when config.use_weighted_layer_sum."""

    weighted = False

    @property
    def uses_layer_sum(self) -> bool:
        return self.weighted and bool(self.config.use_weighted_layer_sum)

    def encode_audio(self, input_values, attention_mask, output_attentions, output_hidden_states, deterministic,
                     freeze_feature_encoder=False):  # fmt: skip
        return self.base()(input_values, attention_mask, deterministic=deterministic,
                           output_attentions=output_attentions,
                           output_hidden_states=output_hidden_states or self.uses_layer_sum,
                           freeze_feature_encoder=freeze_feature_encoder)  # fmt: skip

    def layer_output(self, encoded):
        if not self.uses_layer_sum:
            return encoded.last_hidden_state
        count = self.config.num_hidden_layers + 1
        weights = jax.nn.softmax(self.param("layer_weights", nn.initializers.constant(1 / count), (count,)))
        return (jnp.stack(encoded.hidden_states, axis=1) * weights[None, :, None, None]).sum(axis=1)


class CTCModule(SpeechHeadModule):
    @nn.compact
    def __call__(self, input_values, attention_mask=None, deterministic=True, output_attentions=False,
                 output_hidden_states=False, return_dict=True, **kwargs):  # fmt: skip
        if self.config.vocab_size is None:
            raise ValueError("A CTC head needs config.vocab_size (the CTC vocabulary) to be set.")
        encoded = self.encode_audio(input_values, attention_mask, output_attentions, output_hidden_states,
                                    deterministic, kwargs.get("freeze_feature_encoder", False))  # fmt: skip
        logits = self.output_layer(encoded.last_hidden_state, self.config.vocab_size, deterministic)
        return out.finish(out.from_encoded(out.CausalLMOutput, encoded, logits=logits), return_dict)


class MaskedLMCTCModule(SpeechHeadModule):
    """The deprecated CTC head name: the same logits, no attention mask, MaskedLMOutput."""

    @nn.compact
    def __call__(self, input_values, attention_mask=None, deterministic=True, output_attentions=False,
                 output_hidden_states=False, return_dict=True, **kwargs):  # fmt: skip
        encoded = self.encode_audio(input_values, None, output_attentions, output_hidden_states, deterministic,
                                    kwargs.get("freeze_feature_encoder", False))  # fmt: skip
        logits = self.output_layer(encoded.last_hidden_state, self.config.vocab_size, deterministic)
        return out.finish(out.from_encoded(out.MaskedLMOutput, encoded, logits=logits), return_dict)


class AudioClassificationModule(SpeechHeadModule):
    weighted = True

    @nn.compact
    def __call__(self, input_values, attention_mask=None, deterministic=True, output_attentions=False,
                 output_hidden_states=False, return_dict=True, **kwargs):  # fmt: skip
        c = self.config
        refuse_adapter(c, "An audio classification head")
        encoded = self.encode_audio(input_values, attention_mask, output_attentions, output_hidden_states,
                                    deterministic, kwargs.get("freeze_feature_encoder", False))  # fmt: skip
        projected = _dense(c, c.classifier_proj_size, "projector", self.dtype)(self.layer_output(encoded))
        frames = None if attention_mask is None else frame_mask(c, attention_mask, projected.shape[1])
        pooled = self.pool(out.BaseModelOutput(last_hidden_state=projected), mask=frames)
        logits = self.output_layer(pooled, c.num_labels, deterministic)
        return out.finish(out.from_encoded(out.SequenceClassifierOutput, encoded, logits=logits), return_dict)


class AudioFrameClassificationModule(SpeechHeadModule):
    weighted = True

    @nn.compact
    def __call__(self, input_values, attention_mask=None, deterministic=True, output_attentions=False,
                 output_hidden_states=False, return_dict=True, **kwargs):  # fmt: skip
        refuse_adapter(self.config, "An audio frame classification head")
        encoded = self.encode_audio(input_values, attention_mask, output_attentions, output_hidden_states,
                                    deterministic, kwargs.get("freeze_feature_encoder", False))  # fmt: skip
        logits = self.output_layer(self.layer_output(encoded), self.config.num_labels, deterministic)
        return out.finish(out.from_encoded(out.TokenClassifierOutput, encoded, logits=logits), return_dict)


class FlaxTDNNLayer(nn.Module):
    """A dilated conv + ReLU stored as a Dense over the unfolded kernel (the checkpoints' `kernel` layout)."""

    config: Any
    index: int

    @nn.compact
    def __call__(self, hidden):
        c, i = self.config, self.index
        in_dim = c.tdnn_dim[i - 1] if i > 0 else c.tdnn_dim[0]
        out_dim, size, dilation = c.tdnn_dim[i], c.tdnn_kernel[i], c.tdnn_dilation[i]
        dense = _dense(c, out_dim, "kernel")
        dense(jnp.zeros((1, in_dim * size), hidden.dtype))  # creates the parameters with their shapes
        params = dense.variables["params"]
        kernel = params["kernel"].reshape(size, in_dim, out_dim)  # rows ordered (kernel position, input channel)
        y = jax.lax.conv_general_dilated(hidden, kernel, (1,), "VALID", rhs_dilation=(dilation,),
                                         dimension_numbers=("NWC", "WIO", "NWC"))  # fmt: skip
        return jax.nn.relu(y + params["bias"])


class FlaxTDNN(nn.Module):
    config: Any

    @nn.compact
    def __call__(self, hidden):
        for i in range(len(self.config.tdnn_dim)):
            hidden = FlaxTDNNLayer(self.config, i, name=str(i))(hidden)
        return hidden


class FlaxAMSoftmaxWeight(nn.Module):
    """The AM-softmax weight (`objective.weight`), kept so checkpoints round-trip (only training uses it)."""

    config: Any

    @nn.compact
    def __call__(self):
        return self.param("weight", nn.initializers.normal(1.0), (self.config.xvector_output_dim, self.config.num_labels))


class XVectorModule(SpeechHeadModule):
    weighted = True

    @nn.compact
    def __call__(self, input_values, attention_mask=None, deterministic=True, output_attentions=False,
                 output_hidden_states=False, return_dict=True, **kwargs):  # fmt: skip
        c = self.config
        if c.speech_options().output_width != c.hidden_size:
            raise ValueError(
                f"An x-vector head needs the adapter's output width (output_hidden_size={c.output_hidden_size}) "
                f"to equal hidden_size ({c.hidden_size}), which its projector reads."
            )
        encoded = self.encode_audio(input_values, attention_mask, output_attentions, output_hidden_states,
                                    deterministic, kwargs.get("freeze_feature_encoder", False))  # fmt: skip
        hidden = _dense(c, c.tdnn_dim[0], "projector", self.dtype)(self.layer_output(encoded))
        hidden = FlaxTDNN(c, name="tdnn")(hidden)
        steps = hidden.shape[1]
        if attention_mask is None:
            lengths = jnp.full(hidden.shape[:1], steps)
        else:
            lengths = c.tdnn_output_lengths(frame_lengths(c, attention_mask))
            # hidden[:n] as Python slices it: at most every frame, a negative n counts from the end
            lengths = jnp.where(lengths >= 0, jnp.minimum(lengths, steps), jnp.maximum(steps + lengths, 0))
        keep = (jnp.arange(steps)[None, :] < lengths[:, None])[..., None].astype(hidden.dtype)
        count = lengths.astype(hidden.dtype)[:, None]
        mean = (hidden * keep).sum(1) / count
        std = jnp.sqrt((((hidden - mean[:, None]) * keep) ** 2).sum(1) / (count - 1))  # unbiased
        embeddings = _dense(c, c.xvector_output_dim, "feature_extractor", self.dtype)(jnp.concatenate([mean, std], -1))
        logits = _dense(c, c.xvector_output_dim, "classifier", self.dtype)(embeddings)
        FlaxAMSoftmaxWeight(c, name="objective")()
        result = out.from_encoded(out.XVectorOutput, encoded, logits=logits, embeddings=embeddings)
        return out.finish(result, return_dict)


class FlaxCTCModel(FlaxTaskModel):
    module_class = CTCModule


class FlaxAudioClassificationModel(FlaxTaskModel):
    module_class = AudioClassificationModule


class FlaxAudioFrameClassificationModel(FlaxTaskModel):
    module_class = AudioFrameClassificationModule


class FlaxXVectorModel(FlaxTaskModel):
    module_class = XVectorModule
