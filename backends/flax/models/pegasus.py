"""Pegasus in Flax: the pre-norm blocks with fixed sinusoidal positions and final layer norms."""

from __future__ import annotations

from typing import Any

from autoload.models.pegasus import PegasusConfig

from ..blocks.seq2seq import (
    SINUSOIDAL_TABLES,
    FlaxSeq2SeqForCausalLM,
    FlaxSeq2SeqLMModule,
    FlaxSeq2SeqModule,
    FlaxSeq2SeqPreTrainedModel,
)
from ..generation import FlaxGenerationMixin


class FlaxPegasusModule(FlaxSeq2SeqModule):
    pass


class FlaxPegasusForConditionalGenerationModule(FlaxSeq2SeqLMModule):
    base_module: Any = FlaxPegasusModule


class FlaxPegasusPreTrainedModel(FlaxSeq2SeqPreTrainedModel):
    config_class = PegasusConfig
    base_module = FlaxPegasusModule
    _keys_to_ignore_on_load_unexpected = [*FlaxSeq2SeqPreTrainedModel._keys_to_ignore_on_load_unexpected,
                                          *SINUSOIDAL_TABLES]  # fmt: skip


class FlaxPegasusModel(FlaxPegasusPreTrainedModel):
    module_class = FlaxPegasusModule


class FlaxPegasusForConditionalGeneration(FlaxGenerationMixin, FlaxPegasusPreTrainedModel):
    module_class = FlaxPegasusForConditionalGenerationModule


class FlaxPegasusForCausalLM(FlaxGenerationMixin, FlaxSeq2SeqForCausalLM, FlaxPegasusPreTrainedModel):
    pass
