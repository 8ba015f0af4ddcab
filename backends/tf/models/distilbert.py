"""DistilBERT in TensorFlow (Keras 3): the shared encoder blocks under transformers' TF DistilBERT names, and
its heads."""

from __future__ import annotations

import tensorflow as tf

from autoload import outputs as out
from autoload.encoder import EncoderOptions
from autoload.models.distilbert import DistilBertConfig

from .. import keras_layers
from ..activations import get_activation
from ..blocks.encoder import TFEmbeddings, TFEncoder, TFEncoderMainLayer, TFSelfAttention, TFTiedDense
from ..heads import (
    TFBaseModel,
    TFMultipleChoiceModel,
    TFQuestionAnsweringModel,
    TFSequenceClassificationModel,
    TFTaskModel,
    TFTokenClassificationModel,
)
from ..losses import token_loss
from ..modeling import Dropout, Layer, TFPreTrainedModel, dense


class TFFFN(Layer):
    def __init__(self, options: EncoderOptions, **kwargs):
        super().__init__(**kwargs)
        self.lin1 = dense(options, options.intermediate_size, "lin1")
        self.lin2 = dense(options, options.hidden_size, "lin2")
        self.activation = get_activation(options.hidden_act)
        self.dropout = Dropout(options.hidden_dropout)
        self.sizes = {self.lin1: options.hidden_size, self.lin2: options.intermediate_size}

    def input_sizes(self):
        return self.sizes

    def call(self, x, training=False):
        return self.dropout(self.lin2(self.activation(self.lin1(x))), training=training)


class TFTransformerBlock(Layer):
    """attention (with its own out_lin) -> sa_layer_norm(+ residual) -> ffn -> output_layer_norm(+ residual)."""

    def __init__(self, options: EncoderOptions, **kwargs):
        super().__init__(**kwargs)
        self.attention = TFSelfAttention.from_options(options, names=("q_lin", "k_lin", "v_lin"), output="out_lin",
                                                      name="attention")  # fmt: skip
        self.sa_layer_norm = keras_layers.LayerNormalization(epsilon=options.layer_norm_eps, name="sa_layer_norm")
        self.ffn = TFFFN(options, name="ffn")
        self.output_layer_norm = keras_layers.LayerNormalization(epsilon=options.layer_norm_eps,
                                                                 name="output_layer_norm")  # fmt: skip
        self.hidden_size = options.hidden_size

    def input_sizes(self):
        return {self.attention: None, self.sa_layer_norm: self.hidden_size, self.ffn: None,
                self.output_layer_norm: self.hidden_size}

    def call(self, hidden, bias=None, head_mask=None, training=False):
        attended, probs = self.attention(hidden, bias=bias, head_mask=head_mask, training=training)
        hidden = self.sa_layer_norm(attended + hidden)
        return self.output_layer_norm(self.ffn(hidden, training=training) + hidden), probs, None


class TFDistilBertMainLayer(TFEncoderMainLayer):
    output_class = out.BaseModelOutput
    encoder_name = "transformer"

    def __init__(self, config: DistilBertConfig, **kwargs):
        super().__init__(**kwargs)
        self.options = config.encoder_options()
        self.embeddings = TFEmbeddings(self.options, name="embeddings")
        self.transformer = TFEncoder(self.options, TFTransformerBlock, name="transformer")
        self.pooler = None


class TFDistilBertPreTrainedModel(TFPreTrainedModel):
    config_class = DistilBertConfig
    base_model_prefix = "distilbert"
    main_layer_class = TFDistilBertMainLayer
    _keys_to_ignore_on_load_unexpected = [r"position_ids$", r"vocab_projector\.weight$"]


class TFDistilBertModel(TFBaseModel, TFDistilBertPreTrainedModel):
    pass


class TFDistilBertForMaskedLM(TFTaskModel, TFDistilBertPreTrainedModel):
    """vocab_transform -> activation -> vocab_layer_norm -> vocab_projector (tied to the word embeddings)."""

    def __init__(self, config: DistilBertConfig, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.vocab_transform = dense(config, config.dim, "vocab_transform")
        self.act = get_activation(config.activation)
        self.vocab_layer_norm = keras_layers.LayerNormalization(epsilon=1e-12, name="vocab_layer_norm")
        self.vocab_projector = TFTiedDense(config, self.main_layer.embeddings.word_embeddings, use_bias=True,
                                           name="vocab_projector")  # fmt: skip

    def input_sizes(self):
        width = self.main_layer.output_width
        return {**super().input_sizes(), self.vocab_transform: width, self.vocab_layer_norm: self.config.dim,
                self.vocab_projector: self.config.dim}  # fmt: skip

    def call(self, input_ids=None, labels=None, training=False, return_dict=True, **kwargs):
        encoded = self.encode(input_ids, training, **kwargs)
        hidden = self.vocab_layer_norm(self.act(self.vocab_transform(encoded.last_hidden_state)))
        logits = self.vocab_projector(hidden)
        loss = token_loss(logits, labels) if labels is not None else None
        return out.finish(out.from_encoded(out.MaskedLMOutput, encoded, loss=loss, logits=logits), return_dict)


class PreClassifier:
    """The first token through pre_classifier (dim -> dim) and ReLU, before the head's dropout and classifier."""

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.pre_classifier = dense(config, config.dim, "pre_classifier")

    def input_sizes(self):  # pre_classifier keeps the width (dim), so the classifier's input is as TFTaskModel says
        return {**super().input_sizes(), self.pre_classifier: self.main_layer.output_width}

    def pool(self, encoded, *args, **kwargs):
        return tf.nn.relu(self.pre_classifier(super().pool(encoded, *args, **kwargs)))


class TFDistilBertForSequenceClassification(PreClassifier, TFSequenceClassificationModel, TFDistilBertPreTrainedModel):
    pass


class TFDistilBertForMultipleChoice(PreClassifier, TFMultipleChoiceModel, TFDistilBertPreTrainedModel):
    pass


class TFDistilBertForTokenClassification(TFTokenClassificationModel, TFDistilBertPreTrainedModel):
    pass


class TFDistilBertForQuestionAnswering(TFQuestionAnsweringModel, TFDistilBertPreTrainedModel):
    pass
