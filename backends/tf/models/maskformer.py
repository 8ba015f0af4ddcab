"""MaskFormer in TensorFlow (TFMaskFormerModel, TFMaskFormerForInstanceSegmentation; transformers never had them,
names mirror the PyTorch classes): our own TF backbone, the feature-pyramid pixel decoder, DETR's transformer
decoder (blocks/detection.py) over learned queries, and the class / mask-embedding heads."""

from __future__ import annotations

import tensorflow as tf

from autoload import outputs as out
from autoload.models.maskformer import MaskFormerConfig

from .. import keras_layers
from ..blocks.detection import TFDetrDecoder, build_backbone, flatten_map, resize_nearest, sine_positions
from ..blocks.vision import TFVisionPreTrainedModel, conv, to_nchw, to_nhwc
from ..modeling import Layer, channels_last, dense

_FPN_GROUPS = 32


def group_norm(name: str):
    return keras_layers.GroupNormalization(_FPN_GROUPS, epsilon=1e-5, name=name)


class TFMaskFormerFPNConvLayer(Layer):
    """conv (no bias, `0`) -> GroupNorm(32) (`1`) -> ReLU on NHWC maps."""

    def __init__(self, config, out_features: int, kernel_size: int = 3, in_features: int | None = None, **kwargs):
        """in_features: the maps' channels (out_features by default)."""
        super().__init__(**kwargs)
        self.convolution = conv(config, out_features, kernel_size, "0", padding="same", use_bias=False)
        self.norm = group_norm("1")
        self.in_features = out_features if in_features is None else in_features

    def input_sizes(self):
        return {self.convolution: channels_last(self.in_features), self.norm: channels_last(self.convolution.filters)}

    def call(self, x):
        return tf.nn.relu(self.norm(self.convolution(x)))


class TFMaskFormerFPNLayer(Layer):
    def __init__(self, config, in_features: int, lateral_features: int, **kwargs):
        """in_features: the pyramid's channels; lateral_features: those of the backbone map it joins."""
        super().__init__(**kwargs)
        self.projection = conv(config, in_features, 1, "proj.0", use_bias=False)
        self.projection_norm = group_norm("proj.1")
        self.block = TFMaskFormerFPNConvLayer(config, in_features, name="block")
        self.lateral_features = lateral_features

    def input_sizes(self):
        return {self.projection: channels_last(self.lateral_features),
                self.projection_norm: channels_last(self.projection.filters), self.block: None}  # fmt: skip

    def call(self, down, left):
        left = self.projection_norm(self.projection(left))
        return self.block(resize_nearest(down, left.shape[1:3], axes=(1, 2)) + left)


class TFMaskFormerFPNModel(Layer):
    def __init__(self, config: MaskFormerConfig, levels: int, **kwargs):
        super().__init__(**kwargs)
        size, channels = config.fpn_feature_size, config.backbone_channels
        self.stem = TFMaskFormerFPNConvLayer(config, size, in_features=channels[-1], name="stem")
        lateral = channels[:-1][::-1]  # the shallower maps, deepest first
        self.levels = [TFMaskFormerFPNLayer(config, size, lateral[i], name=f"layers.{i}") for i in range(levels)]

    def input_sizes(self):
        return dict.fromkeys([self.stem, *self.levels])

    def call(self, features):
        """NHWC feature maps (last = deepest) -> the pyramid's maps, coarse to fine (NHWC)."""
        output, maps = self.stem(features[-1]), []
        for layer, left in zip(self.levels, features[:-1][::-1]):
            output = layer(output, left)
            maps.append(output)
        return maps


class TFMaskFormerPixelDecoder(Layer):
    def __init__(self, config: MaskFormerConfig, levels: int, **kwargs):
        super().__init__(**kwargs)
        self.fpn = TFMaskFormerFPNModel(config, levels, name="fpn")
        self.mask_projection = conv(config, config.mask_feature_size, 3, "mask_projection", padding="same")
        self.input_width = config.fpn_feature_size

    def input_sizes(self):
        return {self.fpn: None, self.mask_projection: channels_last(self.input_width)}

    def call(self, features):
        maps = self.fpn(features)
        return self.mask_projection(maps[-1]), maps


class TFMaskFormerPixelLevelModule(Layer):
    """The backbone (`encoder`, channels-first maps) and the pixel decoder (`decoder`)."""

    def __init__(self, config: MaskFormerConfig, **kwargs):
        super().__init__(**kwargs)
        self.encoder = build_backbone(config.pixel_backbone_config, name="encoder")
        self.decoder = TFMaskFormerPixelDecoder(config, len(config.backbone_channels) - 1, name="decoder")

    def input_sizes(self):
        return {self.encoder: None, self.decoder: None}

    def call(self, pixel_values, training=False):
        features = tuple(self.encoder(pixel_values, training=training, return_dict=True).feature_maps)
        pixel_embeddings, maps = self.decoder([to_nhwc(f) for f in features])
        return features, to_nchw(pixel_embeddings), tuple(to_nchw(m) for m in maps)


class TFMaskFormerTransformerModule(Layer):
    def __init__(self, config: MaskFormerConfig, in_features: int, **kwargs):
        super().__init__(**kwargs)
        decoder_config = config.decoder_config
        self.hidden, self.num_queries = decoder_config.d_model, decoder_config.num_queries
        self.queries_embedder = keras_layers.Embedding(self.num_queries, self.hidden, name="queries_embedder")
        self.input_projection = (conv(config, self.hidden, 1, "input_projection") if in_features != self.hidden
                                 else None)  # fmt: skip
        self.decoder = TFDetrDecoder(decoder_config, name="decoder")
        self.in_features = in_features

    def input_sizes(self):
        return {self.queries_embedder: (None,), self.input_projection: channels_last(self.in_features),
                self.decoder: None}  # fmt: skip

    def call(self, image_features, output_attentions=False, output_hidden_states=False, training=False):
        if self.input_projection is not None:
            image_features = to_nchw(self.input_projection(to_nhwc(image_features)))
        shape = tf.shape(image_features)
        full = tf.ones((shape[0], image_features.shape[2], image_features.shape[3]))
        positions = flatten_map(sine_positions(full, self.hidden // 2))
        queries = tf.tile(self.queries_embedder(tf.range(self.num_queries))[None], (shape[0], 1, 1))
        return self.decoder(tf.zeros_like(queries), queries, flatten_map(image_features), positions,
                            output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                            training=training)  # fmt: skip


class TFMaskFormerMainLayer(Layer):
    """MaskFormerModel's layers: pixel_level_module and transformer_module."""

    def __init__(self, config: MaskFormerConfig, **kwargs):
        super().__init__(**kwargs)
        self.pixel_level_module = TFMaskFormerPixelLevelModule(config, name="pixel_level_module")
        self.transformer_module = TFMaskFormerTransformerModule(config, config.backbone_channels[-1],
                                                                name="transformer_module")  # fmt: skip

    def input_sizes(self):
        return {self.pixel_level_module: None, self.transformer_module: None}

    def call(self, pixel_values, output_attentions=False, output_hidden_states=False, training=False):
        if pixel_values is None:
            raise ValueError("You have to specify pixel_values")
        features, pixel_embeddings, maps = self.pixel_level_module(pixel_values, training=training)
        decoded = self.transformer_module(features[-1], output_attentions=output_attentions,
                                          output_hidden_states=output_hidden_states, training=training)  # fmt: skip
        states = decoded.decoder_hidden_states
        return out.MaskFormerModelOutput(
            encoder_last_hidden_state=features[-1], pixel_decoder_last_hidden_state=pixel_embeddings,
            transformer_decoder_last_hidden_state=decoded.last_hidden_state,
            encoder_hidden_states=features if output_hidden_states else None,
            pixel_decoder_hidden_states=maps if output_hidden_states else None,
            transformer_decoder_hidden_states=states,
            hidden_states=features + maps + states if output_hidden_states else None,
            attentions=decoded.decoder_attentions,
        )  # fmt: skip


class TFMaskFormerPreTrainedModel(TFVisionPreTrainedModel):
    config_class = MaskFormerConfig
    base_model_prefix = "model"
    # transformers' loss keeps its class weights as a buffer of the model (the no-object weight): not a weight here
    _keys_to_ignore_on_load_unexpected = [r"criterion\.empty_weight"]

    def __init__(self, config: MaskFormerConfig, *args, **kwargs):
        config.check_supported()
        super().__init__(config, *args, **kwargs)

    def dummy_inputs(self) -> dict:
        return {"pixel_values": tf.zeros((1, self.config.pixel_backbone_config.num_channels, 64, 64))}


class TFMaskFormerModel(TFMaskFormerPreTrainedModel):
    is_base_model = True

    def __init__(self, config: MaskFormerConfig, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.model = TFMaskFormerMainLayer(config, name="model")

    def input_sizes(self):
        return {self.model: None}

    def call(self, pixel_values=None, pixel_mask=None, output_hidden_states=None, output_attentions=None,
             return_dict=True, training=False, **kwargs):  # fmt: skip
        """pixel_mask is accepted and unused, as in transformers 4.57.6."""
        result = self.model(pixel_values, output_attentions=output_attentions,
                            output_hidden_states=output_hidden_states, training=training)  # fmt: skip
        return out.finish(result, return_dict)


class TFMaskformerMLPPredictionHead(Layer):
    """Dense layers `N.0` with ReLU between them."""

    def __init__(self, config, hidden_dim: int, output_dim: int, num_layers: int = 3, **kwargs):
        super().__init__(**kwargs)
        widths = [hidden_dim] * (num_layers - 1) + [output_dim]
        self.blocks = [dense(config, width, f"{i}.0") for i, width in enumerate(widths)]
        self.sizes = dict(zip(self.blocks, [hidden_dim] + widths[:-1]))  # the decoder's hidden states in

    def input_sizes(self):
        return self.sizes

    def call(self, x):
        for i, layer in enumerate(self.blocks):
            x = layer(x)
            if i < len(self.blocks) - 1:
                x = tf.nn.relu(x)
        return x


def refuse_labels(mask_labels, class_labels) -> None:
    if mask_labels is not None or class_labels is not None:
        raise NotImplementedError(
            "MaskFormer's training loss from mask_labels / class_labels (Hungarian matching) is computed in PyTorch "
            "only (MaskFormerForInstanceSegmentation); in TensorFlow call the model without labels."
        )


class TFMaskFormerForInstanceSegmentation(TFMaskFormerPreTrainedModel):
    def __init__(self, config: MaskFormerConfig, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.model = TFMaskFormerMainLayer(config, name="model")
        hidden = config.decoder_config.d_model
        self.class_predictor = dense(config, config.num_labels + 1, "class_predictor")
        self.mask_embedder = TFMaskformerMLPPredictionHead(config, hidden, config.mask_feature_size,
                                                           name="mask_embedder")  # fmt: skip

    def input_sizes(self):
        return {self.model: None, self.class_predictor: self.config.decoder_config.d_model, self.mask_embedder: None}

    def call(self, pixel_values=None, mask_labels=None, class_labels=None, pixel_mask=None,
             output_auxiliary_logits=None, output_hidden_states=None, output_attentions=None, return_dict=True,
             training=False, **kwargs):  # fmt: skip
        refuse_labels(mask_labels, class_labels)
        outputs = self.model(pixel_values, output_attentions=output_attentions,
                             output_hidden_states=output_hidden_states or self.config.use_auxiliary_loss,
                             training=training)  # fmt: skip
        pixel_embeddings = outputs.pixel_decoder_last_hidden_state
        auxiliary = None
        if self.config.use_auxiliary_loss:
            stacked = tf.stack(outputs.transformer_decoder_hidden_states)
            classes = self.class_predictor(stacked)
            masks = tf.einsum("lbqc,bchw->lbqhw", self.mask_embedder(stacked), pixel_embeddings)
            class_logits, mask_logits = classes[-1], masks[-1]
            auxiliary = [{"masks_queries_logits": masks[i], "class_queries_logits": classes[i]}
                         for i in range(len(outputs.transformer_decoder_hidden_states) - 1)]  # fmt: skip
        else:
            hidden = outputs.transformer_decoder_last_hidden_state
            class_logits = self.class_predictor(hidden)
            mask_logits = tf.einsum("bqc,bchw->bqhw", self.mask_embedder(hidden), pixel_embeddings)
        if not (self.config.output_auxiliary_logits if output_auxiliary_logits is None else output_auxiliary_logits):
            auxiliary = None
        fields = {f: getattr(outputs, f) for f in ("encoder_last_hidden_state", "pixel_decoder_last_hidden_state",
                                                   "transformer_decoder_last_hidden_state", "attentions")}  # fmt: skip
        if output_hidden_states:
            fields.update({f: getattr(outputs, f) for f in ("encoder_hidden_states", "pixel_decoder_hidden_states",
                                                            "transformer_decoder_hidden_states", "hidden_states")})  # fmt: skip
        result = out.MaskFormerForInstanceSegmentationOutput(
            class_queries_logits=class_logits, masks_queries_logits=mask_logits, auxiliary_logits=auxiliary, **fields
        )
        return out.finish(result, return_dict)
