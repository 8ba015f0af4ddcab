"""Pegasus in PyTorch: the pre-norm blocks with fixed sinusoidal positions and final layer norms."""

from __future__ import annotations

from autoload.models.pegasus import PegasusConfig

from ..blocks.seq2seq import Seq2SeqForCausalLM, Seq2SeqLM, Seq2SeqModel, Seq2SeqPreTrainedModel


class PegasusPreTrainedModel(Seq2SeqPreTrainedModel):
    config_class = PegasusConfig
    # The sinusoidal tables are computed, not read (checkpoints written by transformers hold them).
    _keys_to_ignore_on_load_unexpected = [*Seq2SeqPreTrainedModel._keys_to_ignore_on_load_unexpected,
                                          r"embed_positions\.weight$"]  # fmt: skip


class PegasusModel(Seq2SeqModel, PegasusPreTrainedModel):
    pass


class PegasusForConditionalGeneration(Seq2SeqLM, PegasusPreTrainedModel):
    base_class = PegasusModel


class PegasusForCausalLM(Seq2SeqForCausalLM, PegasusPreTrainedModel):
    pass
