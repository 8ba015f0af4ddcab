"""DistilBERT in PyTorch: the shared encoder blocks under DistilBERT's names (q_lin … out_lin, sa_layer_norm,
ffn.lin1/lin2, output_layer_norm; no token types, no pooler) and its heads."""

from __future__ import annotations

from torch import nn

from autoload import outputs as out
from autoload.encoder import EncoderOptions
from autoload.models.distilbert import DistilBertConfig

from ..activations import get_activation
from ..blocks.encoder import Embeddings, Encoder, EncoderModel, SelfAttention, SinusoidalPositions
from ..heads import (
    MultipleChoiceModel,
    QuestionAnsweringModel,
    SequenceClassificationModel,
    TaskModel,
    TokenClassificationModel,
)
from ..losses import token_loss
from ..modeling import PreTrainedModel


class FFN(nn.Module):
    def __init__(self, options: EncoderOptions):
        super().__init__()
        self.lin1 = nn.Linear(options.hidden_size, options.intermediate_size)
        self.lin2 = nn.Linear(options.intermediate_size, options.hidden_size)
        self.activation = get_activation(options.hidden_act)
        self.dropout = nn.Dropout(options.hidden_dropout)

    def forward(self, x):
        return self.dropout(self.lin2(self.activation(self.lin1(x))))


class TransformerBlock(nn.Module):
    """attention (with its own out_lin) -> sa_layer_norm(+ residual) -> ffn -> output_layer_norm(+ residual)."""

    def __init__(self, options: EncoderOptions):
        super().__init__()
        self.attention = SelfAttention.from_options(options, names=("q_lin", "k_lin", "v_lin"), output="out_lin")
        self.sa_layer_norm = nn.LayerNorm(options.hidden_size, eps=options.layer_norm_eps)
        self.ffn = FFN(options)
        self.output_layer_norm = nn.LayerNorm(options.hidden_size, eps=options.layer_norm_eps)

    def forward(self, hidden, mask=None, output_attentions=False, head_mask=None):
        attended, probs = self.attention(hidden, mask, output_attentions, head_mask=head_mask)
        hidden = self.sa_layer_norm(attended + hidden)
        return self.output_layer_norm(self.ffn(hidden) + hidden), probs, None


class DistilBertPreTrainedModel(PreTrainedModel):
    config_class = DistilBertConfig
    base_model_prefix = "distilbert"
    _keys_to_ignore_on_load_unexpected = [r"position_ids$"]

    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        if isinstance(module, SinusoidalPositions):  # a fresh table starts as the fixed sinusoidal one
            module.fill()


class DistilBertModel(EncoderModel, DistilBertPreTrainedModel):
    output_class = out.BaseModelOutput
    encoder_name = "transformer"

    def __init__(self, config: DistilBertConfig):
        super().__init__(config)
        self.options = config.encoder_options()
        self.embeddings = Embeddings(self.options)
        self.transformer = Encoder(self.options, TransformerBlock)


class DistilBertForMaskedLM(TaskModel, DistilBertPreTrainedModel):
    """vocab_transform -> activation -> vocab_layer_norm -> vocab_projector (tied to the word embeddings)."""

    base_class = DistilBertModel
    _tied_weights_keys = ["vocab_projector.weight"]

    def __init__(self, config: DistilBertConfig):
        super().__init__(config)
        self.vocab_transform = nn.Linear(config.dim, config.dim)
        self.activation = get_activation(config.activation)
        self.vocab_layer_norm = nn.LayerNorm(config.dim, eps=1e-12)
        self.vocab_projector = nn.Linear(config.dim, config.vocab_size)

    def get_output_embeddings(self):
        return self.vocab_projector

    def forward(self, input_ids=None, labels=None, return_dict=None, **kwargs):
        encoded = self.encode(input_ids, **kwargs)
        hidden = self.vocab_layer_norm(self.activation(self.vocab_transform(encoded.last_hidden_state)))
        logits = self.vocab_projector(hidden)
        loss = token_loss(logits, labels) if labels is not None else None
        return self._finish(out.from_encoded(out.MaskedLMOutput, encoded, loss=loss, logits=logits), return_dict)


class PreClassifier:
    """The first token through pre_classifier (dim -> dim) and ReLU, before the head's dropout and classifier."""

    def __init__(self, config, **base_kwargs):
        super().__init__(config, **base_kwargs)
        self.pre_classifier = nn.Linear(config.dim, config.dim)

    def pool(self, encoded, *args, **kwargs):
        return nn.functional.relu(self.pre_classifier(super().pool(encoded, *args, **kwargs)))


class DistilBertForSequenceClassification(PreClassifier, SequenceClassificationModel, DistilBertPreTrainedModel):
    base_class = DistilBertModel


class DistilBertForMultipleChoice(PreClassifier, MultipleChoiceModel, DistilBertPreTrainedModel):
    base_class = DistilBertModel


class DistilBertForTokenClassification(TokenClassificationModel, DistilBertPreTrainedModel):
    base_class = DistilBertModel


class DistilBertForQuestionAnswering(QuestionAnsweringModel, DistilBertPreTrainedModel):
    base_class = DistilBertModel
