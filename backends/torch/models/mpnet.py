"""MPNet in PyTorch: the shared encoder blocks with MPNet's attention names (attention.attn.{q,k,v,o},
attention.LayerNorm) and a relative position bias computed once in the encoder and added in every layer."""

from __future__ import annotations

from torch import nn

from autoload import outputs as out
from autoload.encoder import EncoderOptions
from autoload.models.mpnet import MPNET_BUCKETS, MPNET_MAX_DISTANCE, MPNetConfig

from ..blocks.encoder import Embeddings, Encoder, EncoderModel, Layer, LMHead, Pooler, SelfAttention, run_layers
from ..blocks.speech import relative_buckets
from ..heads import (
    LanguageModelingModel,
    MultipleChoiceModel,
    QuestionAnsweringModel,
    SequenceClassificationModel,
    TokenClassificationModel,
)
from ..modeling import PreTrainedModel


class MPNetAttention(nn.Module):
    """attn (q, k, v and the o projection) -> dropout -> LayerNorm(+ residual)."""

    def __init__(self, options: EncoderOptions):
        super().__init__()
        self.attn = SelfAttention.from_options(options, names=("q", "k", "v"), output="o")
        self.LayerNorm = nn.LayerNorm(options.hidden_size, eps=options.layer_norm_eps)
        self.dropout = nn.Dropout(options.hidden_dropout)

    def forward(self, hidden, mask=None, output_attentions=False, source=None, position_bias=None, head_mask=None,
                distance=None):  # fmt: skip
        context, probs = self.attn(hidden, mask, output_attentions, position_bias=position_bias, head_mask=head_mask)
        return self.LayerNorm(self.dropout(context) + hidden), probs


class MPNetLayer(Layer):
    attention_class = MPNetAttention


class MPNetEncoder(Encoder):
    """The layers plus `relative_attention_bias`: one learned bias per head and distance bucket, shared by all."""

    def __init__(self, config: MPNetConfig, options: EncoderOptions):
        super().__init__(options, MPNetLayer)
        self.relative_attention_bias = nn.Embedding(config.relative_attention_num_buckets, options.num_attention_heads)

    def forward(self, hidden, mask=None, output_attentions=False, output_hidden_states=False, head_mask=None,
                **layer_kwargs):  # fmt: skip
        buckets = relative_buckets(hidden.shape[1], MPNET_BUCKETS, MPNET_MAX_DISTANCE, hidden.device)
        position_bias = self.relative_attention_bias(buckets).permute(2, 0, 1)[None].to(hidden.dtype)
        return run_layers(self.layer, hidden, mask, output_attentions, output_hidden_states, head_mask,
                          position_bias=position_bias, **layer_kwargs)  # fmt: skip


class MPNetPreTrainedModel(PreTrainedModel):
    config_class = MPNetConfig
    base_model_prefix = "mpnet"
    _keys_to_ignore_on_load_unexpected = [r"position_ids$", r"lm_head\.decoder\.bias$"]


class MPNetModel(EncoderModel, MPNetPreTrainedModel):
    output_class = out.BaseModelOutputWithPooling

    def __init__(self, config: MPNetConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.options = config.encoder_options()
        self.embeddings = Embeddings(self.options)
        self.encoder = MPNetEncoder(config, self.options)
        self.pooler = Pooler(config.hidden_size) if add_pooling_layer else None


class MPNetForMaskedLM(LanguageModelingModel, MPNetPreTrainedModel):
    """lm_head: dense -> gelu -> layer_norm -> decoder (tied) + bias."""

    base_class = MPNetModel
    _tied_weights_keys = ["lm_head.decoder.weight"]

    def build_lm_head(self, config):
        return LMHead(config.hidden_size, config.hidden_size, config.vocab_size, "gelu", config.layer_norm_eps)

    def get_output_embeddings(self):
        return self.lm_head.decoder


class MPNetForSequenceClassification(SequenceClassificationModel, MPNetPreTrainedModel):
    base_class = MPNetModel


class MPNetForMultipleChoice(MultipleChoiceModel, MPNetPreTrainedModel):
    base_class = MPNetModel


class MPNetForTokenClassification(TokenClassificationModel, MPNetPreTrainedModel):
    base_class = MPNetModel


class MPNetForQuestionAnswering(QuestionAnsweringModel, MPNetPreTrainedModel):
    base_class = MPNetModel
