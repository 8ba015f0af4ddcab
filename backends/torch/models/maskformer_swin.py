"""MaskFormer's Swin in PyTorch (MaskFormerSwinModel, MaskFormerSwinBackbone): Swin's layers (models/swin.py)
always partitioned into full windows, every block's input and output as hidden states, and a LayerNorm on
each stage's feature map (taken before the stage's patch merging)."""

from __future__ import annotations

from torch import nn

from autoload import outputs as out
from autoload.models.maskformer_swin import MaskFormerSwinConfig

from .swin import SwinEmbeddings, SwinEncoder, SwinPreTrainedModel


class MaskFormerSwinPreTrainedModel(SwinPreTrainedModel):
    config_class = MaskFormerSwinConfig
    base_model_prefix = "model"


def run_stages(encoder: SwinEncoder, hidden, grid, output_hidden_states: bool):
    """(last hidden, hidden states, spatial dimensions, per-stage extras) as MaskFormerSwinEncoder returns them:
    hidden states are the embeddings, then per stage the tuple (input, output) of each block; the spatial
    dimensions are each stage's output grid. The per-stage extra is what transformers returns as that stage's
    "attention": its first block's output (4.57.6 takes it from the hidden states)."""
    states, grids, firsts = (hidden,), (), ()
    for stage in encoder.layers:
        block_states = ()
        for block in stage.blocks:
            block_states += (hidden,)
            hidden, _ = block(hidden, grid, always_partition=True)
            block_states += (hidden,)
        firsts += (block_states[1],)
        states += (block_states,)
        if stage.downsample is not None:
            hidden = stage.downsample(hidden, grid)
            grid = ((grid[0] + 1) // 2, (grid[1] + 1) // 2)
        grids += (grid,)
    return hidden, states, grids, firsts


class MaskFormerSwinModel(MaskFormerSwinPreTrainedModel):
    def __init__(self, config: MaskFormerSwinConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.embeddings = SwinEmbeddings(config)
        self.encoder = SwinEncoder(config)
        self.layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.pooler = nn.AdaptiveAvgPool1d(1) if add_pooling_layer else None

    def get_input_embeddings(self):
        return self.embeddings.patch_embeddings

    def forward(self, pixel_values=None, output_attentions=None, output_hidden_states=None, return_dict=None,
                **kwargs):  # fmt: skip
        attentions = self._flag(output_attentions, "output_attentions")
        keep = self._flag(output_hidden_states, "output_hidden_states")
        if attentions and not keep:
            raise ValueError("MaskFormerSwinModel: output_attentions=True needs output_hidden_states=True (its "
                             "attentions are taken from the hidden states, as in transformers 4.57.6).")  # fmt: skip
        embeds, grid = self.embeddings(pixel_values)
        hidden, states, grids, firsts = run_stages(self.encoder, embeds, grid, keep)
        hidden = self.layernorm(hidden)
        pooled = self.pooler(hidden.transpose(1, 2)).flatten(1) if self.pooler is not None else None
        result = out.MaskFormerSwinModelOutputWithPooling(
            last_hidden_state=hidden, pooler_output=pooled, hidden_states=states if keep else None,
            hidden_states_spatial_dimensions=(grid,) + grids, attentions=firsts if attentions else None,
        )  # fmt: skip
        return self._finish(result, return_dict)


class MaskFormerSwinBackbone(MaskFormerSwinPreTrainedModel):
    """Feature maps (channels-first) of the stages named by out_features, each through its own LayerNorm."""

    def __init__(self, config: MaskFormerSwinConfig):
        super().__init__(config)
        self.model = MaskFormerSwinModel(config)
        self.num_features = [config.embed_dim] + [int(config.embed_dim * 2**i) for i in range(len(config.depths))]
        self.hidden_states_norms = nn.ModuleList(nn.LayerNorm(width) for width in self.num_features[1:])

    @property
    def channels(self) -> list[int]:
        return [self.num_features[i] for i in self.config.out_indices]

    def forward(self, pixel_values=None, output_hidden_states=None, output_attentions=None, return_dict=None,
                **kwargs):  # fmt: skip
        embeds, grid = self.model.embeddings(pixel_values)
        _, states, grids, firsts = run_stages(self.model.encoder, embeds, grid, True)
        inputs_grids = (grid,) + grids
        features = ()
        for i, stage in enumerate(self.config.stage_names[1:]):
            if stage not in self.config.out_features:
                continue
            height, width = inputs_grids[i]
            normed = self.hidden_states_norms[i](states[i + 1][-1])
            # contiguous like transformers' maps: a channels-last layout picks another convolution kernel, and the
            # pixel decoder's 32-group GroupNorms amplify its rounding beyond 1e-4
            features += (normed.permute(0, 2, 1).reshape(normed.shape[0], -1, height, width).contiguous(),)
        result = out.BackboneOutput(
            feature_maps=features,
            hidden_states=states if self._flag(output_hidden_states, "output_hidden_states") else None,
            attentions=firsts if self._flag(output_attentions, "output_attentions") else None,
        )
        return self._finish(result, return_dict)
