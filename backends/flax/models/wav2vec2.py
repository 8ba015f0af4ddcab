"""Wav2Vec2 in Flax on the speech block library (blocks/speech.py), plus its pre-training head (the argmax code
of each quantizer group and the projections; Flax models compute no losses)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload.models.wav2vec2 import Wav2Vec2Config

from ..blocks.speech import (
    FlaxAudioClassificationModel,
    FlaxAudioFrameClassificationModel,
    FlaxCTCModel,
    FlaxSpeechModule,
    FlaxSpeechPreTrainedModel,
    FlaxXVectorModel,
    MaskedLMCTCModule,
    SpeechHeadModule,
)
from ..heads import FlaxTaskModel


class FlaxWav2Vec2PreTrainedModel(FlaxSpeechPreTrainedModel):
    config_class = Wav2Vec2Config
    base_model_prefix = "wav2vec2"
    base_module = FlaxSpeechModule


class FlaxWav2Vec2Model(FlaxWav2Vec2PreTrainedModel):
    module_class = FlaxSpeechModule


class FlaxWav2Vec2ForCTC(FlaxCTCModel, FlaxWav2Vec2PreTrainedModel):
    pass


class FlaxWav2Vec2ForMaskedLM(FlaxTaskModel, FlaxWav2Vec2PreTrainedModel):
    module_class = MaskedLMCTCModule


class FlaxWav2Vec2ForSequenceClassification(FlaxAudioClassificationModel, FlaxWav2Vec2PreTrainedModel):
    pass


class FlaxWav2Vec2ForAudioFrameClassification(FlaxAudioFrameClassificationModel, FlaxWav2Vec2PreTrainedModel):
    pass


class FlaxWav2Vec2ForXVector(FlaxXVectorModel, FlaxWav2Vec2PreTrainedModel):
    pass


class FlaxWav2Vec2GumbelVectorQuantizer(nn.Module):
    """Product quantisation of the conv features: the argmax code of each group and the perplexity of the code
    distribution (over the masked steps when mask_time_indices is given)."""

    config: Any

    @nn.compact
    def __call__(self, hidden, mask_time_indices=None):
        c = self.config
        groups, variables = c.num_codevector_groups, c.num_codevectors_per_group
        if c.codevector_dim % groups:
            raise ValueError(f"codevector_dim ({c.codevector_dim}) must be divisible by num_codevector_groups ({groups}).")
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
        codes = probs.reshape(batch * length, -1)[..., None] * codevectors
        codes = codes.reshape(batch * length, groups, variables, -1).sum(-2)
        return codes.reshape(batch, length, -1), perplexity


class Wav2Vec2ForPreTrainingModule(SpeechHeadModule):
    @nn.compact
    def __call__(self, input_values, attention_mask=None, mask_time_indices=None, deterministic=True,
                 output_attentions=False, output_hidden_states=False, return_dict=True, **kwargs):  # fmt: skip
        c = self.config
        if mask_time_indices is not None:
            mask_time_indices = jnp.asarray(mask_time_indices, bool)
        encoded = self.base()(input_values, attention_mask, mask_time_indices, deterministic=deterministic,
                              output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                              freeze_feature_encoder=kwargs.get("freeze_feature_encoder", False))  # fmt: skip
        projected = nn.Dense(c.proj_codevector_dim, name="project_hid")(encoded.last_hidden_state)
        features = nn.Dropout(c.feat_quantizer_dropout)(encoded.extract_features, deterministic=deterministic)
        quantized, perplexity = FlaxWav2Vec2GumbelVectorQuantizer(c, name="quantizer")(features, mask_time_indices)
        quantized = nn.Dense(c.proj_codevector_dim, name="project_q")(quantized)
        result = out.from_encoded(out.Wav2Vec2ForPreTrainingOutput, encoded, projected_states=projected,
                                  projected_quantized_states=quantized, codevector_perplexity=perplexity)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxWav2Vec2ForPreTraining(FlaxTaskModel, FlaxWav2Vec2PreTrainedModel):
    module_class = Wav2Vec2ForPreTrainingModule
