"""WavLM in PyTorch on the speech block library (blocks/speech.py; the gated relative position bias is its
SpeechSelfAttention with options.relative)."""

from __future__ import annotations

from autoload.models.wavlm import WavLMConfig

from ..blocks.speech import (
    AudioClassificationModel,
    AudioFrameClassificationModel,
    CTCModel,
    SpeechEncoderModel,
    SpeechPreTrainedModel,
    XVectorModel,
)


class WavLMPreTrainedModel(SpeechPreTrainedModel):
    config_class = WavLMConfig
    base_model_prefix = "wavlm"


class WavLMModel(SpeechEncoderModel, WavLMPreTrainedModel):
    pass


class WavLMForCTC(CTCModel, WavLMPreTrainedModel):
    base_class = WavLMModel


class WavLMForSequenceClassification(AudioClassificationModel, WavLMPreTrainedModel):
    base_class = WavLMModel


class WavLMForAudioFrameClassification(AudioFrameClassificationModel, WavLMPreTrainedModel):
    base_class = WavLMModel


class WavLMForXVector(XVectorModel, WavLMPreTrainedModel):
    base_class = WavLMModel
