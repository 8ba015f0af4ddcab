"""Pegasus in TensorFlow (Keras 3): the pre-norm blocks with fixed sinusoidal positions and final layer norms."""

from __future__ import annotations

from autoload.models.pegasus import PegasusConfig

from ..blocks.seq2seq import (
    SINUSOIDAL_TABLES,
    TFSeq2SeqForCausalLM,
    TFSeq2SeqLM,
    TFSeq2SeqMainLayer,
    TFSeq2SeqPreTrainedModel,
)
from ..heads import TFBaseModel


class TFPegasusPreTrainedModel(TFSeq2SeqPreTrainedModel):
    config_class = PegasusConfig
    main_layer_class = TFSeq2SeqMainLayer
    _keys_to_ignore_on_load_unexpected = [*TFSeq2SeqPreTrainedModel._keys_to_ignore_on_load_unexpected,
                                          *SINUSOIDAL_TABLES]  # fmt: skip


class TFPegasusModel(TFBaseModel, TFPegasusPreTrainedModel):
    pass


class TFPegasusForConditionalGeneration(TFSeq2SeqLM, TFPegasusPreTrainedModel):
    pass


class TFPegasusForCausalLM(TFSeq2SeqForCausalLM, TFPegasusPreTrainedModel):
    pass
