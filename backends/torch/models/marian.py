"""Marian in PyTorch: the post-norm blocks with fixed sinusoidal positions; shared or separate source and target
embeddings (share_encoder_decoder_embeddings, decoder_vocab_size)."""

from __future__ import annotations

from autoload.models.marian import MarianConfig

from ..blocks.seq2seq import Seq2SeqForCausalLM, Seq2SeqLM, Seq2SeqModel, Seq2SeqPreTrainedModel


class MarianPreTrainedModel(Seq2SeqPreTrainedModel):
    config_class = MarianConfig
    # The sinusoidal tables are computed, not read (checkpoints written by transformers may hold them).
    _keys_to_ignore_on_load_unexpected = [*Seq2SeqPreTrainedModel._keys_to_ignore_on_load_unexpected,
                                          r"embed_positions\.weight$"]  # fmt: skip


class MarianModel(Seq2SeqModel, MarianPreTrainedModel):
    @staticmethod
    def shares_embeddings(config) -> bool:
        return config.share_encoder_decoder_embeddings


class MarianMTModel(Seq2SeqLM, MarianPreTrainedModel):
    base_class = MarianModel


class MarianForCausalLM(Seq2SeqForCausalLM, MarianPreTrainedModel):
    pass
