"""WavLM in Flax on the speech block library (blocks/speech.py). transformers has no Flax WavLM, so the
parameters mirror the PyTorch names."""

from __future__ import annotations

from autoload.models.wavlm import WavLMConfig

from ..blocks.speech import (
    FlaxAudioClassificationModel,
    FlaxAudioFrameClassificationModel,
    FlaxCTCModel,
    FlaxSpeechModule,
    FlaxSpeechPreTrainedModel,
    FlaxXVectorModel,
)


class FlaxWavLMPreTrainedModel(FlaxSpeechPreTrainedModel):
    config_class = WavLMConfig
    base_model_prefix = "wavlm"
    base_module = FlaxSpeechModule


class FlaxWavLMModel(FlaxWavLMPreTrainedModel):
    module_class = FlaxSpeechModule


class FlaxWavLMForCTC(FlaxCTCModel, FlaxWavLMPreTrainedModel):
    pass


class FlaxWavLMForSequenceClassification(FlaxAudioClassificationModel, FlaxWavLMPreTrainedModel):
    pass


class FlaxWavLMForAudioFrameClassification(FlaxAudioFrameClassificationModel, FlaxWavLMPreTrainedModel):
    pass


class FlaxWavLMForXVector(FlaxXVectorModel, FlaxWavLMPreTrainedModel):
    pass
