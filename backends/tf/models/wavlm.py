"""WavLM in TensorFlow on the speech block library (blocks/speech.py). transformers has no TF WavLM, so the
layers mirror the PyTorch names."""

from __future__ import annotations

from autoload.models.wavlm import WavLMConfig

from ..blocks.speech import (
    TFAudioClassificationModel,
    TFAudioFrameClassificationModel,
    TFCTCModel,
    TFSpeechMainLayer,
    TFSpeechModel,
    TFSpeechPreTrainedModel,
    TFXVectorModel,
)


class TFWavLMPreTrainedModel(TFSpeechPreTrainedModel):
    config_class = WavLMConfig
    base_model_prefix = "wavlm"
    main_layer_class = TFSpeechMainLayer


class TFWavLMModel(TFSpeechModel, TFWavLMPreTrainedModel):
    pass


class TFWavLMForCTC(TFCTCModel, TFWavLMPreTrainedModel):
    pass


class TFWavLMForSequenceClassification(TFAudioClassificationModel, TFWavLMPreTrainedModel):
    pass


class TFWavLMForAudioFrameClassification(TFAudioFrameClassificationModel, TFWavLMPreTrainedModel):
    pass


class TFWavLMForXVector(TFXVectorModel, TFWavLMPreTrainedModel):
    pass
