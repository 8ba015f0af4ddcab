"""SegFormer in TensorFlow (Keras 3), named like transformers' TF SegFormer (the PyTorch checkpoint names; see
autoload/backends/torch/models/segformer.py for what each class does). Channels-first in and out; the
convolutions run NHWC inside, and a NHWC map read row by row is PyTorch's token order."""

from __future__ import annotations

import tensorflow as tf

from autoload import outputs as out
from autoload.models.segformer import SegformerConfig, SegformerStage

from .. import keras_layers
from ..activations import get_activation
from ..blocks.dense_prediction import DepthwiseConv, pad_nhwc, semantic_loss
from ..blocks.vision import (
    DropPath,
    TFVisionBaseModel,
    TFVisionPreTrainedModel,
    attend,
    batch_norm,
    channels_last,
    check_pixel_values,
    conv,
    resize_maps_nhwc,
    to_nchw,
    to_nhwc,
)
from ..heads import TFImageClassificationModel, TFTaskModel
from ..modeling import Dropout, Layer, dense

_EPS = 1e-5  # every SegFormer LayerNorm has PyTorch's default epsilon (layer_norm_eps is not read)


def layer_norm(name: str):
    return keras_layers.LayerNormalization(epsilon=_EPS, name=name)


def as_tokens(x):
    """NHWC map -> [batch, h*w, channels]."""
    shape = tf.shape(x)
    return tf.reshape(x, (shape[0], shape[1] * shape[2], x.shape[-1]))


def as_map(tokens, grid):
    return tf.reshape(tokens, (tf.shape(tokens)[0], grid[0], grid[1], tokens.shape[-1]))


class TFSegformerOverlapPatchEmbeddings(Layer):
    def __init__(self, config, stage: SegformerStage, **kwargs):
        super().__init__(**kwargs)
        self.padding = stage.patch_size // 2
        self.proj = conv(config, stage.width, stage.patch_size, "proj", strides=stage.stride)
        self.layer_norm = layer_norm("layer_norm")
        self.stage = stage

    def input_sizes(self):
        return {self.proj: channels_last(self.stage.in_channels), self.layer_norm: self.stage.width}

    def call(self, x):
        x = self.proj(pad_nhwc(x, self.padding))
        grid = (x.shape[1], x.shape[2])
        return self.layer_norm(as_tokens(x)), grid


class TFSegformerEfficientSelfAttention(Layer):
    def __init__(self, config, stage: SegformerStage, **kwargs):
        super().__init__(**kwargs)
        width = stage.width
        self.heads = stage.heads
        self.query, self.key, self.value = (dense(config, width, n) for n in ("query", "key", "value"))
        self.dropout = Dropout(config.attention_probs_dropout_prob)
        self.sr_ratio = stage.sr_ratio
        if stage.sr_ratio > 1:
            self.sr = conv(config, width, stage.sr_ratio, "sr", strides=stage.sr_ratio)
            self.layer_norm = layer_norm("layer_norm")
        self.width = width

    def input_sizes(self):
        sizes = dict.fromkeys((self.query, self.key, self.value), self.width)
        if self.sr_ratio > 1:
            sizes.update({self.sr: channels_last(self.width), self.layer_norm: self.width})
        return sizes

    def _heads(self, x):
        shape = tf.shape(x)
        return tf.transpose(tf.reshape(x, (shape[0], shape[1], self.heads, x.shape[-1] // self.heads)), (0, 2, 1, 3))

    def call(self, hidden, grid, training=False):
        queries = self._heads(self.query(hidden))
        if self.sr_ratio > 1:
            hidden = self.layer_norm(as_tokens(self.sr(as_map(hidden, grid))))
        keys, values = self._heads(self.key(hidden)), self._heads(self.value(hidden))
        context, probs = attend(queries, keys, values, dropout=self.dropout, training=training)
        context = tf.transpose(context, (0, 2, 1, 3))
        shape = tf.shape(context)
        return tf.reshape(context, (shape[0], shape[1], -1)), probs


class TFSegformerSelfOutput(Layer):
    def __init__(self, config, width: int, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense(config, width, "dense")
        self.dropout = Dropout(config.hidden_dropout_prob)

    def input_sizes(self):
        return {self.dense: self.dense.units}  # the merged heads: width

    def call(self, hidden, training=False):
        return self.dropout(self.dense(hidden), training=training)


class TFSegformerAttention(Layer):
    def __init__(self, config, stage: SegformerStage, **kwargs):
        super().__init__(**kwargs)
        self.self_attention = TFSegformerEfficientSelfAttention(config, stage, name="self")
        self.dense_output = TFSegformerSelfOutput(config, stage.width, name="output")

    def input_sizes(self):
        return {self.self_attention: None, self.dense_output: None}

    def call(self, hidden, grid, training=False):
        context, probs = self.self_attention(hidden, grid=grid, training=training)
        return self.dense_output(context, training=training), probs


class TFSegformerDWConv(Layer):
    def __init__(self, config, width: int, **kwargs):
        super().__init__(**kwargs)
        self.dwconv = DepthwiseConv(config, width, name="dwconv")

    def input_sizes(self):
        return {self.dwconv: None}

    def call(self, hidden, grid):
        return as_tokens(self.dwconv(as_map(hidden, grid)))


class TFSegformerMixFFN(Layer):
    def __init__(self, config, stage: SegformerStage, **kwargs):
        super().__init__(**kwargs)
        self.dense1 = dense(config, stage.mlp_width, "dense1")
        self.dwconv = TFSegformerDWConv(config, stage.mlp_width, name="dwconv")
        self.act = get_activation(config.hidden_act)
        self.dense2 = dense(config, stage.width, "dense2")
        self.dropout = Dropout(config.hidden_dropout_prob)
        self.input_width = stage.width

    def input_sizes(self):
        return {self.dense1: self.input_width, self.dwconv: None, self.dense2: self.dense1.units}

    def call(self, hidden, grid, training=False):
        hidden = self.dropout(self.act(self.dwconv(self.dense1(hidden), grid=grid)), training=training)
        return self.dropout(self.dense2(hidden), training=training)


class TFSegformerLayer(Layer):
    def __init__(self, config, stage: SegformerStage, index: int, **kwargs):
        super().__init__(**kwargs)
        self.layer_norm_1 = layer_norm("layer_norm_1")
        self.attention = TFSegformerAttention(config, stage, name="attention")
        self.drop_path = DropPath(stage.drop_path_rates[index])
        self.layer_norm_2 = layer_norm("layer_norm_2")
        self.mlp = TFSegformerMixFFN(config, stage, name="mlp")
        self.width = stage.width

    def input_sizes(self):
        return {self.layer_norm_1: self.width, self.attention: None, self.layer_norm_2: self.width, self.mlp: None}

    def call(self, hidden, grid, training=False):
        attended, probs = self.attention(self.layer_norm_1(hidden), grid=grid, training=training)
        hidden = self.drop_path(attended, training=training) + hidden
        mixed = self.mlp(self.layer_norm_2(hidden), grid=grid, training=training)
        return self.drop_path(mixed, training=training) + hidden, probs


class TFSegformerEncoder(Layer):
    def __init__(self, config: SegformerConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        stages = config.segformer_options()
        self.patch_embeddings = [TFSegformerOverlapPatchEmbeddings(config, s, name=f"patch_embeddings.{i}")
                                 for i, s in enumerate(stages)]  # fmt: skip
        self.block = [[TFSegformerLayer(config, s, j, name=f"block.{i}.{j}") for j in range(s.depth)]
                      for i, s in enumerate(stages)]  # fmt: skip
        self.layer_norm = [layer_norm(f"layer_norm.{i}") for i in range(len(stages))]
        self.widths = [s.width for s in stages]

    def input_sizes(self):
        return {**dict.fromkeys(self.patch_embeddings), **dict.fromkeys(layer for b in self.block for layer in b),
                **dict(zip(self.layer_norm, self.widths))}  # fmt: skip

    def call(self, pixel_values, output_attentions=False, output_hidden_states=False, training=False):
        hidden, states, attentions = to_nhwc(pixel_values), (), ()
        last = len(self.block) - 1
        for i, (embed, layers, norm) in enumerate(zip(self.patch_embeddings, self.block, self.layer_norm)):
            hidden, grid = embed(hidden)
            for layer in layers:
                hidden, probs = layer(hidden, grid=grid, training=training)
                attentions += (probs,)
            hidden = norm(hidden)
            if i != last or self.config.reshape_last_stage:
                hidden = as_map(hidden, grid)
                states += (to_nchw(hidden),)
            else:
                states += (hidden,)
        return states[-1], states if output_hidden_states else None, attentions if output_attentions else None


class TFSegformerMainLayer(Layer):
    def __init__(self, config: SegformerConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.encoder = TFSegformerEncoder(config, name="encoder")

    def input_sizes(self):
        return {self.encoder: None}

    def call(self, pixel_values=None, output_attentions=False, output_hidden_states=False, training=False):
        check_pixel_values(pixel_values, self.config.num_channels)
        hidden, states, attentions = self.encoder(pixel_values, output_attentions=output_attentions,
                                                  output_hidden_states=output_hidden_states, training=training)  # fmt: skip
        return out.BaseModelOutput(last_hidden_state=hidden, hidden_states=states, attentions=attentions)


class TFSegformerPreTrainedModel(TFVisionPreTrainedModel):
    config_class = SegformerConfig
    base_model_prefix = "segformer"
    main_layer_class = TFSegformerMainLayer


class TFSegformerModel(TFVisionBaseModel, TFSegformerPreTrainedModel):
    pass


class TFSegformerForImageClassification(TFImageClassificationModel, TFSegformerPreTrainedModel):
    output_class = out.SegFormerImageClassifierOutput

    def pooled_width(self) -> int:
        return self.config.hidden_sizes[-1]  # the last stage's channels, averaged over the map or the tokens

    def pool(self, encoded, input_ids=None, mask=None):
        hidden = encoded.last_hidden_state
        if len(hidden.shape) == 4:  # a channels-first map
            return tf.reduce_mean(hidden, axis=(2, 3))
        return tf.reduce_mean(hidden, axis=1)


class TFSegformerMLP(Layer):
    def __init__(self, config, input_width: int, **kwargs):
        super().__init__(**kwargs)
        self.proj = dense(config, config.decoder_hidden_size, "proj")
        self.input_width = input_width

    def input_sizes(self):
        return {self.proj: self.input_width}

    def call(self, x):
        return self.proj(x)


class TFSegformerDecodeHead(Layer):
    def __init__(self, config: SegformerConfig, **kwargs):
        super().__init__(**kwargs)
        self.linear_c = [TFSegformerMLP(config, config.hidden_sizes[i], name=f"linear_c.{i}")
                         for i in range(config.num_encoder_blocks)]  # fmt: skip
        self.linear_fuse = conv(config, config.decoder_hidden_size, 1, "linear_fuse", use_bias=False)
        self.batch_norm = batch_norm("batch_norm")
        self.dropout = Dropout(config.classifier_dropout_prob)
        self.classifier = conv(config, config.num_labels, 1, "classifier")

    def input_sizes(self):  # linear_fuse reads every stage's projection (decoder_hidden_size), concatenated
        width = self.linear_fuse.filters
        return {**dict.fromkeys(self.linear_c), self.linear_fuse: channels_last(width * len(self.linear_c)),
                **dict.fromkeys((self.batch_norm, self.classifier), channels_last(width))}  # fmt: skip

    def call(self, maps_nchw, training=False):
        maps = [to_nhwc(m) for m in maps_nchw]
        size = maps[0].shape[1:3]
        projected = [resize_maps_nhwc(mlp(m), size) for m, mlp in zip(maps, self.linear_c)]
        fused = self.linear_fuse(tf.concat(projected[::-1], axis=-1))
        fused = tf.nn.relu(self.batch_norm(fused, training=training))
        return to_nchw(self.classifier(self.dropout(fused, training=training)))


class TFSegformerForSemanticSegmentation(TFTaskModel, TFSegformerPreTrainedModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        config.check_decode_head()
        self.decode_head = TFSegformerDecodeHead(config, name="decode_head")

    def input_sizes(self):
        return {**super().input_sizes(), self.decode_head: None}

    def call(self, pixel_values=None, labels=None, output_hidden_states=None, training=False, return_dict=True,
             **kwargs):  # fmt: skip
        if labels is not None and self.config.num_labels < 1:
            raise ValueError(f"Number of labels should be >=0: {self.config.num_labels}")
        encoded = self.encode(pixel_values, training, output_hidden_states=True, **kwargs)
        logits = self.decode_head(encoded.hidden_states, training=training)
        loss = semantic_loss(logits, labels, self.config) if labels is not None else None
        result = out.SemanticSegmenterOutput(loss=loss, logits=logits, attentions=encoded.attentions,
                                             hidden_states=encoded.hidden_states if output_hidden_states else None)  # fmt: skip
        return out.finish(result, return_dict)
