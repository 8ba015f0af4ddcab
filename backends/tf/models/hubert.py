"""HuBERT in TensorFlow on the speech block library (blocks/speech.py), named like transformers' TF HuBERT."""

from __future__ import annotations

from autoload.models.hubert import HubertConfig

from ..blocks.speech import (
    TFAudioClassificationModel,
    TFCTCModel,
    TFSpeechMainLayer,
    TFSpeechModel,
    TFSpeechPreTrainedModel,
)


class TFHubertMainLayer(TFSpeechMainLayer):
    extract_features = False
    spec_augment_lengths = False  # transformers' HuBERT draws its training time masks over the padded length


class TFHubertPreTrainedModel(TFSpeechPreTrainedModel):
    config_class = HubertConfig
    base_model_prefix = "hubert"
    main_layer_class = TFHubertMainLayer


class TFHubertModel(TFSpeechModel, TFHubertPreTrainedModel):
    pass


class TFHubertForCTC(TFCTCModel, TFHubertPreTrainedModel):
    pass


class TFHubertForSequenceClassification(TFAudioClassificationModel, TFHubertPreTrainedModel):
    pass
