"""ELECTRA in TensorFlow (Keras 3): the shared encoder blocks under transformers' TF ELECTRA names, the
discriminator's pre-training head and the generator's LM head."""

from __future__ import annotations

import tensorflow as tf

from autoload import outputs as out
from autoload.models.electra import ElectraConfig

from .. import keras_layers
from ..activations import get_activation
from ..blocks.encoder import (
    TFEmbeddings,
    TFEncoder,
    TFEncoderCausalLM,
    TFEncoderMainLayer,
    TFSequenceSummary,
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
from ..modeling import Layer, TFPreTrainedModel, dense


def replaced_token_loss(logits, labels, attention_mask=None):
    """Binary cross entropy of the discriminator's logits, over the attended positions when a mask is given."""
    labels = tf.cast(labels, logits.dtype)
    if attention_mask is not None:
        active = tf.reshape(attention_mask, tf.shape(logits)) == 1
        logits, labels = tf.boolean_mask(logits, active), tf.boolean_mask(labels, active)
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))


class TFElectraMainLayer(TFEncoderMainLayer):
    output_class = out.BaseModelOutputWithCrossAttentions

    def __init__(self, config: ElectraConfig, **kwargs):
        super().__init__(**kwargs)
        self.options = config.encoder_options()
        self.embeddings = TFEmbeddings(self.options, name="embeddings")
        self.embeddings_project = dense(config, config.hidden_size, "embeddings_project") \
            if config.projects_embeddings else None  # fmt: skip
        self.encoder = TFEncoder(self.options, name="encoder")
        self.pooler = None

    def input_sizes(self):
        return {**super().input_sizes(), self.embeddings_project: self.options.embedding_width}

    def embed(self, input_ids, token_type_ids, position_ids, inputs_embeds, training):
        hidden = super().embed(input_ids, token_type_ids, position_ids, inputs_embeds, training)
        return self.embeddings_project(hidden) if self.embeddings_project is not None else hidden


class TFElectraDiscriminatorPredictions(Layer):
    """dense -> hidden_act -> dense_prediction: one "replaced?" logit per token."""

    def __init__(self, config: ElectraConfig, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense(config, config.hidden_size, "dense")
        self.activation = get_activation(config.hidden_act)
        self.dense_prediction = dense(config, 1, "dense_prediction")
        self.sizes = {self.dense: config.hidden_size, self.dense_prediction: config.hidden_size}

    def input_sizes(self):
        return self.sizes

    def call(self, hidden):
        return tf.squeeze(self.dense_prediction(self.activation(self.dense(hidden))), -1)


class TFElectraGeneratorPredictions(Layer):
    """dense (hidden -> embedding_size) -> gelu -> LayerNorm."""

    def __init__(self, config: ElectraConfig, **kwargs):
        super().__init__(**kwargs)
        self.LayerNorm = keras_layers.LayerNormalization(epsilon=config.layer_norm_eps, name="LayerNorm")
        self.dense = dense(config, config.embedding_size, "dense")
        self.activation = get_activation("gelu")
        self.sizes = {self.dense: config.hidden_size, self.LayerNorm: config.embedding_size}

    def input_sizes(self):
        return self.sizes

    def call(self, hidden):
        return self.LayerNorm(self.activation(self.dense(hidden)))


class TFElectraPreTrainedModel(TFPreTrainedModel):
    config_class = ElectraConfig
    base_model_prefix = "electra"
    main_layer_class = TFElectraMainLayer
    _keys_to_ignore_on_load_unexpected = [r"position_ids$", r"generator_lm_head\.weight$"]


class TFElectraModel(TFBaseModel, TFElectraPreTrainedModel):
    pass


class TFElectraForPreTraining(TFTaskModel, TFElectraPreTrainedModel):
    def __init__(self, config: ElectraConfig, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.discriminator_predictions = TFElectraDiscriminatorPredictions(config, name="discriminator_predictions")

    def call(self, input_ids=None, labels=None, training=False, return_dict=True, **kwargs):
        encoded = self.encode(input_ids, training, **kwargs)
        logits = self.discriminator_predictions(encoded.last_hidden_state)
        loss = replaced_token_loss(logits, labels, kwargs.get("attention_mask")) if labels is not None else None
        return out.finish(out.from_encoded(out.ElectraForPreTrainingOutput, encoded, loss=loss, logits=logits),
                          return_dict)  # fmt: skip


class TFElectraForMaskedLM(TFLanguageModelingModel, TFElectraPreTrainedModel):
    """The generator: generator_predictions, then generator_lm_head (tied to the word embeddings, with a bias)."""

    def __init__(self, config: ElectraConfig, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.generator_predictions = TFElectraGeneratorPredictions(config, name="generator_predictions")

    def build_lm_head(self, config):
        return TFTiedDense(config, self.main_layer.embeddings.word_embeddings, use_bias=True, name="generator_lm_head")

    def input_sizes(self):  # the LM head reads generator_predictions' embedding_size features
        return {**super().input_sizes(), self.generator_predictions: None,
                self.lm_head_layer: self.config.embedding_size}  # fmt: skip

    def lm_logits(self, hidden):
        return self.lm_head_layer(self.generator_predictions(hidden))


class TFElectraForCausalLM(TFEncoderCausalLM, TFElectraForMaskedLM):
    pass


class TFElectraForSequenceClassification(TFSequenceClassificationModel, TFElectraPreTrainedModel):
    pass


class TFElectraForMultipleChoice(TFMultipleChoiceModel, TFElectraPreTrainedModel):
    def __init__(self, config: ElectraConfig, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.sequence_summary = TFSequenceSummary(config, config.multiple_choice_summary(), config.hidden_size,
                                                  name="sequence_summary")  # fmt: skip

    def input_sizes(self):
        return {**super().input_sizes(), self.sequence_summary: None}

    def pool(self, encoded, *args, **kwargs):
        return self.sequence_summary(encoded.last_hidden_state)


class TFElectraForTokenClassification(TFTokenClassificationModel, TFElectraPreTrainedModel):
    pass


class TFElectraForQuestionAnswering(TFQuestionAnsweringModel, TFElectraPreTrainedModel):
    pass
