"""HuBERT in Flax on the speech block library (blocks/speech.py). transformers has no Flax HuBERT, so the
parameters mirror the PyTorch names."""

from __future__ import annotations

from autoload.models.hubert import HubertConfig

from ..blocks.speech import (
    FlaxAudioClassificationModel,
    FlaxCTCModel,
    FlaxHubertSpeechModule,
    FlaxSpeechPreTrainedModel,
)


class FlaxHubertPreTrainedModel(FlaxSpeechPreTrainedModel):
    config_class = HubertConfig
    base_model_prefix = "hubert"
    base_module = FlaxHubertSpeechModule


class FlaxHubertModel(FlaxHubertPreTrainedModel):
    module_class = FlaxHubertSpeechModule


class FlaxHubertForCTC(FlaxCTCModel, FlaxHubertPreTrainedModel):
    pass


class FlaxHubertForSequenceClassification(FlaxAudioClassificationModel, FlaxHubertPreTrainedModel):
    pass
