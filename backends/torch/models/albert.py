"""ALBERT in PyTorch: the shared encoder blocks with factorised embeddings and layers shared in groups
(encoder.albert_layer_groups.<g>.albert_layers.<i>), the MLM and sentence-order heads."""

from __future__ import annotations

import torch
from torch import nn

from autoload import outputs as out
from autoload.encoder import EncoderOptions
from autoload.models.albert import AlbertConfig

from ..activations import get_activation
from ..blocks.encoder import Embeddings, EncoderModel, EncoderOutput, LMHead, SelfAttention, per_layer_head_mask
from ..heads import (
    LanguageModelingModel,
    MultipleChoiceModel,
    QuestionAnsweringModel,
    SequenceClassificationModel,
    TaskModel,
    TokenClassificationModel,
)
from ..losses import token_loss
from ..modeling import PreTrainedModel


class AlbertAttention(SelfAttention):
    """query/key/value/dense and the post-norm LayerNorm in one module; relative scores added after scaling."""

    def __init__(self, options: EncoderOptions):
        super().__init__(options.hidden_size, options.num_attention_heads, options.attention_dropout, output="dense",
                         relative=options.position_embedding_type, max_positions=options.max_position_embeddings,
                         relative_after_scale=True)  # fmt: skip
        self.output_dropout = nn.Dropout(options.hidden_dropout)
        self.LayerNorm = nn.LayerNorm(options.hidden_size, eps=options.layer_norm_eps)

    def forward(self, hidden, mask=None, output_attentions=False, head_mask=None):
        context, probs = super().forward(hidden, mask, output_attentions, head_mask=head_mask)
        return self.LayerNorm(hidden + self.output_dropout(context)), probs


class AlbertLayer(nn.Module):
    """attention -> ffn -> activation -> ffn_output -> full_layer_layer_norm(+ residual)."""

    def __init__(self, options: EncoderOptions):
        super().__init__()
        self.full_layer_layer_norm = nn.LayerNorm(options.hidden_size, eps=options.layer_norm_eps)
        self.attention = AlbertAttention(options)
        self.ffn = nn.Linear(options.hidden_size, options.intermediate_size)
        self.ffn_output = nn.Linear(options.intermediate_size, options.hidden_size)
        self.activation = get_activation(options.hidden_act)

    def forward(self, hidden, mask=None, output_attentions=False, head_mask=None):
        attended, probs = self.attention(hidden, mask, output_attentions, head_mask)
        return self.full_layer_layer_norm(self.ffn_output(self.activation(self.ffn(attended))) + attended), probs


class AlbertLayerGroup(nn.Module):
    def __init__(self, options: EncoderOptions, inner_group_num: int):
        super().__init__()
        self.albert_layers = nn.ModuleList(AlbertLayer(options) for _ in range(inner_group_num))


class AlbertTransformer(nn.Module):
    """embedding_hidden_mapping_in, then for each of num_hidden_layers steps one group's inner layers; hidden
    states after each step, attentions of every inner layer."""

    def __init__(self, config: AlbertConfig, options: EncoderOptions):
        super().__init__()
        self.steps = config.layer_groups()
        self.embedding_hidden_mapping_in = nn.Linear(config.embedding_size, config.hidden_size)
        self.albert_layer_groups = nn.ModuleList(AlbertLayerGroup(options, config.inner_group_num)
                                                 for _ in range(config.num_hidden_groups))  # fmt: skip

    def forward(self, hidden, mask=None, output_attentions=False, output_hidden_states=False, head_mask=None):
        hidden = self.embedding_hidden_mapping_in(hidden)
        head_masks = per_layer_head_mask(head_mask, len(self.steps))
        states, attentions = (hidden,), ()
        for group, first_mask in self.steps:
            for j, layer in enumerate(self.albert_layer_groups[group].albert_layers):
                hidden, probs = layer(hidden, mask, output_attentions, head_masks[first_mask + j])
                attentions += (probs,)
            states += (hidden,)
        return EncoderOutput(hidden, states if output_hidden_states else None,
                             attentions if output_attentions else None, None)  # fmt: skip


class AlbertPreTrainedModel(PreTrainedModel):
    config_class = AlbertConfig
    base_model_prefix = "albert"
    _keys_to_ignore_on_load_unexpected = [r"position_ids$", r"predictions\.decoder\.bias$"]


class AlbertModel(EncoderModel, AlbertPreTrainedModel):
    output_class = out.BaseModelOutputWithPooling

    def __init__(self, config: AlbertConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.options = config.encoder_options()
        self.embeddings = Embeddings(self.options)
        self.encoder = AlbertTransformer(config, self.options)
        self.pooler = nn.Linear(config.hidden_size, config.hidden_size) if add_pooling_layer else None

    def pool(self, hidden):
        return torch.tanh(self.pooler(hidden[:, 0])) if self.pooler is not None else None


def albert_mlm_head(config: AlbertConfig) -> LMHead:
    """dense (hidden -> embedding_size) -> hidden_act -> LayerNorm -> decoder (tied) + bias."""
    return LMHead(config.hidden_size, config.embedding_size, config.vocab_size, config.hidden_act,
                  config.layer_norm_eps, norm="LayerNorm")  # fmt: skip


class AlbertSOPHead(nn.Module):
    """Sentence-order prediction from the pooled output: dropout -> classifier."""

    def __init__(self, config: AlbertConfig):
        super().__init__()
        self.dropout = nn.Dropout(config.classifier_dropout_prob)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, pooled):
        return self.classifier(self.dropout(pooled))


class AlbertForPreTraining(TaskModel, AlbertPreTrainedModel):
    base_class = AlbertModel
    _tied_weights_keys = ["predictions.decoder.weight"]

    def __init__(self, config: AlbertConfig):
        super().__init__(config)
        self.predictions = albert_mlm_head(config)
        self.sop_classifier = AlbertSOPHead(config)

    def get_output_embeddings(self):
        return self.predictions.decoder

    def forward(self, input_ids=None, labels=None, sentence_order_label=None, return_dict=None, **kwargs):
        encoded = self.encode(input_ids, **kwargs)
        scores = self.predictions(encoded.last_hidden_state)
        sop = self.sop_classifier(encoded.pooler_output)
        loss = None
        if labels is not None and sentence_order_label is not None:
            loss = token_loss(scores, labels) + token_loss(sop, sentence_order_label)
        result = out.from_encoded(out.AlbertForPreTrainingOutput, encoded, loss=loss, prediction_logits=scores,
                                  sop_logits=sop)  # fmt: skip
        return self._finish(result, return_dict)


class AlbertForMaskedLM(LanguageModelingModel, AlbertPreTrainedModel):
    base_class = AlbertModel
    _tied_weights_keys = ["predictions.decoder.weight"]

    def build_lm_head(self, config):
        return albert_mlm_head(config)

    def get_output_embeddings(self):
        return self.predictions.decoder


class AlbertForSequenceClassification(SequenceClassificationModel, AlbertPreTrainedModel):
    base_class = AlbertModel


class AlbertForMultipleChoice(MultipleChoiceModel, AlbertPreTrainedModel):
    base_class = AlbertModel


class AlbertForTokenClassification(TokenClassificationModel, AlbertPreTrainedModel):
    base_class = AlbertModel


class AlbertForQuestionAnswering(QuestionAnsweringModel, AlbertPreTrainedModel):
    base_class = AlbertModel
