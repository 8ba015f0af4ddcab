"""DETR in TensorFlow (Keras 3): TFDetrModel, TFDetrForObjectDetection and TFDetrForSegmentation (transformers
never had them; names mirror the PyTorch classes), on our own TF ResNet backbone whose BatchNorms always run
with their stored statistics, as DETR's frozen BatchNorm does (see blocks/detection.py and autoload/detr.py)."""

from __future__ import annotations

import tensorflow as tf

from autoload import outputs as out
from autoload.models.detr import DetrConfig

from .. import keras_layers
from ..blocks.detection import (
    TFDetrDecoder,
    TFDetrEncoder,
    TFDetrMLPPredictionHead,
    build_backbone,
    flatten_map,
    position_embedding,
    resize_nearest,
)
from ..blocks.vision import TFVisionPreTrainedModel, check_pixel_values, conv, to_nchw, to_nhwc
from ..modeling import Layer, channels_last, dense


class TFDetrConvEncoder(Layer):
    """The backbone (`model`), always in inference mode (frozen BatchNorm); each feature map with the pixel mask
    resized to it."""

    def __init__(self, config: DetrConfig, **kwargs):
        super().__init__(**kwargs)
        self.model = build_backbone(config.own_backbone_config, name="model")

    def input_sizes(self):
        return {self.model: None}

    def call(self, pixel_values, pixel_mask):
        features = self.model(pixel_values, training=False, return_dict=True).feature_maps
        mask = tf.cast(pixel_mask, tf.float32)
        return [(f, tf.cast(resize_nearest(mask, f.shape[-2:]), tf.bool)) for f in features]


class TFDetrConvModel(Layer):
    def __init__(self, config: DetrConfig, **kwargs):
        super().__init__(**kwargs)
        self.conv_encoder = TFDetrConvEncoder(config, name="conv_encoder")
        self.position_embedding = position_embedding(config)

    def input_sizes(self):
        return {self.conv_encoder: None, self.position_embedding: None}

    def call(self, pixel_values, pixel_mask):
        features = self.conv_encoder(pixel_values, pixel_mask)
        return features, [self.position_embedding(f, mask) for f, mask in features]


class TFDetrMainLayer(Layer):
    """DetrModel's layers: backbone, input_projection, query_position_embeddings, encoder, decoder."""

    def __init__(self, config: DetrConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.backbone = TFDetrConvModel(config, name="backbone")
        self.input_projection = conv(config, config.d_model, 1, "input_projection")
        self.query_position_embeddings = keras_layers.Embedding(config.num_queries, config.d_model,
                                                                name="query_position_embeddings")  # fmt: skip
        self.encoder = TFDetrEncoder(config, name="encoder")
        self.decoder = TFDetrDecoder(config, name="decoder")

    def input_sizes(self):  # the input projection reads the last feature map
        return {self.backbone: None, self.input_projection: channels_last(self.config.backbone_channels[-1]),
                self.query_position_embeddings: (None,), self.encoder: None, self.decoder: None}  # fmt: skip

    def call(self, pixel_values, pixel_mask=None, encoder_outputs=None, output_attentions=False,
             output_hidden_states=False, training=False):  # fmt: skip
        """(decoder output, encoder output, feature maps with their masks, projected last feature map)."""
        check_pixel_values(pixel_values, self.config.num_channels)
        pixel_values = tf.convert_to_tensor(pixel_values, tf.float32)
        if pixel_mask is None:
            pixel_mask = tf.ones_like(pixel_values[:, 0])
        features, positions = self.backbone(pixel_values, pixel_mask)
        feature_map, mask = features[-1]
        projected = to_nchw(self.input_projection(to_nhwc(feature_map)))
        tokens, spatial_positions = flatten_map(projected), flatten_map(positions[-1])
        keep = tf.reshape(mask, (tf.shape(mask)[0], -1))
        if encoder_outputs is None:
            encoder_outputs = self.encoder(tokens, keep, spatial_positions, output_attentions=output_attentions,
                                           output_hidden_states=output_hidden_states, training=training)  # fmt: skip
        elif not isinstance(encoder_outputs, out.ModelOutput):
            encoder_outputs = out.BaseModelOutput(*encoder_outputs)
        queries = self.query_position_embeddings(tf.range(self.config.num_queries))
        query_positions = tf.tile(queries[None], (tf.shape(pixel_values)[0], 1, 1))
        decoded = self.decoder(tf.zeros_like(query_positions), query_positions, encoder_outputs[0], spatial_positions,
                               memory_keep=keep, output_attentions=output_attentions,
                               output_hidden_states=output_hidden_states, training=training)  # fmt: skip
        return decoded, encoder_outputs, features, projected


def seq2seq_fields(decoded, encoded) -> dict:
    return {"last_hidden_state": decoded.last_hidden_state, "decoder_hidden_states": decoded.decoder_hidden_states,
            "decoder_attentions": decoded.decoder_attentions, "cross_attentions": decoded.cross_attentions,
            "encoder_last_hidden_state": encoded.last_hidden_state, "encoder_hidden_states": encoded.hidden_states,
            "encoder_attentions": encoded.attentions}  # fmt: skip


def refuse_labels(labels) -> None:
    if labels is not None:
        raise NotImplementedError(
            "DETR's training loss from `labels` (Hungarian matching) is computed in PyTorch only (DetrForObjectDetection "
            "/ DetrForSegmentation); in TensorFlow call the model without labels."
        )


class TFDetrPreTrainedModel(TFVisionPreTrainedModel):
    config_class = DetrConfig
    base_model_prefix = "model"

    def __init__(self, config: DetrConfig, *args, **kwargs):
        config.check_supported()
        super().__init__(config, *args, **kwargs)


class TFDetrModel(TFDetrPreTrainedModel):
    is_base_model = True

    def __init__(self, config: DetrConfig, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.model = TFDetrMainLayer(config, name="model")

    def input_sizes(self):
        return {self.model: None}

    def call(self, pixel_values=None, pixel_mask=None, decoder_attention_mask=None, encoder_outputs=None,
             inputs_embeds=None, decoder_inputs_embeds=None, output_attentions=None, output_hidden_states=None,
             return_dict=True, training=False, **kwargs):  # fmt: skip
        decoded, encoded, _, _ = self.model(pixel_values, pixel_mask=pixel_mask, encoder_outputs=encoder_outputs,
                                            output_attentions=output_attentions,
                                            output_hidden_states=output_hidden_states, training=training)  # fmt: skip
        result = out.DetrModelOutput(**seq2seq_fields(decoded, encoded),
                                     intermediate_hidden_states=decoded.intermediate_hidden_states)  # fmt: skip
        return out.finish(result, return_dict)


def detect(holder, pixel_values, pixel_mask, encoder_outputs, output_attentions, output_hidden_states, training):
    """Run `holder`'s model and heads (DETR's object detector, standalone or inside DetrForSegmentation's
    `detr`): (logits, pred_boxes, decoder output, encoder output, feature maps, projected map)."""
    decoded, encoded, features, projected = holder.model(
        pixel_values, pixel_mask=pixel_mask, encoder_outputs=encoder_outputs, output_attentions=output_attentions,
        output_hidden_states=output_hidden_states, training=training)  # fmt: skip
    hidden = decoded.last_hidden_state
    logits = holder.class_labels_classifier(hidden)
    return logits, tf.sigmoid(holder.bbox_predictor(hidden)), decoded, encoded, features, projected


def add_detector_layers(holder, config: DetrConfig) -> None:
    holder.model = TFDetrMainLayer(config, name="model")
    holder.class_labels_classifier = dense(config, config.num_labels + 1, "class_labels_classifier")
    holder.bbox_predictor = TFDetrMLPPredictionHead(config, config.d_model, 4, 3, name="bbox_predictor")


def detector_sizes(holder) -> dict:
    return {holder.model: None, holder.class_labels_classifier: holder.config.d_model, holder.bbox_predictor: None}


class TFDetrDetector(Layer):
    """DetrForObjectDetection's layers as DetrForSegmentation holds them (`detr`)."""

    def __init__(self, config: DetrConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        add_detector_layers(self, config)

    def input_sizes(self):
        return detector_sizes(self)

    def call(self, pixel_values, pixel_mask=None, encoder_outputs=None, output_attentions=False,
             output_hidden_states=False, training=False):  # fmt: skip
        return detect(self, pixel_values, pixel_mask, encoder_outputs, output_attentions, output_hidden_states,
                      training)  # fmt: skip


class TFDetrForObjectDetection(TFDetrPreTrainedModel):
    def __init__(self, config: DetrConfig, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        add_detector_layers(self, config)

    def input_sizes(self):
        return detector_sizes(self)

    def call(self, pixel_values=None, pixel_mask=None, decoder_attention_mask=None, encoder_outputs=None,
             inputs_embeds=None, decoder_inputs_embeds=None, labels=None, output_attentions=None,
             output_hidden_states=None, return_dict=True, training=False, **kwargs):  # fmt: skip
        refuse_labels(labels)
        logits, pred_boxes, decoded, encoded, _, _ = detect(self, pixel_values, pixel_mask, encoder_outputs,
                                                            output_attentions, output_hidden_states, training)  # fmt: skip
        result = out.DetrObjectDetectionOutput(logits=logits, pred_boxes=pred_boxes, **seq2seq_fields(decoded, encoded))
        return out.finish(result, return_dict)


class TFDetrMHAttentionMap(Layer):
    """Attention weights of the queries over the encoder's map, softmaxed over heads and positions together."""

    def __init__(self, config, hidden_dim: int, num_heads: int, **kwargs):
        super().__init__(**kwargs)
        self.num_heads, self.hidden_dim = num_heads, hidden_dim
        self.q_linear = dense(config, hidden_dim, "q_linear")
        self.k_linear = dense(config, hidden_dim, "k_linear")
        self.normalize_fact = float(hidden_dim / num_heads) ** -0.5
        self.input_width = config.d_model  # the queries' and the encoder map's

    def input_sizes(self):
        return {self.q_linear: self.input_width, self.k_linear: self.input_width}

    def call(self, q, k_nhwc, padding=None):
        """q [batch, queries, d]; k_nhwc [batch, H, W, d]; padding [batch, H, W] true on padding ->
        [batch, queries, heads, H, W]."""
        head_dim = self.hidden_dim // self.num_heads
        q = self.q_linear(q)
        k = self.k_linear(k_nhwc)
        batch, queries = tf.shape(q)[0], q.shape[1]
        height, width = k.shape[1], k.shape[2]
        q = tf.reshape(q, (batch, queries, self.num_heads, head_dim))
        k = tf.reshape(k, (batch, height, width, self.num_heads, head_dim))
        weights = tf.einsum("bqnc,bhwnc->bqnhw", q * self.normalize_fact, k)
        if padding is not None:
            weights = tf.where(padding[:, None, None], weights.dtype.min, weights)
        flat = tf.nn.softmax(tf.reshape(weights, (batch, queries, -1)), axis=-1)
        return tf.reshape(flat, tf.shape(weights))


class TFDetrMaskHeadSmallConv(Layer):
    """Convolutions with GroupNorm upsampling the attention maps, FPN-style, with the backbone's features (NHWC)."""

    def __init__(self, config: DetrConfig, **kwargs):
        super().__init__(**kwargs)
        sizes = config.mask_head
        widths = list(sizes.dims)
        for i in range(5):
            setattr(self, f"lay{i + 1}", conv(config, widths[i], 3, f"lay{i + 1}", padding="same"))
            setattr(self, f"gn{i + 1}", keras_layers.GroupNormalization(sizes.groups[i], epsilon=1e-5,
                                                                        name=f"gn{i + 1}"))  # fmt: skip
        self.out_lay = conv(config, 1, 3, "out_lay", padding="same")
        self.adapter1 = conv(config, widths[1], 1, "adapter1")
        self.adapter2 = conv(config, widths[2], 1, "adapter2")
        self.adapter3 = conv(config, widths[3], 1, "adapter3")
        self.sizes = sizes

    def input_sizes(self):
        widths = self.sizes.dims
        inputs = (widths[0], *widths[:4])  # lay1 reads the projected map beside the heads' maps: dims[0]
        sizes = {self.out_lay: channels_last(widths[4])}
        for i, width in enumerate(inputs):
            sizes[getattr(self, f"lay{i + 1}")] = channels_last(width)
            sizes[getattr(self, f"gn{i + 1}")] = channels_last(widths[i])
        adapters = (self.adapter1, self.adapter2, self.adapter3)
        return {**sizes, **{a: channels_last(w) for a, w in zip(adapters, self.sizes.fpn_dims)}}

    def call(self, x, bbox_mask, fpns):
        """x [batch, H, W, d] NHWC; bbox_mask [batch, queries, heads, H, W]; fpns NHWC -> [batch * queries,
        H', W', 1]."""
        queries = bbox_mask.shape[1]
        maps = tf.transpose(bbox_mask, (0, 1, 3, 4, 2))
        shape = tf.shape(maps)
        maps = tf.reshape(maps, (shape[0] * queries, shape[2], shape[3], bbox_mask.shape[2]))
        x = tf.concat([tf.repeat(x, queries, axis=0), maps], axis=-1)
        x = tf.nn.relu(self.gn1(self.lay1(x)))
        x = tf.nn.relu(self.gn2(self.lay2(x)))
        for adapter, layer, norm, fpn in ((self.adapter1, self.lay3, self.gn3, fpns[0]),
                                          (self.adapter2, self.lay4, self.gn4, fpns[1]),
                                          (self.adapter3, self.lay5, self.gn5, fpns[2])):  # fmt: skip
            lateral = tf.repeat(adapter(fpn), queries, axis=0)
            x = lateral + resize_nearest(x, lateral.shape[1:3], axes=(1, 2))
            x = tf.nn.relu(norm(layer(x)))
        return self.out_lay(x)


class TFDetrForSegmentation(TFDetrPreTrainedModel):
    def __init__(self, config: DetrConfig, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.detr = TFDetrDetector(config, name="detr")
        self.mask_head = TFDetrMaskHeadSmallConv(config, name="mask_head")
        self.bbox_attention = TFDetrMHAttentionMap(config, config.d_model, config.encoder_attention_heads,
                                                   name="bbox_attention")  # fmt: skip

    def input_sizes(self):
        return {self.detr: None, self.mask_head: None, self.bbox_attention: None}

    def call(self, pixel_values=None, pixel_mask=None, decoder_attention_mask=None, encoder_outputs=None,
             inputs_embeds=None, decoder_inputs_embeds=None, labels=None, output_attentions=None,
             output_hidden_states=None, return_dict=True, training=False, **kwargs):  # fmt: skip
        refuse_labels(labels)
        logits, pred_boxes, decoded, encoded, features, projected = self.detr(
            pixel_values, pixel_mask=pixel_mask, encoder_outputs=encoder_outputs, output_attentions=output_attentions,
            output_hidden_states=output_hidden_states, training=training)
        hidden = decoded.last_hidden_state
        height, width = projected.shape[-2], projected.shape[-1]
        memory = tf.reshape(encoded[0], (-1, height, width, self.config.d_model))
        bbox_mask = self.bbox_attention(hidden, memory, padding=tf.logical_not(features[-1][1]))
        fpns = [to_nhwc(features[i][0]) for i in (2, 1, 0)]
        masks = self.mask_head(to_nhwc(projected), bbox_mask, fpns)
        pred_masks = tf.reshape(masks, (-1, self.config.num_queries, masks.shape[1], masks.shape[2]))
        result = out.DetrSegmentationOutput(logits=logits, pred_boxes=pred_boxes, pred_masks=pred_masks,
                                            **seq2seq_fields(decoded, encoded))  # fmt: skip
        return out.finish(result, return_dict)
