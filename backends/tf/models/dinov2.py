"""DINOv2 in TensorFlow (Keras 3); transformers had no TF DINOv2, so names mirror the PyTorch checkpoints (see
autoload/backends/torch/models/dinov2.py)."""

from __future__ import annotations

from autoload import outputs as out
from autoload.models.dinov2 import Dinov2Config

from .. import keras_layers
from ..blocks.vision import (
    TFCLIPMLP,
    DropPath,
    TFFirstToken,
    TFLayerScale,
    TFSwiGLUMLP,
    TFVisionBaseModel,
    TFVisionPreTrainedModel,
    TFViTAttention,
    TFViTEmbeddings,
    TFViTEncoder,
    TFViTMainLayer,
    tokens_to_map,
)
from ..heads import TFImageClassificationModel
from ..modeling import Layer


class TFDinov2Layer(Layer):
    def __init__(self, config: Dinov2Config, index: int = 0, window=None, **kwargs):
        super().__init__(**kwargs)
        size, eps = config.hidden_size, config.layer_norm_eps
        self.norm1 = keras_layers.LayerNormalization(epsilon=eps, name="norm1")
        self.attention = TFViTAttention(config, name="attention")
        self.layer_scale1 = TFLayerScale(size, config.layerscale_value, name="layer_scale1")
        self.drop_path = DropPath(config.drop_path_rates[index])
        self.norm2 = keras_layers.LayerNormalization(epsilon=eps, name="norm2")
        self.mlp = (TFSwiGLUMLP(config, config.mlp_width, name="mlp") if config.use_swiglu_ffn
                    else TFCLIPMLP(config, config.mlp_width, name="mlp"))  # fmt: skip
        self.layer_scale2 = TFLayerScale(size, config.layerscale_value, name="layer_scale2")

    def input_sizes(self):
        width = self.layer_scale1.size  # hidden_size
        return {self.norm1: width, self.attention: None, self.layer_scale1: None, self.norm2: width, self.mlp: None,
                self.layer_scale2: None}

    def call(self, hidden, bias=None, head_mask=None, grid=None, interpolate_pos_encoding=False, training=False):
        attended, probs = self.attention(self.norm1(hidden), head_mask=head_mask, training=training)
        hidden = self.drop_path(self.layer_scale1(attended), training=training) + hidden
        mlp = self.layer_scale2(self.mlp(self.norm2(hidden)))
        return self.drop_path(mlp, training=training) + hidden, probs


class TFDinov2Encoder(TFViTEncoder):
    layer_class = TFDinov2Layer


class TFDinov2MainLayer(TFViTMainLayer):
    encoder_class = TFDinov2Encoder

    def __init__(self, config: Dinov2Config, **kwargs):
        super().__init__(config, add_pooling_layer=True, use_mask_token=config.use_mask_token, **kwargs)

    ignores_mask_without_token = True

    def build_pooler(self, config):
        return TFFirstToken(name="pooler")


class TFDinov2PreTrainedModel(TFVisionPreTrainedModel):
    config_class = Dinov2Config
    base_model_prefix = "dinov2"
    main_layer_class = TFDinov2MainLayer


class TFDinov2Model(TFVisionBaseModel, TFDinov2PreTrainedModel):
    pass


class TFDinov2ForImageClassification(TFImageClassificationModel, TFDinov2PreTrainedModel):
    pass


class TFDinov2Backbone(TFDinov2PreTrainedModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.num_features = [config.hidden_size] * (config.num_hidden_layers + 1)
        self.embeddings = TFViTEmbeddings(config, config.use_mask_token, name="embeddings")
        self.encoder = TFDinov2Encoder(config, name="encoder")
        # only with apply_layernorm (a call would never build it otherwise)
        self.layernorm = keras_layers.LayerNormalization(epsilon=config.layer_norm_eps, name="layernorm") \
            if config.apply_layernorm else None  # fmt: skip

    def input_sizes(self):
        return {self.embeddings: None, self.encoder: None, self.layernorm: self.config.hidden_size}

    @property
    def channels(self) -> list[int]:
        return [self.num_features[i] for i in self.config.out_indices]

    def call(self, pixel_values=None, output_hidden_states=None, output_attentions=None, training=False,
             return_dict=True, **kwargs):  # fmt: skip
        c = self.config
        hidden, grid = self.embeddings(pixel_values, training=training)
        _, states, attentions = self.encoder(hidden, output_attentions=output_attentions, output_hidden_states=True,
                                             training=training)  # fmt: skip
        maps = []
        for stage, state in zip(c.stage_names, states):
            if stage in c.out_features:
                state = self.layernorm(state) if c.apply_layernorm else state
                maps.append(tokens_to_map(state[:, 1:], *grid) if c.reshape_hidden_states else state)
        result = out.BackboneOutput(feature_maps=tuple(maps), hidden_states=states if output_hidden_states else None,
                                    attentions=attentions)  # fmt: skip
        return out.finish(result, return_dict)
