"""MaskFormer's Swin in TensorFlow (TFMaskFormerSwinModel, TFMaskFormerSwinBackbone; transformers never had them,
names mirror the PyTorch classes): Swin's layers (models/swin.py) always partitioned into full windows, every
block's input and output as hidden states, and a LayerNorm on each stage's feature map (before its patch merging)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload.models.maskformer_swin import MaskFormerSwinConfig

from .. import keras_layers
from ..blocks.vision import TFVisionPreTrainedModel
from ..modeling import Layer
from .swin import TFSwinEmbeddings, TFSwinStage


class TFMaskFormerSwinStage(TFSwinStage):
    def call(self, hidden, grid=None, training=False):
        """(output, the input and output of each block, the next grid)."""
        states = ()
        for block in self.blocks:
            states += (hidden,)
            hidden, _ = block(hidden, grid=grid, always_partition=True, training=training)
            states += (hidden,)
        if self.downsample is None:
            return hidden, states, grid
        return self.downsample(hidden, grid=grid), states, ((grid[0] + 1) // 2, (grid[1] + 1) // 2)


class TFMaskFormerSwinEncoder(Layer):
    def __init__(self, config: MaskFormerSwinConfig, **kwargs):
        super().__init__(**kwargs)
        rates = np.linspace(0, config.drop_path_rate, sum(config.depths)).tolist()
        self.stages, start = [], 0
        for i, depth in enumerate(config.depths):
            self.stages.append(TFMaskFormerSwinStage(config, int(config.embed_dim * 2**i), depth, config.num_heads[i],
                                                     rates[start : start + depth], downsample=i < len(config.depths) - 1,
                                                     name=f"layers.{i}"))  # fmt: skip
            start += depth

    def input_sizes(self):
        return dict.fromkeys(self.stages)

    def call(self, hidden, grid=None, training=False):
        """(last hidden, hidden states: the embeddings then per stage its blocks' inputs and outputs, each stage's
        output grid)."""
        states, grids = (hidden,), ()
        for stage in self.stages:
            hidden, block_states, grid = stage(hidden, grid=grid, training=training)
            states += (block_states,)
            grids += (grid,)
        return hidden, states, grids


class TFMaskFormerSwinMainLayer(Layer):
    def __init__(self, config: MaskFormerSwinConfig, add_pooling_layer: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.add_pooling_layer = add_pooling_layer
        self.embeddings = TFSwinEmbeddings(config, name="embeddings")
        self.encoder = TFMaskFormerSwinEncoder(config, name="encoder")
        self.layernorm = keras_layers.LayerNormalization(epsilon=config.layer_norm_eps, name="layernorm")
        self.output_width = int(config.embed_dim * 2 ** (len(config.depths) - 1))  # the last stage's width

    def input_sizes(self):
        return {self.embeddings: None, self.encoder: None, self.layernorm: self.output_width}

    def call(self, pixel_values, output_attentions=False, output_hidden_states=False, training=False):
        if pixel_values is None:
            raise ValueError("You have to specify pixel_values")
        if output_attentions and not output_hidden_states:
            raise ValueError("MaskFormerSwinModel: output_attentions=True needs output_hidden_states=True (its "
                             "attentions are taken from the hidden states, as in transformers 4.57.6).")  # fmt: skip
        embeds, grid = self.embeddings(pixel_values, training=training)
        hidden, states, grids = self.encoder(embeds, grid=grid, training=training)
        hidden = self.layernorm(hidden)
        return out.MaskFormerSwinModelOutputWithPooling(
            last_hidden_state=hidden,
            pooler_output=tf.reduce_mean(hidden, axis=1) if self.add_pooling_layer else None,
            hidden_states=states, hidden_states_spatial_dimensions=(grid,) + grids,
            attentions=tuple(s[1] for s in states[1:]) if output_attentions else None,
        )  # fmt: skip


class TFMaskFormerSwinPreTrainedModel(TFVisionPreTrainedModel):
    config_class = MaskFormerSwinConfig
    base_model_prefix = "model"


class TFMaskFormerSwinModel(TFMaskFormerSwinPreTrainedModel):
    is_base_model = True

    def __init__(self, config, *args, add_pooling_layer: bool = True, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.model = TFMaskFormerSwinMainLayer(config, add_pooling_layer, name="model")

    def input_sizes(self):
        return {self.model: None}

    def call(self, pixel_values=None, output_attentions=False, output_hidden_states=False, return_dict=True,
             training=False, **kwargs):  # fmt: skip
        result = self.model(pixel_values, output_attentions=output_attentions,
                            output_hidden_states=output_hidden_states, training=training)  # fmt: skip
        if not output_hidden_states:
            result.hidden_states = None
        return out.finish(result, return_dict)


class TFMaskFormerSwinBackbone(TFMaskFormerSwinPreTrainedModel):
    """Feature maps (channels-first) of the stages named by out_features, each through its own LayerNorm
    (`hidden_states_norms.<i>`, one per stage)."""

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.model = TFMaskFormerSwinMainLayer(config, name="model")
        self.num_features = [config.embed_dim] + [int(config.embed_dim * 2**i) for i in range(len(config.depths))]
        self.hidden_states_norms = [keras_layers.LayerNormalization(epsilon=1e-5, name=f"hidden_states_norms.{i}")
                                    for i in range(len(config.depths))]  # fmt: skip

    def input_sizes(self):  # stage i's norm reads its last block's output, num_features[i + 1] wide
        return {self.model: None, **{norm: self.num_features[i + 1] for i, norm in enumerate(self.hidden_states_norms)}}

    @property
    def channels(self) -> list[int]:
        return [self.num_features[i] for i in self.config.out_indices]

    def call(self, pixel_values=None, output_hidden_states=False, output_attentions=False, return_dict=True,
             training=False, **kwargs):  # fmt: skip
        encoded = self.model(pixel_values, output_attentions=output_attentions, output_hidden_states=True,
                             training=training)  # fmt: skip
        states, grids = encoded.hidden_states, encoded.hidden_states_spatial_dimensions
        features = ()
        for i, stage in enumerate(self.config.stage_names[1:]):
            height, width = grids[i]
            normed = self.hidden_states_norms[i](states[i + 1][-1])  # every norm runs, so every one is built
            if stage in self.config.out_features:
                features += (tf.transpose(tf.reshape(normed, (-1, height, width, normed.shape[-1])), (0, 3, 1, 2)),)
        result = out.BackboneOutput(feature_maps=features, hidden_states=states if output_hidden_states else None,
                                    attentions=encoded.attentions)  # fmt: skip
        return out.finish(result, return_dict)
