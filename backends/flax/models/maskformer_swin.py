"""MaskFormer's Swin in Flax (FlaxMaskFormerSwinModel, FlaxMaskFormerSwinBackbone; transformers never had them,
names mirror the PyTorch classes): Swin's layers (models/swin.py) always partitioned into full windows, every
block's input and output as hidden states, and a LayerNorm on each stage's feature map (before its patch merging)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from autoload import outputs as out
from autoload.models.maskformer_swin import MaskFormerSwinConfig

from ..blocks.norms import LayerNorm
from ..blocks.vision import FlaxVisionPreTrainedModel
from .swin import FlaxSwinEmbeddings, FlaxSwinLayer, FlaxSwinPatchMerging


class FlaxMaskFormerSwinBlocks(nn.Module):
    config: MaskFormerSwinConfig
    index: int

    @nn.compact
    def __call__(self, hidden, grid, deterministic=True):
        """(output, the input and output of each block)."""
        c, i = self.config, self.index
        dim, start = int(c.embed_dim * 2**i), sum(c.depths[:i])
        rates = np.linspace(0, c.drop_path_rate, sum(c.depths)).tolist()
        states = ()
        for j in range(c.depths[i]):
            shift = 0 if j % 2 == 0 else c.window_size // 2
            states += (hidden,)
            hidden, _ = FlaxSwinLayer(c, dim, c.num_heads[i], shift, rates[start + j], name=str(j))(
                hidden, grid, True, deterministic)
            states += (hidden,)
        return hidden, states


class FlaxMaskFormerSwinStages(nn.Module):
    """The stages `0`, `1`, … (blocks and patch merging) under `encoder/layers`."""

    config: MaskFormerSwinConfig

    @nn.compact
    def __call__(self, hidden, grid, deterministic=True):
        c = self.config
        states, grids = (hidden,), ()
        for i in range(len(c.depths)):
            hidden, block_states, grid = FlaxMaskFormerSwinStage(c, i, name=str(i))(hidden, grid, deterministic)
            states += (block_states,)
            grids += (grid,)
        return hidden, states, grids


class FlaxMaskFormerSwinStage(nn.Module):
    config: MaskFormerSwinConfig
    index: int

    @nn.compact
    def __call__(self, hidden, grid, deterministic=True):
        c, i = self.config, self.index
        hidden, states = FlaxMaskFormerSwinBlocks(c, i, name="blocks")(hidden, grid, deterministic)
        if i == len(c.depths) - 1:
            return hidden, states, grid
        merged = FlaxSwinPatchMerging(int(c.embed_dim * 2**i), name="downsample")(hidden, grid)
        return merged, states, ((grid[0] + 1) // 2, (grid[1] + 1) // 2)


class FlaxMaskFormerSwinEncoder(nn.Module):
    config: MaskFormerSwinConfig

    @nn.compact
    def __call__(self, hidden, grid, deterministic=True):
        return FlaxMaskFormerSwinStages(self.config, name="layers")(hidden, grid, deterministic)


class FlaxMaskFormerSwinModule(nn.Module):
    config: MaskFormerSwinConfig
    dtype: jnp.dtype = jnp.float32
    add_pooling_layer: bool = True

    @nn.compact
    def __call__(self, pixel_values, deterministic=True, output_attentions=False, output_hidden_states=False,
                 return_dict=True, **kwargs):  # fmt: skip
        if output_attentions and not output_hidden_states:
            raise ValueError("MaskFormerSwinModel: output_attentions=True needs output_hidden_states=True (its "
                             "attentions are taken from the hidden states, as in transformers 4.57.6).")  # fmt: skip
        c = self.config
        embeds, grid = FlaxSwinEmbeddings(c, name="embeddings")(pixel_values, deterministic=deterministic)
        hidden, states, grids = FlaxMaskFormerSwinEncoder(c, name="encoder")(embeds, grid, deterministic)
        hidden = LayerNorm(epsilon=c.layer_norm_eps, name="layernorm")(hidden)
        result = out.MaskFormerSwinModelOutputWithPooling(
            last_hidden_state=hidden, pooler_output=hidden.mean(axis=1) if self.add_pooling_layer else None,
            hidden_states=states if output_hidden_states else None,
            hidden_states_spatial_dimensions=(tuple(grid),) + grids,
            attentions=tuple(s[1] for s in states[1:]) if output_attentions else None,
        )  # fmt: skip
        return out.finish(result, return_dict)


class FlaxMaskFormerSwinStageNorms(nn.Module):
    """One LayerNorm per stage (`0`, `1`, …), every one applied."""

    widths: tuple

    @nn.compact
    def __call__(self, tokens):
        return [LayerNorm(epsilon=1e-5, name=str(i))(x) for i, x in enumerate(tokens)]


class FlaxMaskFormerSwinBackboneModule(nn.Module):
    config: MaskFormerSwinConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, pixel_values, deterministic=True, output_attentions=False, output_hidden_states=False,
                 return_dict=True, **kwargs):  # fmt: skip
        c = self.config
        encoded = FlaxMaskFormerSwinModule(c, self.dtype, name="model")(
            pixel_values, deterministic, output_attentions=output_attentions, output_hidden_states=True)
        states, grids = encoded.hidden_states, encoded.hidden_states_spatial_dimensions
        widths = tuple(int(c.embed_dim * 2**i) for i in range(len(c.depths)))
        normed = FlaxMaskFormerSwinStageNorms(widths, name="hidden_states_norms")([s[-1] for s in states[1:]])
        features = ()
        for i, stage in enumerate(c.stage_names[1:]):
            if stage in c.out_features:
                height, width = grids[i]
                features += (normed[i].reshape(-1, height, width, normed[i].shape[-1]).transpose(0, 3, 1, 2),)
        result = out.BackboneOutput(feature_maps=features, hidden_states=states if output_hidden_states else None,
                                    attentions=encoded.attentions)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxMaskFormerSwinPreTrainedModel(FlaxVisionPreTrainedModel):
    config_class = MaskFormerSwinConfig
    base_model_prefix = "model"
    base_module = FlaxMaskFormerSwinModule


class FlaxMaskFormerSwinModel(FlaxMaskFormerSwinPreTrainedModel):
    module_class = FlaxMaskFormerSwinModule


class FlaxMaskFormerSwinBackbone(FlaxMaskFormerSwinPreTrainedModel):
    module_class = FlaxMaskFormerSwinBackboneModule
