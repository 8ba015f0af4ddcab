"""ALBERT in TensorFlow (Keras 3): the shared encoder blocks with factorised embeddings and layers shared in
groups, under transformers' TF ALBERT names, and the MLM and sentence-order heads."""

from __future__ import annotations

import tensorflow as tf

from autoload import outputs as out
from autoload.encoder import EncoderOptions
from autoload.models.albert import AlbertConfig

from .. import keras_layers
from ..activations import get_activation
from ..blocks.encoder import (
    EncoderOutput,
    TFEmbeddings,
    TFEncoderMainLayer,
    TFLMHead,
    TFSelfAttention,
    per_layer_head_mask,
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
from ..modeling import Dropout, Layer, TFPreTrainedModel, dense


class TFAlbertAttention(TFSelfAttention):
    """query/key/value/dense and the post-norm LayerNorm in one layer; relative scores added after scaling."""

    def __init__(self, options: EncoderOptions, **kwargs):
        super().__init__(options.hidden_size, options.num_attention_heads, options.attention_dropout, output="dense",
                         relative=options.position_embedding_type, max_positions=options.max_position_embeddings,
                         relative_after_scale=True, initializer_range=options.initializer_range, **kwargs)  # fmt: skip
        self.output_dropout = Dropout(options.hidden_dropout)
        self.LayerNorm = keras_layers.LayerNormalization(epsilon=options.layer_norm_eps, name="LayerNorm")

    def input_sizes(self):
        return {**super().input_sizes(), self.LayerNorm: self.hidden_size}

    def call(self, hidden, bias=None, head_mask=None, training=False):
        context, probs = super().call(hidden, bias=bias, head_mask=head_mask, training=training)
        return self.LayerNorm(hidden + self.output_dropout(context, training=training)), probs


class TFAlbertLayer(Layer):
    """attention -> ffn -> activation -> ffn_output -> full_layer_layer_norm(+ residual)."""

    def __init__(self, options: EncoderOptions, **kwargs):
        super().__init__(**kwargs)
        self.attention = TFAlbertAttention(options, name="attention")
        self.ffn = dense(options, options.intermediate_size, "ffn")
        self.activation = get_activation(options.hidden_act)
        self.ffn_output = dense(options, options.hidden_size, "ffn_output")
        self.full_layer_layer_norm = keras_layers.LayerNormalization(epsilon=options.layer_norm_eps,
                                                                     name="full_layer_layer_norm")  # fmt: skip
        self.sizes = {self.attention: None, self.ffn: options.hidden_size, self.ffn_output: options.intermediate_size,
                      self.full_layer_layer_norm: options.hidden_size}  # fmt: skip

    def input_sizes(self):
        return self.sizes

    def call(self, hidden, bias=None, head_mask=None, training=False):
        attended, probs = self.attention(hidden, bias=bias, head_mask=head_mask, training=training)
        return self.full_layer_layer_norm(self.ffn_output(self.activation(self.ffn(attended))) + attended), probs


class TFAlbertLayerGroup(Layer):
    def __init__(self, options: EncoderOptions, inner_group_num: int, **kwargs):
        super().__init__(**kwargs)
        self.albert_layers = [TFAlbertLayer(options, name=f"albert_layers_._{i}") for i in range(inner_group_num)]

    def input_sizes(self):
        return dict.fromkeys(self.albert_layers)

    def call(self, hidden, bias=None, head_masks=None, training=False):
        """head_masks: [inner_group_num, 1, heads, 1, 1] factors, or None. -> (hidden, attentions per layer)"""
        attentions = ()
        for j, layer in enumerate(self.albert_layers):
            mask = head_masks[j] if head_masks is not None else None
            hidden, probs = layer(hidden, bias=bias, head_mask=mask, training=training)
            attentions += (probs,)
        return hidden, attentions


class TFAlbertTransformer(Layer):
    """embedding_hidden_mapping_in, then for each of num_hidden_layers steps one group's inner layers."""

    def __init__(self, config: AlbertConfig, options: EncoderOptions, **kwargs):
        super().__init__(**kwargs)
        self.steps = config.layer_groups()
        self.embedding_hidden_mapping_in = dense(config, config.hidden_size, "embedding_hidden_mapping_in")
        self.albert_layer_groups = [TFAlbertLayerGroup(options, config.inner_group_num, name=f"albert_layer_groups_._{g}")
                                    for g in range(config.num_hidden_groups)]  # fmt: skip
        self.embedding_width = options.embedding_width  # the mapping's input: the embeddings

    def input_sizes(self):
        return {self.embedding_hidden_mapping_in: self.embedding_width, **dict.fromkeys(self.albert_layer_groups)}

    def call(self, hidden, bias=None, output_attentions=False, output_hidden_states=False, head_mask=None,
             training=False):  # fmt: skip
        hidden = self.embedding_hidden_mapping_in(hidden)
        head_masks = per_layer_head_mask(head_mask, len(self.steps))
        inner = len(self.albert_layer_groups[0].albert_layers)
        states, attentions = (hidden,), ()
        for group, first_mask in self.steps:
            masks = None if head_mask is None else tf.stack(head_masks[first_mask:first_mask + inner])
            hidden, probs = self.albert_layer_groups[group](hidden, bias=bias, head_masks=masks, training=training)
            states, attentions = states + (hidden,), attentions + probs
        return EncoderOutput(hidden, states if output_hidden_states else None,
                             attentions if output_attentions else None, None)  # fmt: skip


class TFAlbertMainLayer(TFEncoderMainLayer):
    output_class = out.BaseModelOutputWithPooling

    def __init__(self, config: AlbertConfig, add_pooling_layer: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.options = config.encoder_options()
        self.embeddings = TFEmbeddings(self.options, name="embeddings")
        self.encoder = TFAlbertTransformer(config, self.options, name="encoder")
        self.pooler = dense(config, config.hidden_size, "pooler") if add_pooling_layer else None

    def pool(self, hidden):
        return tf.tanh(self.pooler(hidden[:, 0])) if self.pooler is not None else None


def albert_mlm_head(config: AlbertConfig, input_embeddings) -> TFLMHead:
    """dense (hidden -> embedding_size) -> hidden_act -> LayerNorm -> decoder (tied) + bias."""
    return TFLMHead(config, config.embedding_size, config.hidden_act, config.layer_norm_eps, input_embeddings,
                    norm="LayerNorm", name="predictions")  # fmt: skip


class TFAlbertSOPHead(Layer):
    def __init__(self, config: AlbertConfig, **kwargs):
        super().__init__(**kwargs)
        self.dropout = Dropout(config.classifier_dropout_prob)
        self.classifier = dense(config, config.num_labels, "classifier")
        self.input_width = config.hidden_size

    def input_sizes(self):
        return {self.classifier: self.input_width}

    def call(self, pooled, training=False):
        return self.classifier(self.dropout(pooled, training=training))


class TFAlbertPreTrainedModel(TFPreTrainedModel):
    config_class = AlbertConfig
    base_model_prefix = "albert"
    main_layer_class = TFAlbertMainLayer
    # transformers' TF head keeps a copy of the bias under predictions/decoder/bias and scores with that copy; ours
    # reads predictions.bias and writes the copy into tf_model.h5 for transformers.
    _keys_to_ignore_on_load_unexpected = [r"position_ids$", r"predictions\.decoder\.(weight|bias)$"]
    _h5_copies = {"/predictions/bias": "/predictions/decoder/bias"}


class TFAlbertModel(TFBaseModel, TFAlbertPreTrainedModel):
    pass


class TFAlbertForPreTraining(TFTaskModel, TFAlbertPreTrainedModel):
    def __init__(self, config: AlbertConfig, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.predictions = albert_mlm_head(config, self.main_layer.embeddings.word_embeddings)
        self.sop_classifier = TFAlbertSOPHead(config, name="sop_classifier")

    def input_sizes(self):
        return {**super().input_sizes(), self.predictions: None, self.sop_classifier: None}

    def call(self, input_ids=None, labels=None, sentence_order_label=None, training=False, return_dict=True,
             **kwargs):  # fmt: skip
        encoded = self.encode(input_ids, training, **kwargs)
        scores = self.predictions(encoded.last_hidden_state)
        sop = self.sop_classifier(encoded.pooler_output, training=training)
        loss = None
        if labels is not None and sentence_order_label is not None:
            loss = token_loss(scores, labels) + token_loss(sop, sentence_order_label)
        result = out.from_encoded(out.AlbertForPreTrainingOutput, encoded, loss=loss, prediction_logits=scores,
                                  sop_logits=sop)  # fmt: skip
        return out.finish(result, return_dict)


class TFAlbertForMaskedLM(TFLanguageModelingModel, TFAlbertPreTrainedModel):
    def build_lm_head(self, config):
        return albert_mlm_head(config, self.main_layer.embeddings.word_embeddings)


class TFAlbertForSequenceClassification(TFSequenceClassificationModel, TFAlbertPreTrainedModel):
    pass


class TFAlbertForMultipleChoice(TFMultipleChoiceModel, TFAlbertPreTrainedModel):
    pass


class TFAlbertForTokenClassification(TFTokenClassificationModel, TFAlbertPreTrainedModel):
    pass


class TFAlbertForQuestionAnswering(TFQuestionAnsweringModel, TFAlbertPreTrainedModel):
    pass
