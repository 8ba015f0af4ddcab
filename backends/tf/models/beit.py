"""BEiT in TensorFlow (Keras 3). transformers never had a TF BEiT, so the layer names mirror the PyTorch
checkpoint names (see autoload/backends/torch/models/beit.py for what each class does)."""

from __future__ import annotations

import tensorflow as tf

from autoload import outputs as out
from autoload.models.beit import BeitConfig

from .. import keras_layers
from ..blocks.segmentation import FCNHead, UperHead, feature_pyramid, segmentation_loss
from ..blocks.vision import (
    TFVisionBaseModel,
    TFVisionPreTrainedModel,
    TFViTEmbeddings,
    TFViTEncoder,
    TFViTMainLayer,
    to_nchw,
    to_nhwc,
    tokens_to_map,
)
from ..heads import TFImageClassificationModel, TFTaskModel
from ..losses import token_loss
from ..modeling import Layer, dense


class TFBeitPooler(Layer):
    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.layernorm = (keras_layers.LayerNormalization(epsilon=config.layer_norm_eps, name="layernorm")
                          if config.use_mean_pooling else None)  # fmt: skip
        self.input_width = config.hidden_size

    def input_sizes(self):
        return {self.layernorm: self.input_width}

    def call(self, hidden):
        if self.layernorm is None:
            return hidden[:, 0]
        return self.layernorm(tf.reduce_mean(hidden[:, 1:], axis=1))


class TFBeitMainLayer(TFViTMainLayer):
    output_class = out.BeitModelOutputWithPooling

    def __init__(self, config: BeitConfig, add_pooling_layer: bool = True, **kwargs):
        super().__init__(config, add_pooling_layer, use_mask_token=config.use_mask_token, **kwargs)

    def build_final_norm(self, config):
        if config.use_mean_pooling:
            return keras_layers.Identity(name="layernorm")
        return keras_layers.LayerNormalization(epsilon=config.layer_norm_eps, name="layernorm")

    def build_pooler(self, config):
        return TFBeitPooler(config, name="pooler")


class TFBeitPreTrainedModel(TFVisionPreTrainedModel):
    config_class = BeitConfig
    base_model_prefix = "beit"
    main_layer_class = TFBeitMainLayer
    _keys_to_ignore_on_load_unexpected = [r"relative_position_index"]


class TFBeitModel(TFVisionBaseModel, TFBeitPreTrainedModel):
    pass


class TFBeitForImageClassification(TFImageClassificationModel, TFBeitPreTrainedModel):
    pass


class TFBeitForMaskedImageModeling(TFTaskModel, TFBeitPreTrainedModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.layernorm = keras_layers.LayerNormalization(epsilon=config.layer_norm_eps, name="layernorm")
        self.lm_head = dense(config, config.vocab_size, "lm_head")

    def input_sizes(self):
        width = self.main_layer.output_width
        return {**super().input_sizes(), self.layernorm: width, self.lm_head: width}

    def call(self, pixel_values=None, bool_masked_pos=None, labels=None, training=False, return_dict=True, **kwargs):
        encoded = self.encode(pixel_values, training, bool_masked_pos=bool_masked_pos, **kwargs)
        logits = self.lm_head(self.layernorm(encoded.last_hidden_state)[:, 1:])
        loss = None
        if labels is not None:
            loss = token_loss(tf.boolean_mask(logits, tf.cast(bool_masked_pos, tf.bool)), labels)
        return out.finish(out.from_encoded(out.MaskedLMOutput, encoded, loss=loss, logits=logits), return_dict)


def _pyramid(levels, maps, training):
    return [level(m, training=training) for level, m in zip(levels, maps)]


class TFBeitForSemanticSegmentation(TFTaskModel, TFBeitPreTrainedModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        config.check_fpn(type(self).__name__.removeprefix("TF"))
        config.check_auxiliary_head()
        self.fpn = feature_pyramid(config)
        # the pyramid's levels keep hidden_size channels
        self.decode_head = UperHead(config, config.hidden_size, in_channels=config.hidden_size, name="decode_head")
        self.auxiliary_head = FCNHead(config, in_channels=config.hidden_size, name="auxiliary_head") \
            if config.use_auxiliary_head else None  # fmt: skip

    def input_sizes(self):
        return {**super().input_sizes(), **dict.fromkeys(self.fpn), self.decode_head: None,
                self.auxiliary_head: None}  # fmt: skip

    def call(self, pixel_values=None, labels=None, output_hidden_states=None, training=False, return_dict=True,
             **kwargs):  # fmt: skip
        if labels is not None and self.config.num_labels == 1:
            raise ValueError("The number of labels should be greater than one")
        encoded = self.encode(pixel_values, training, output_hidden_states=True, **kwargs)
        chosen = [h for i, h in enumerate(encoded.hidden_states) if i + 1 in self.config.out_indices]
        side = self.config.image_size // self.config.patch_size
        features = [to_nhwc(f) for f in _pyramid(self.fpn, [tokens_to_map(h[:, 1:], side, side) for h in chosen],
                                                 training)]  # fmt: skip
        logits = to_nchw(self.decode_head(features, training=training))
        auxiliary = to_nchw(self.auxiliary_head(features, training=training)) if self.auxiliary_head else None
        loss = segmentation_loss(logits, auxiliary, labels, self.config) if labels is not None else None
        result = out.SemanticSegmenterOutput(loss=loss, logits=logits, attentions=encoded.attentions,
                                             hidden_states=encoded.hidden_states if output_hidden_states else None)  # fmt: skip
        return out.finish(result, return_dict)


class TFBeitBackbone(TFBeitPreTrainedModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.num_features = [config.hidden_size] * (config.num_hidden_layers + 1)
        self.embeddings = TFViTEmbeddings(config, config.use_mask_token, name="embeddings")
        patches = self.embeddings.patch_embeddings
        window = (patches.image_size[0] // patches.patch_size[0], patches.image_size[1] // patches.patch_size[1])
        self.encoder = TFViTEncoder(config, window, name="encoder")
        self.fpn = None
        if config.add_fpn:
            config.check_fpn("BeitBackbone")
            self.fpn = feature_pyramid(config, config.fpn_batch_norm_eps)

    def input_sizes(self):
        return {self.embeddings: None, self.encoder: None, **dict.fromkeys(self.fpn or [])}

    @property
    def channels(self) -> list[int]:
        return [self.num_features[i] for i in self.config.out_indices]

    def call(self, pixel_values=None, output_hidden_states=None, output_attentions=None, training=False,
             return_dict=True, **kwargs):  # fmt: skip
        hidden, grid = self.embeddings(pixel_values, training=training)
        _, states, attentions = self.encoder(hidden, output_attentions=output_attentions, output_hidden_states=True,
                                             grid=grid, training=training)  # fmt: skip
        maps = [tokens_to_map(s[:, 1:], *grid) if self.config.reshape_hidden_states else s
                for stage, s in zip(self.config.stage_names, states) if stage in self.config.out_features]  # fmt: skip
        if self.fpn is not None:
            maps = _pyramid(self.fpn, maps, training)
        result = out.BackboneOutput(feature_maps=tuple(maps), hidden_states=states if output_hidden_states else None,
                                    attentions=attentions)  # fmt: skip
        return out.finish(result, return_dict)
