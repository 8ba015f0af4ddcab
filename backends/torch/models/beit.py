"""BEiT in PyTorch: ViT blocks with relative position bias, layer scale and mean pooling; the masked
visual-token head, UperNet semantic segmentation and the backbone (with its optional feature pyramid)."""

from __future__ import annotations

from torch import nn

from autoload import outputs as out
from autoload.models.beit import BeitConfig

from ..blocks.segmentation import FCNHead, UperHead, feature_pyramid, segmentation_loss
from ..blocks.vision import ViTEmbeddings, ViTEncoder, tokens_to_map
from ..heads import ImageClassificationModel, TaskModel
from ..losses import token_loss
from .vit import ViTModel, ViTPreTrainedModel


class BeitPreTrainedModel(ViTPreTrainedModel):
    config_class = BeitConfig
    base_model_prefix = "beit"
    _keys_to_ignore_on_load_unexpected = [r"relative_position_index"]


class BeitPooler(nn.Module):
    """LayerNorm of the mean patch token (use_mean_pooling), else the class token as it is."""

    def __init__(self, config):
        super().__init__()
        self.layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps) if config.use_mean_pooling else None

    def forward(self, hidden):
        if self.layernorm is None:
            return hidden[:, 0]
        return self.layernorm(hidden[:, 1:].mean(1))


class BeitModel(BeitPreTrainedModel, ViTModel):
    output_class = out.BeitModelOutputWithPooling

    def __init__(self, config: BeitConfig, add_pooling_layer: bool = True):
        super().__init__(config, add_pooling_layer, use_mask_token=config.use_mask_token)

    def build_final_norm(self, config):
        return nn.Identity() if config.use_mean_pooling else nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def build_pooler(self, config):
        return BeitPooler(config)


class BeitForImageClassification(ImageClassificationModel, BeitPreTrainedModel):
    base_class = BeitModel


class BeitForMaskedImageModeling(TaskModel, BeitPreTrainedModel):
    """Predicts the visual token (of a VQ-VAE vocabulary) of every patch."""

    base_class = BeitModel

    def __init__(self, config: BeitConfig):
        super().__init__(config)
        self.layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size)

    def forward(self, pixel_values=None, bool_masked_pos=None, labels=None, return_dict=None, **kwargs):
        encoded = self.encode(pixel_values, bool_masked_pos=bool_masked_pos, **kwargs)
        logits = self.lm_head(self.layernorm(encoded.last_hidden_state)[:, 1:])
        loss = token_loss(logits[bool_masked_pos.bool()], labels) if labels is not None else None
        return self._finish(out.from_encoded(out.MaskedLMOutput, encoded, loss=loss, logits=logits), return_dict)


def _pyramid_levels(model, maps):
    return [model.fpn1(maps[0]), model.fpn2(maps[1]), model.fpn3(maps[2]), model.fpn4(maps[3])]


class BeitForSemanticSegmentation(TaskModel, BeitPreTrainedModel):
    base_class = BeitModel

    def __init__(self, config: BeitConfig):
        super().__init__(config)
        config.check_fpn(type(self).__name__)
        config.check_auxiliary_head()
        self.fpn1, self.fpn2, self.fpn3, self.fpn4 = feature_pyramid(config.hidden_size)
        self.decode_head = UperHead(config, config.hidden_size)
        self.auxiliary_head = FCNHead(config, config.hidden_size) if config.use_auxiliary_head else None

    def forward(self, pixel_values=None, labels=None, output_hidden_states=None, return_dict=None, **kwargs):
        if labels is not None and self.config.num_labels == 1:
            raise ValueError("The number of labels should be greater than one")
        keep = self._flag(output_hidden_states, "output_hidden_states")
        encoded = self.encode(pixel_values, output_hidden_states=True, **kwargs)
        # transformers takes hidden_states[i - 1] for each i in out_indices (the embeddings count as index 0).
        chosen = [h for i, h in enumerate(encoded.hidden_states) if i + 1 in self.config.out_indices]
        side = self.config.image_size // self.config.patch_size
        features = _pyramid_levels(self, [tokens_to_map(h[:, 1:], side, side) for h in chosen])
        logits = self.decode_head(features)
        auxiliary = self.auxiliary_head(features) if self.auxiliary_head is not None else None
        loss = segmentation_loss(logits, auxiliary, labels, self.config) if labels is not None else None
        result = out.SemanticSegmenterOutput(loss=loss, logits=logits, hidden_states=encoded.hidden_states if keep else None,
                                             attentions=encoded.attentions)  # fmt: skip
        return self._finish(result, return_dict)


class BeitBackbone(BeitPreTrainedModel):
    """Channels-first maps of the layers named by out_features (through the four-level pyramid with
    add_fpn)."""

    def __init__(self, config: BeitConfig):
        super().__init__(config)
        self.num_features = [config.hidden_size] * (config.num_hidden_layers + 1)
        self.embeddings = ViTEmbeddings(config, config.use_mask_token)
        patches = self.embeddings.patch_embeddings
        window = (patches.image_size[0] // patches.patch_size[0], patches.image_size[1] // patches.patch_size[1])
        self.encoder = ViTEncoder(config, window)
        if config.add_fpn:
            config.check_fpn(type(self).__name__)
            self.fpn1, self.fpn2, self.fpn3, self.fpn4 = feature_pyramid(config.hidden_size, config.fpn_batch_norm_eps)

    @property
    def channels(self) -> list[int]:
        return [self.num_features[i] for i in self.config.out_indices]

    def get_input_embeddings(self):
        return self.embeddings.patch_embeddings

    def forward(self, pixel_values=None, output_hidden_states=None, output_attentions=None, return_dict=None,
                **kwargs):  # fmt: skip
        output_attentions = self._flag(output_attentions, "output_attentions")
        hidden, grid = self.embeddings(pixel_values)
        _, states, attentions = self.encoder(hidden, None, output_attentions, True, grid)
        maps = []
        for stage, state in zip(self.config.stage_names, states):
            if stage in self.config.out_features:
                maps.append(tokens_to_map(state[:, 1:], *grid) if self.config.reshape_hidden_states else state)
        if self.config.add_fpn:
            maps = _pyramid_levels(self, maps)
        keep = self._flag(output_hidden_states, "output_hidden_states")
        result = out.BackboneOutput(feature_maps=tuple(maps), hidden_states=states if keep else None,
                                    attentions=attentions)  # fmt: skip
        return self._finish(result, return_dict)
