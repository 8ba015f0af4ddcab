"""MPNet in TensorFlow (Keras 3): the shared encoder blocks under transformers' TF MPNet names
(attention/attn/{q,k,v,o}, encoder/relative_attention_bias) and its heads."""

from __future__ import annotations

import tensorflow as tf

from autoload import outputs as out
from autoload.encoder import EncoderOptions
from autoload.models.mpnet import MPNET_BUCKETS, MPNET_MAX_DISTANCE, MPNetConfig

from .. import keras_layers
from ..blocks.encoder import (
    TFEmbeddings,
    TFEncoder,
    TFEncoderMainLayer,
    TFLayer,
    TFLMHead,
    TFPooler,
    TFSelfAttention,
    run_layers,
)
from ..blocks.speech import relative_buckets
from ..heads import (
    TFBaseModel,
    TFLanguageModelingModel,
    TFMultipleChoiceModel,
    TFQuestionAnsweringModel,
    TFSequenceClassificationModel,
    TFTokenClassificationModel,
)
from ..modeling import Dropout, Layer, NamedWeight, TFPreTrainedModel, weights_init


class TFMPNetAttention(Layer):
    """attn (q, k, v and the o projection) -> dropout -> LayerNorm(+ residual)."""

    def __init__(self, options: EncoderOptions, **kwargs):
        super().__init__(**kwargs)
        self.attn = TFSelfAttention.from_options(options, names=("q", "k", "v"), output="o", name="attn")
        self.LayerNorm = keras_layers.LayerNormalization(epsilon=options.layer_norm_eps, name="LayerNorm")
        self.dropout = Dropout(options.hidden_dropout)
        self.hidden_size = options.hidden_size

    def input_sizes(self):
        return {self.attn: None, self.LayerNorm: self.hidden_size}

    def call(self, hidden, bias=None, source=None, position_bias=None, head_mask=None, distance=None, training=False):
        context, probs = self.attn(hidden, bias=bias, position_bias=position_bias, head_mask=head_mask,
                                   training=training)  # fmt: skip
        return self.LayerNorm(self.dropout(context, training=training) + hidden), probs


class TFMPNetLayer(TFLayer):
    attention_class = TFMPNetAttention


class TFMPNetEncoder(TFEncoder):
    """The layers plus `relative_attention_bias`: one learned bias per head and distance bucket, shared by all."""

    def __init__(self, config: MPNetConfig, options: EncoderOptions, **kwargs):
        super().__init__(options, TFMPNetLayer, **kwargs)
        self.relative_attention_bias = NamedWeight((config.relative_attention_num_buckets, options.num_attention_heads),
                                                   "embeddings", weights_init(options), name="relative_attention_bias")

    def input_sizes(self):
        return {**super().input_sizes(), self.relative_attention_bias: None}

    def call(self, hidden, bias=None, output_attentions=False, output_hidden_states=False, head_mask=None,
             training=False, **layer_kwargs):  # fmt: skip
        buckets = relative_buckets(tf.shape(hidden)[1], MPNET_BUCKETS, MPNET_MAX_DISTANCE)
        position_bias = tf.transpose(self.relative_attention_bias(buckets), (2, 0, 1))[None]
        return run_layers(self.layer, hidden, bias, output_attentions, output_hidden_states, head_mask, training,
                          position_bias=tf.cast(position_bias, hidden.dtype), **layer_kwargs)  # fmt: skip


class TFMPNetMainLayer(TFEncoderMainLayer):
    output_class = out.BaseModelOutputWithPooling

    def __init__(self, config: MPNetConfig, add_pooling_layer: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.options = config.encoder_options()
        self.embeddings = TFEmbeddings(self.options, name="embeddings")
        self.encoder = TFMPNetEncoder(config, self.options, name="encoder")
        self.pooler = TFPooler(self.options, name="pooler") if add_pooling_layer else None


class TFMPNetPreTrainedModel(TFPreTrainedModel):
    config_class = MPNetConfig
    base_model_prefix = "mpnet"
    main_layer_class = TFMPNetMainLayer
    # transformers' TF heads keep a pooler the PyTorch heads (and ours) do not have
    _keys_to_ignore_on_load_unexpected = [r"position_ids$", r"lm_head\.decoder\.(weight|bias)$",
                                          r"pooler\.dense\.(weight|bias)$"]  # fmt: skip


class TFMPNetModel(TFBaseModel, TFMPNetPreTrainedModel):
    pass


class TFMPNetForMaskedLM(TFLanguageModelingModel, TFMPNetPreTrainedModel):
    """lm_head: dense -> gelu -> layer_norm -> decoder (tied) + bias."""

    def build_lm_head(self, config):
        return TFLMHead(config, config.hidden_size, "gelu", config.layer_norm_eps,
                        self.main_layer.embeddings.word_embeddings, name="lm_head")  # fmt: skip


class TFMPNetForSequenceClassification(TFSequenceClassificationModel, TFMPNetPreTrainedModel):
    pass


class TFMPNetForMultipleChoice(TFMultipleChoiceModel, TFMPNetPreTrainedModel):
    pass


class TFMPNetForTokenClassification(TFTokenClassificationModel, TFMPNetPreTrainedModel):
    pass


class TFMPNetForQuestionAnswering(TFQuestionAnsweringModel, TFMPNetPreTrainedModel):
    pass
