"""Marian in TensorFlow (Keras 3): the post-norm blocks with fixed sinusoidal positions; shared or separate
source and target embeddings (share_encoder_decoder_embeddings, decoder_vocab_size)."""

from __future__ import annotations

from autoload.models.marian import MarianConfig

from ..blocks.seq2seq import (
    SINUSOIDAL_TABLES,
    TFSeq2SeqForCausalLM,
    TFSeq2SeqLM,
    TFSeq2SeqMainLayer,
    TFSeq2SeqPreTrainedModel,
)
from ..heads import TFBaseModel


class TFMarianMainLayer(TFSeq2SeqMainLayer):
    @staticmethod
    def shares_embeddings(config) -> bool:
        return config.share_encoder_decoder_embeddings


class TFMarianPreTrainedModel(TFSeq2SeqPreTrainedModel):
    config_class = MarianConfig
    main_layer_class = TFMarianMainLayer
    _keys_to_ignore_on_load_unexpected = [*TFSeq2SeqPreTrainedModel._keys_to_ignore_on_load_unexpected,
                                          *SINUSOIDAL_TABLES]  # fmt: skip


class TFMarianModel(TFBaseModel, TFMarianPreTrainedModel):
    pass


class TFMarianMTModel(TFSeq2SeqLM, TFMarianPreTrainedModel):
    pass


class TFMarianForCausalLM(TFSeq2SeqForCausalLM, TFMarianPreTrainedModel):
    pass
