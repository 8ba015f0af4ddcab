"""Marian in Flax: the post-norm blocks with fixed sinusoidal positions; shared or separate source and target
embeddings (share_encoder_decoder_embeddings, decoder_vocab_size)."""

from __future__ import annotations

from typing import Any

from autoload.models.marian import MarianConfig

from ..blocks.seq2seq import (
    SINUSOIDAL_TABLES,
    FlaxSeq2SeqForCausalLM,
    FlaxSeq2SeqLMModule,
    FlaxSeq2SeqModule,
    FlaxSeq2SeqPreTrainedModel,
)
from ..generation import FlaxGenerationMixin


class FlaxMarianModule(FlaxSeq2SeqModule):
    def shares_embeddings(self) -> bool:
        return self.config.share_encoder_decoder_embeddings


class FlaxMarianMTModule(FlaxSeq2SeqLMModule):
    base_module: Any = FlaxMarianModule


class FlaxMarianPreTrainedModel(FlaxSeq2SeqPreTrainedModel):
    config_class = MarianConfig
    base_module = FlaxMarianModule
    _keys_to_ignore_on_load_unexpected = [*FlaxSeq2SeqPreTrainedModel._keys_to_ignore_on_load_unexpected,
                                          *SINUSOIDAL_TABLES]  # fmt: skip


class FlaxMarianModel(FlaxMarianPreTrainedModel):
    module_class = FlaxMarianModule


class FlaxMarianMTModel(FlaxGenerationMixin, FlaxMarianPreTrainedModel):
    module_class = FlaxMarianMTModule


class FlaxMarianForCausalLM(FlaxGenerationMixin, FlaxSeq2SeqForCausalLM, FlaxMarianPreTrainedModel):
    pass
