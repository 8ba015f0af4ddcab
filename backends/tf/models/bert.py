"""BERT in TensorFlow (Keras 3): the shared encoder blocks, named like transformers' TF BERT so tf_model.h5
files interchange, and its heads."""

from __future__ import annotations

from autoload import outputs as out
from autoload.models.bert import BertConfig

from .. import keras_layers
from ..activations import get_activation
from ..blocks.encoder import (
    TFEmbeddings,
    TFEncoder,
    TFEncoderCausalLM,
    TFEncoderMainLayer,
    TFPooler,
    TFTiedDense,
)
from ..heads import (
    TFBaseModel,
    TFLanguageModelingModel,
    TFMultipleChoiceModel,
    TFQuestionAnsweringModel,
    TFSequenceClassificationModel,
    TFTaskModel,
    TFTokenClassificationModel,
)
from ..losses import token_loss
from ..modeling import Layer, TFPreTrainedModel, dense


class TFBertMainLayer(TFEncoderMainLayer):
    def __init__(self, config: BertConfig, add_pooling_layer: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.options = config.encoder_options()
        self.embeddings = TFEmbeddings(self.options, name="embeddings")
        self.encoder = TFEncoder(self.options, name="encoder")
        self.pooler = TFPooler(self.options, name="pooler") if add_pooling_layer else None


class TFBertPredictionHeadTransform(Layer):
    def __init__(self, config: BertConfig, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense(config, config.hidden_size, "dense")
        self.act = get_activation(config.hidden_act)
        self.LayerNorm = keras_layers.LayerNormalization(epsilon=config.layer_norm_eps, name="LayerNorm")
        self.sizes = {self.dense: config.hidden_size, self.LayerNorm: config.hidden_size}

    def input_sizes(self):
        return self.sizes

    def call(self, hidden):
        return self.LayerNorm(self.act(self.dense(hidden)))


class TFBertLMPredictionHead(Layer):
    """Vocabulary scores with the (tied, unless the config unties it) word embedding matrix plus a bias."""

    def __init__(self, config: BertConfig, input_embeddings, **kwargs):
        super().__init__(**kwargs)
        self.transform = TFBertPredictionHeadTransform(config, name="transform")
        self.decoder = TFTiedDense(config, input_embeddings, name="decoder")
        self.vocab_size, self.hidden_size = config.vocab_size, config.hidden_size

    def input_sizes(self):
        return {self.transform: None, self.decoder: self.hidden_size}

    def build(self, input_shape=None):
        self.bias = self.add_weight(name="bias", shape=(self.vocab_size,), initializer="zeros")
        super().build(input_shape)

    def call(self, hidden):
        return self.decoder(self.transform(hidden)) + self.bias


class TFBertMLMHead(Layer):
    def __init__(self, config: BertConfig, input_embeddings, **kwargs):
        super().__init__(**kwargs)
        self.predictions = TFBertLMPredictionHead(config, input_embeddings, name="predictions")

    def input_sizes(self):
        return {self.predictions: None}

    def call(self, hidden):
        return self.predictions(hidden)


class TFBertNSPHead(Layer):
    def __init__(self, config: BertConfig, **kwargs):
        super().__init__(**kwargs)
        self.seq_relationship = dense(config, 2, "seq_relationship")
        self.input_width = config.hidden_size

    def input_sizes(self):
        return {self.seq_relationship: self.input_width}

    def call(self, pooled):
        return self.seq_relationship(pooled)


class TFBertPreTrainedModel(TFPreTrainedModel):
    config_class = BertConfig
    base_model_prefix = "bert"
    main_layer_class = TFBertMainLayer
    _keys_to_ignore_on_load_unexpected = [r"position_ids$", r"cls\.predictions\.decoder\.(weight|bias)$"]


class TFBertModel(TFBaseModel, TFBertPreTrainedModel):
    pass


class TFBertForPreTraining(TFTaskModel, TFBertPreTrainedModel):
    def __init__(self, config: BertConfig, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.nsp = TFBertNSPHead(config, name="nsp___cls")
        self.mlm = TFBertMLMHead(config, self.main_layer.embeddings.word_embeddings, name="mlm___cls")

    def input_sizes(self):
        return {**super().input_sizes(), self.nsp: None, self.mlm: None}

    def call(self, input_ids=None, labels=None, next_sentence_label=None, training=False, return_dict=True,
             **kwargs):  # fmt: skip
        encoded = self.encode(input_ids, training, **kwargs)
        scores = self.mlm(encoded.last_hidden_state)
        relationship = self.nsp(encoded.pooler_output)
        loss = None
        if labels is not None and next_sentence_label is not None:
            loss = token_loss(scores, labels) + token_loss(relationship, next_sentence_label)
        result = out.from_encoded(out.BertForPreTrainingOutput, encoded, loss=loss, prediction_logits=scores,
                                  seq_relationship_logits=relationship)  # fmt: skip
        return out.finish(result, return_dict)


class TFBertForMaskedLM(TFLanguageModelingModel, TFBertPreTrainedModel):
    def build_lm_head(self, config):
        return TFBertMLMHead(config, self.main_layer.embeddings.word_embeddings, name="mlm___cls")


class TFBertLMHeadModel(TFEncoderCausalLM, TFBertForMaskedLM):
    pass


class TFBertForNextSentencePrediction(TFTaskModel, TFBertPreTrainedModel):
    def __init__(self, config: BertConfig, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.nsp = TFBertNSPHead(config, name="nsp___cls")

    def input_sizes(self):
        return {**super().input_sizes(), self.nsp: None}

    def call(self, input_ids=None, labels=None, next_sentence_label=None, training=False, return_dict=True,
             **kwargs):  # fmt: skip
        encoded = self.encode(input_ids, training, **kwargs)
        logits = self.nsp(encoded.pooler_output)
        labels = labels if labels is not None else next_sentence_label
        loss = token_loss(logits, labels) if labels is not None else None
        return out.finish(out.from_encoded(out.NextSentencePredictorOutput, encoded, loss=loss, logits=logits),
                          return_dict)  # fmt: skip


class TFBertForSequenceClassification(TFSequenceClassificationModel, TFBertPreTrainedModel):
    pass


class TFBertForMultipleChoice(TFMultipleChoiceModel, TFBertPreTrainedModel):
    pass


class TFBertForTokenClassification(TFTokenClassificationModel, TFBertPreTrainedModel):
    pass


class TFBertForQuestionAnswering(TFQuestionAnsweringModel, TFBertPreTrainedModel):
    pass
