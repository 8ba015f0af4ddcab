"""Wav2Vec2 in Flax (parameter names follow the PyTorch modules): conv feature encoder, weight-normed
grouped positional conv, post-norm or pre-norm (stable) transformer, and the audio heads."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from autoload import outputs as out
from autoload.models.wav2vec2 import Wav2Vec2Config

from ..activations import get_activation
from ..modeling import FlaxPreTrainedModel
from .bart import FlaxSeq2SeqAttention, padding_bias


def frame_mask(num_frames: int, attention_mask, config):
    lengths = config.conv_output_lengths(attention_mask.sum(-1))
    return jnp.arange(num_frames)[None, :] < lengths[:, None]


class FlaxConvLayer(nn.Module):
    config: Wav2Vec2Config
    index: int
    norm: str | None

    @nn.compact
    def __call__(self, x):
        c, i = self.config, self.index
        x = nn.Conv(c.conv_dim[i], (c.conv_kernel[i],), strides=(c.conv_stride[i],), padding="VALID",
                    use_bias=c.conv_bias, name="conv")(x)  # fmt: skip
        if self.norm == "group":  # one group per channel: normalise each channel over time
            mean = x.mean(axis=1, keepdims=True)
            var = ((x - mean) ** 2).mean(axis=1, keepdims=True)
            x = FlaxAffine(name="layer_norm")((x - mean) / jnp.sqrt(var + 1e-5))
        elif self.norm == "layer":
            x = nn.LayerNorm(epsilon=1e-5, name="layer_norm")(x)
        return get_activation(c.feat_extract_activation)(x)


class FlaxAffine(nn.Module):
    """A per-channel scale and shift named like PyTorch's GroupNorm (weight, bias)."""

    @nn.compact
    def __call__(self, x):
        weight = self.param("weight", nn.initializers.ones, (x.shape[-1],))
        return x * weight + self.param("bias", nn.initializers.zeros, (x.shape[-1],))


class FlaxFeatureEncoder(nn.Module):
    config: Wav2Vec2Config

    @nn.compact
    def __call__(self, input_values):
        c = self.config
        norms = (["group"] + [None] * (c.num_feat_extract_layers - 1) if c.feat_extract_norm == "group"
                 else ["layer"] * c.num_feat_extract_layers)  # fmt: skip
        return FlaxConvLayers(c, tuple(norms), name="conv_layers")(input_values[:, :, None])


class FlaxConvLayers(nn.Module):
    config: Wav2Vec2Config
    norms: tuple

    @nn.compact
    def __call__(self, x):
        for i, norm in enumerate(self.norms):
            x = FlaxConvLayer(self.config, i, norm, name=str(i))(x)
        return x


class FlaxFeatureProjection(nn.Module):
    config: Wav2Vec2Config

    @nn.compact
    def __call__(self, features):
        normed = nn.LayerNorm(epsilon=self.config.layer_norm_eps, name="layer_norm")(features)
        return nn.Dense(self.config.hidden_size, name="projection")(normed), normed


class FlaxWeightNormConv(nn.Module):
    """The positional conv: a grouped Conv1d whose kernel is weight_g * weight_v / |weight_v| (norm over all
    but the kernel axis), stored in PyTorch's [out, in/groups, kernel] layout as the checkpoints have it."""

    config: Wav2Vec2Config

    @nn.compact
    def __call__(self, x):
        c = self.config
        size, groups, dim = c.num_conv_pos_embeddings, c.num_conv_pos_embedding_groups, c.hidden_size
        v = self.param("weight_v", nn.initializers.normal(0.02), (dim, dim // groups, size))
        g = self.param("weight_g", nn.initializers.ones, (1, 1, size))
        bias = self.param("bias", nn.initializers.zeros, (dim,))
        weight = g * v / jnp.sqrt(jnp.sum(v**2, axis=(0, 1), keepdims=True))
        y = jax.lax.conv_general_dilated(x, jnp.transpose(weight, (2, 1, 0)), (1,), [(size // 2, size // 2)],
                                         dimension_numbers=("NWC", "WIO", "NWC"), feature_group_count=groups)  # fmt: skip
        return y + bias


class FlaxPositionalConvEmbedding(nn.Module):
    config: Wav2Vec2Config

    @nn.compact
    def __call__(self, hidden):
        y = FlaxWeightNormConv(self.config, name="conv")(hidden)
        if self.config.num_conv_pos_embeddings % 2 == 0:  # an even kernel yields one frame too many
            y = y[:, :-1]
        return get_activation(self.config.feat_extract_activation)(y)


class FlaxFeedForward(nn.Module):
    config: Wav2Vec2Config

    @nn.compact
    def __call__(self, x):
        c = self.config
        x = get_activation(c.hidden_act)(nn.Dense(c.intermediate_size, name="intermediate_dense")(x))
        return nn.Dense(c.hidden_size, name="output_dense")(x)


class FlaxEncoderLayer(nn.Module):
    config: Wav2Vec2Config

    @nn.compact
    def __call__(self, hidden, bias=None):
        c = self.config
        attention = FlaxSeq2SeqAttention(c.hidden_size, c.num_attention_heads, name="attention")
        layer_norm = nn.LayerNorm(epsilon=c.layer_norm_eps, name="layer_norm")
        final_norm = nn.LayerNorm(epsilon=c.layer_norm_eps, name="final_layer_norm")
        feed_forward = FlaxFeedForward(c, name="feed_forward")
        if c.do_stable_layer_norm:
            hidden = hidden + attention(layer_norm(hidden), bias)[0]
            return hidden + feed_forward(final_norm(hidden))
        hidden = layer_norm(hidden + attention(hidden, bias)[0])
        return final_norm(hidden + feed_forward(hidden))


class FlaxEncoderLayers(nn.Module):
    config: Wav2Vec2Config

    @nn.compact
    def __call__(self, hidden, bias=None):
        states = ()
        for i in range(self.config.num_hidden_layers):
            states += (hidden,)
            hidden = FlaxEncoderLayer(self.config, name=str(i))(hidden, bias)
        return hidden, states


class FlaxEncoder(nn.Module):
    config: Wav2Vec2Config

    @nn.compact
    def __call__(self, hidden, frames=None):
        c = self.config
        bias = None
        if frames is not None:
            hidden = jnp.where(frames[..., None], hidden, 0.0)
            bias = padding_bias(frames.astype("i4"), hidden.dtype)
        hidden = hidden + FlaxPositionalConvEmbedding(c, name="pos_conv_embed")(hidden)
        layer_norm = nn.LayerNorm(epsilon=c.layer_norm_eps, name="layer_norm")
        if not c.do_stable_layer_norm:
            hidden = layer_norm(hidden)
        hidden, states = FlaxEncoderLayers(c, name="layers")(hidden, bias)
        if c.do_stable_layer_norm:
            hidden = layer_norm(hidden)
        return hidden, states + (hidden,)


class FlaxWav2Vec2Module(nn.Module):
    config: Wav2Vec2Config
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, input_values, attention_mask=None, mask_time_indices=None, deterministic=True,
                 output_hidden_states=False, return_dict=True, **kwargs):  # fmt: skip
        c = self.config
        if input_values.ndim != 2:
            raise ValueError(f"input_values must be mono audio of shape [batch, samples]; got {tuple(input_values.shape)}.")
        features = FlaxFeatureEncoder(c, name="feature_extractor")(input_values.astype(jnp.float32))
        frames = frame_mask(features.shape[1], attention_mask, c) if attention_mask is not None else None
        hidden, extract_features = FlaxFeatureProjection(c, name="feature_projection")(features)
        if c.mask_time_prob > 0 or c.mask_feature_prob > 0:
            spec = self.param("masked_spec_embed", nn.initializers.uniform(), (c.hidden_size,))
            if mask_time_indices is not None:
                hidden = jnp.where(mask_time_indices[..., None], spec, hidden)
        hidden, states = FlaxEncoder(c, name="encoder")(hidden, frames)
        result = out.Wav2Vec2BaseModelOutput(last_hidden_state=hidden, extract_features=extract_features,
                                             hidden_states=states if output_hidden_states else None)  # fmt: skip
        return out.finish(result, return_dict)


def _base(config, input_values, attention_mask, output_hidden_states, mask_time_indices=None):
    return FlaxWav2Vec2Module(config, name="wav2vec2")(input_values, attention_mask, mask_time_indices,
                                                       output_hidden_states=output_hidden_states)  # fmt: skip


def _layer_output(module, config, encoded):
    if not config.use_weighted_layer_sum:
        return encoded.last_hidden_state
    count = config.num_hidden_layers + 1
    weights = jax.nn.softmax(module.param("layer_weights", nn.initializers.constant(1 / count), (count,)))
    return (jnp.stack(encoded.hidden_states, axis=1) * weights[None, :, None, None]).sum(axis=1)


class FlaxWav2Vec2ForCTCModule(nn.Module):
    config: Wav2Vec2Config
    dtype: jnp.dtype = jnp.float32
    ignore_mask: bool = False  # the deprecated MaskedLM head never used the attention mask

    @nn.compact
    def __call__(self, input_values, attention_mask=None, deterministic=True, output_hidden_states=False,
                 return_dict=True, **kwargs):  # fmt: skip
        c = self.config
        encoded = _base(c, input_values, None if self.ignore_mask else attention_mask, output_hidden_states)
        logits = nn.Dense(c.vocab_size, name="lm_head")(encoded.last_hidden_state)
        output_class = out.MaskedLMOutput if self.ignore_mask else out.CausalLMOutput
        result = output_class(logits=logits, hidden_states=encoded.hidden_states)
        return out.finish(result, return_dict)


class FlaxWav2Vec2ForSequenceClassificationModule(nn.Module):
    config: Wav2Vec2Config
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, input_values, attention_mask=None, deterministic=True, output_hidden_states=False,
                 return_dict=True, **kwargs):  # fmt: skip
        c = self.config
        encoded = _base(c, input_values, attention_mask, output_hidden_states or c.use_weighted_layer_sum)
        hidden = nn.Dense(c.classifier_proj_size, name="projector")(_layer_output(self, c, encoded))
        if attention_mask is None:
            pooled = hidden.mean(axis=1)
        else:
            frames = frame_mask(hidden.shape[1], attention_mask, c)
            pooled = jnp.where(frames[..., None], hidden, 0.0).sum(1) / frames.sum(1, keepdims=True)
        result = out.SequenceClassifierOutput(logits=nn.Dense(c.num_labels, name="classifier")(pooled),
                                              hidden_states=encoded.hidden_states if output_hidden_states else None)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxWav2Vec2ForAudioFrameClassificationModule(nn.Module):
    config: Wav2Vec2Config
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, input_values, attention_mask=None, deterministic=True, output_hidden_states=False,
                 return_dict=True, **kwargs):  # fmt: skip
        c = self.config
        encoded = _base(c, input_values, attention_mask, output_hidden_states or c.use_weighted_layer_sum)
        logits = nn.Dense(c.num_labels, name="classifier")(_layer_output(self, c, encoded))
        result = out.TokenClassifierOutput(logits=logits, hidden_states=encoded.hidden_states if output_hidden_states else None)
        return out.finish(result, return_dict)


class FlaxTDNNLayer(nn.Module):
    """A dilated conv stored as a Dense over the unfolded kernel (the checkpoints' `kernel` layout)."""

    config: Wav2Vec2Config
    index: int

    @nn.compact
    def __call__(self, hidden):
        c, i = self.config, self.index
        in_dim = c.tdnn_dim[i - 1] if i > 0 else c.tdnn_dim[0]
        out_dim, size, dilation = c.tdnn_dim[i], c.tdnn_kernel[i], c.tdnn_dilation[i]
        dense = nn.Dense(out_dim, name="kernel")
        dense(jnp.zeros((1, in_dim * size), hidden.dtype))  # creates the parameters with their shapes
        kernel = dense.variables["params"]["kernel"]  # [kernel * in, out], ordered (kernel, in)
        conv_kernel = kernel.reshape(size, in_dim, out_dim)
        y = jax.lax.conv_general_dilated(hidden, conv_kernel, (1,), "VALID", rhs_dilation=(dilation,),
                                         dimension_numbers=("NWC", "WIO", "NWC"))  # fmt: skip
        return jax.nn.relu(y + dense.variables["params"]["bias"])


class FlaxWav2Vec2ForXVectorModule(nn.Module):
    config: Wav2Vec2Config
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, input_values, attention_mask=None, deterministic=True, output_hidden_states=False,
                 return_dict=True, **kwargs):  # fmt: skip
        c = self.config
        encoded = _base(c, input_values, attention_mask, output_hidden_states or c.use_weighted_layer_sum)
        hidden = nn.Dense(c.tdnn_dim[0], name="projector")(_layer_output(self, c, encoded))
        hidden = FlaxTDNN(c, name="tdnn")(hidden)
        if attention_mask is None:
            stats = jnp.concatenate([hidden.mean(axis=1), hidden.std(axis=1, ddof=1)], axis=-1)
        else:
            lengths = np.asarray(c.conv_output_lengths(np.asarray(attention_mask).sum(-1)))
            lengths = lengths - sum(k - 1 for k in c.tdnn_kernel)
            stats = jnp.stack([jnp.concatenate([h[:n].mean(0), h[:n].std(0, ddof=1)]) for h, n in zip(hidden, lengths)])
        embeddings = nn.Dense(c.xvector_output_dim, name="feature_extractor")(stats)
        logits = nn.Dense(c.xvector_output_dim, name="classifier")(embeddings)
        FlaxObjective(c, name="objective")()
        result = out.XVectorOutput(logits=logits, embeddings=embeddings,
                                   hidden_states=encoded.hidden_states if output_hidden_states else None)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxTDNN(nn.Module):
    config: Wav2Vec2Config

    @nn.compact
    def __call__(self, hidden):
        for i in range(len(self.config.tdnn_dim)):
            hidden = FlaxTDNNLayer(self.config, i, name=str(i))(hidden)
        return hidden


class FlaxObjective(nn.Module):
    """The AM-softmax weight, kept so checkpoints round-trip (only training uses it)."""

    config: Wav2Vec2Config

    @nn.compact
    def __call__(self):
        return self.param("weight", nn.initializers.normal(1.0), (self.config.xvector_output_dim, self.config.num_labels))


class FlaxQuantizer(nn.Module):
    """Product quantisation of the conv features (eval: the argmax code of each group)."""

    config: Wav2Vec2Config

    @nn.compact
    def __call__(self, hidden, mask_time_indices=None):
        c = self.config
        groups, variables = c.num_codevector_groups, c.num_codevectors_per_group
        codevectors = self.param("codevectors", nn.initializers.uniform(),
                                 (1, groups * variables, c.codevector_dim // groups))  # fmt: skip
        batch, length, _ = hidden.shape
        logits = nn.Dense(groups * variables, name="weight_proj")(hidden).reshape(batch * length * groups, -1)
        probs = jax.nn.one_hot(jnp.argmax(logits, axis=-1), logits.shape[-1], dtype=logits.dtype)
        grouped = probs.reshape(batch * length, groups, -1)
        if mask_time_indices is not None:
            keep = mask_time_indices.reshape(-1)[:, None, None]
            marginal = jnp.where(keep, grouped, 0.0).sum(0) / mask_time_indices.sum()
        else:
            marginal = grouped.mean(0)
        perplexity = jnp.exp(-jnp.sum(marginal * jnp.log(marginal + 1e-7), axis=-1)).sum()
        codes = (probs.reshape(batch * length, -1)[..., None] * codevectors).reshape(batch * length, groups, variables, -1)
        return codes.sum(-2).reshape(batch, length, -1), perplexity


class FlaxWav2Vec2ForPreTrainingModule(nn.Module):
    config: Wav2Vec2Config
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, input_values, attention_mask=None, mask_time_indices=None, deterministic=True,
                 output_hidden_states=False, return_dict=True, **kwargs):  # fmt: skip
        c = self.config
        encoded = _base(c, input_values, attention_mask, output_hidden_states, mask_time_indices)
        projected = nn.Dense(c.proj_codevector_dim, name="project_hid")(encoded.last_hidden_state)
        quantized, perplexity = FlaxQuantizer(c, name="quantizer")(encoded.extract_features, mask_time_indices)
        result = out.Wav2Vec2ForPreTrainingOutput(
            projected_states=projected, projected_quantized_states=nn.Dense(c.proj_codevector_dim, name="project_q")(quantized),
            codevector_perplexity=perplexity, hidden_states=encoded.hidden_states,
        )  # fmt: skip
        return out.finish(result, return_dict)


class FlaxWav2Vec2PreTrainedModel(FlaxPreTrainedModel):
    config_class = Wav2Vec2Config
    base_model_prefix = "wav2vec2"
    main_input_name = "input_values"

    def dummy_inputs(self) -> dict:
        return {"input_values": jnp.zeros((1, 2048), jnp.float32)}

    def __call__(self, input_values=None, **kwargs):
        if input_values is None:
            raise ValueError(f"{type(self).__name__} needs input_values.")
        return super().__call__(jnp.asarray(input_values), **kwargs)


def _model(name, module_class, **module_kwargs):
    def __init__(self, config, *args, **kwargs):
        FlaxWav2Vec2PreTrainedModel.__init__(self, config, *args, **module_kwargs, **kwargs)

    return type(name, (FlaxWav2Vec2PreTrainedModel,), {"module_class": module_class, "__module__": __name__,
                                                       "__init__": __init__})  # fmt: skip


FlaxWav2Vec2Model = _model("FlaxWav2Vec2Model", FlaxWav2Vec2Module)
FlaxWav2Vec2ForCTC = _model("FlaxWav2Vec2ForCTC", FlaxWav2Vec2ForCTCModule)
FlaxWav2Vec2ForMaskedLM = _model("FlaxWav2Vec2ForMaskedLM", FlaxWav2Vec2ForCTCModule, ignore_mask=True)
FlaxWav2Vec2ForSequenceClassification = _model("FlaxWav2Vec2ForSequenceClassification",
                                               FlaxWav2Vec2ForSequenceClassificationModule)  # fmt: skip
FlaxWav2Vec2ForAudioFrameClassification = _model("FlaxWav2Vec2ForAudioFrameClassification",
                                                 FlaxWav2Vec2ForAudioFrameClassificationModule)  # fmt: skip
FlaxWav2Vec2ForXVector = _model("FlaxWav2Vec2ForXVector", FlaxWav2Vec2ForXVectorModule)
FlaxWav2Vec2ForPreTraining = _model("FlaxWav2Vec2ForPreTraining", FlaxWav2Vec2ForPreTrainingModule)
