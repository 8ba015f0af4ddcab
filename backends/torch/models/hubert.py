"""HuBERT in PyTorch on the speech block library (blocks/speech.py): its base model returns no
extract_features."""

from __future__ import annotations

from autoload.models.hubert import HubertConfig

from ..blocks.speech import AudioClassificationModel, CTCModel, SpeechEncoderModel, SpeechPreTrainedModel


class HubertPreTrainedModel(SpeechPreTrainedModel):
    config_class = HubertConfig
    base_model_prefix = "hubert"


class HubertModel(SpeechEncoderModel, HubertPreTrainedModel):
    extract_features = False
    spec_augment_lengths = False  # transformers' HuBERT draws its training time masks over the padded length


class HubertForCTC(CTCModel, HubertPreTrainedModel):
    base_class = HubertModel


class HubertForSequenceClassification(AudioClassificationModel, HubertPreTrainedModel):
    base_class = HubertModel
