"""MaskFormer in PyTorch: MaskFormerModel and MaskFormerForInstanceSegmentation on our own Swin (MaskFormer's
variant, models/maskformer_swin.py) or ResNet backbone; the feature-pyramid pixel decoder, DETR's transformer
decoder over learned queries (blocks/detection.py) and the class / mask-embedding heads."""

from __future__ import annotations

import torch
from torch import nn

from autoload import outputs as out
from autoload.models.maskformer import MaskFormerConfig

from ..blocks.detection import DetrDecoder, build_backbone, flatten_map, resize_nearest, sine_positions
from ..blocks.matching_losses import maskformer_loss
from ..blocks.vision import check_pixel_values
from ..modeling import PreTrainedModel

_FPN_GROUPS = 32


class MaskFormerFPNConvLayer(nn.Module):
    """conv (no bias) -> GroupNorm(32) -> ReLU, registered as `0` and `1` like the Sequential it was."""

    def __init__(self, in_features: int, out_features: int, kernel_size: int = 3, padding: int = 1):
        super().__init__()
        self.add_module("0", nn.Conv2d(in_features, out_features, kernel_size, padding=padding, bias=False))
        self.add_module("1", nn.GroupNorm(_FPN_GROUPS, out_features))

    def forward(self, x):
        return nn.functional.relu(self.get_submodule("1")(self.get_submodule("0")(x)))


class MaskFormerFPNLayer(nn.Module):
    def __init__(self, in_features: int, lateral_features: int):
        super().__init__()
        self.proj = nn.Sequential(nn.Conv2d(lateral_features, in_features, 1, bias=False),
                                  nn.GroupNorm(_FPN_GROUPS, in_features))  # fmt: skip
        self.block = MaskFormerFPNConvLayer(in_features, in_features)

    def forward(self, down, left):
        left = self.proj(left)
        return self.block(resize_nearest(down, left.shape[-2:]) + left)


class MaskFormerFPNModel(nn.Module):
    def __init__(self, in_features: int, lateral_widths: list[int], feature_size: int):
        super().__init__()
        self.stem = MaskFormerFPNConvLayer(in_features, feature_size)
        self.layers = nn.Sequential(*[MaskFormerFPNLayer(feature_size, width) for width in lateral_widths[::-1]])

    def forward(self, features):
        output, maps = self.stem(features[-1]), []
        for layer, left in zip(self.layers, features[:-1][::-1]):
            output = layer(output, left)
            maps.append(output)
        return maps


class MaskFormerPixelDecoder(nn.Module):
    def __init__(self, config: MaskFormerConfig, channels: list[int]):
        super().__init__()
        self.fpn = MaskFormerFPNModel(channels[-1], channels[:-1], config.fpn_feature_size)
        self.mask_projection = nn.Conv2d(config.fpn_feature_size, config.mask_feature_size, 3, padding=1)

    def forward(self, features):
        maps = self.fpn(features)
        return self.mask_projection(maps[-1]), tuple(maps)


class MaskFormerPixelLevelModule(nn.Module):
    """The backbone (`encoder`) and the pixel decoder (`decoder`)."""

    def __init__(self, config: MaskFormerConfig):
        super().__init__()
        self.encoder = build_backbone(config.pixel_backbone_config)
        self.decoder = MaskFormerPixelDecoder(config, config.backbone_channels)

    def forward(self, pixel_values):
        features = tuple(self.encoder(pixel_values, return_dict=True).feature_maps)
        pixel_embeddings, maps = self.decoder(features)
        return features, pixel_embeddings, maps


class MaskFormerTransformerModule(nn.Module):
    """Learned queries (`queries_embedder`) decoded against the backbone's last map (projected to the decoder's
    width by `input_projection` when the widths differ), with sine positions of the whole map."""

    def __init__(self, in_features: int, config: MaskFormerConfig):
        super().__init__()
        decoder_config = config.decoder_config
        hidden = decoder_config.d_model
        self.queries_embedder = nn.Embedding(decoder_config.num_queries, hidden)
        self.input_projection = nn.Conv2d(in_features, hidden, 1) if in_features != hidden else None
        self.decoder = DetrDecoder(decoder_config)
        self.hidden = hidden

    def forward(self, image_features, output_attentions=False, output_hidden_states=False):
        if self.input_projection is not None:
            image_features = self.input_projection(image_features)
        batch, _, height, width = image_features.shape
        full = torch.ones((batch, height, width), device=image_features.device)
        positions = flatten_map(sine_positions(full, self.hidden // 2).to(image_features.dtype))
        queries = self.queries_embedder.weight[None].repeat(batch, 1, 1)
        return self.decoder(torch.zeros_like(queries), queries, flatten_map(image_features), positions, None,
                            output_attentions, output_hidden_states)  # fmt: skip


class MaskFormerPreTrainedModel(PreTrainedModel):
    config_class = MaskFormerConfig
    base_model_prefix = "model"
    # transformers' loss keeps its class weights as a buffer of the model (the no-object weight): not a weight here
    _keys_to_ignore_on_load_unexpected = [r"criterion\.empty_weight"]
    main_input_name = "pixel_values"

    def __init__(self, config: MaskFormerConfig, *args, **kwargs):
        config.check_supported()
        super().__init__(config, *args, **kwargs)

    def _init_weights(self, module):
        std = self.config.init_std
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            nn.init.normal_(module.weight, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=std)
        else:
            super()._init_weights(module)


class MaskFormerModel(MaskFormerPreTrainedModel):
    def __init__(self, config: MaskFormerConfig):
        super().__init__(config)
        self.pixel_level_module = MaskFormerPixelLevelModule(config)
        self.transformer_module = MaskFormerTransformerModule(config.backbone_channels[-1], config)

    def run(self, pixel_values, output_attentions=False, output_hidden_states=False) -> out.MaskFormerModelOutput:
        check_pixel_values(pixel_values, self.config.pixel_backbone_config.num_channels)
        features, pixel_embeddings, maps = self.pixel_level_module(pixel_values)
        decoded = self.transformer_module(features[-1], output_attentions, output_hidden_states)
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

    def forward(self, pixel_values=None, pixel_mask=None, output_hidden_states=None, output_attentions=None,
                return_dict=None, **kwargs):  # fmt: skip
        """pixel_mask is accepted and unused, as in transformers 4.57.6."""
        if pixel_values is None:
            raise ValueError("You have to specify pixel_values")
        result = self.run(pixel_values, self._flag(output_attentions, "output_attentions"),
                          self._flag(output_hidden_states, "output_hidden_states"))  # fmt: skip
        return self._finish(result, return_dict)


class MaskformerMLPPredictionHead(nn.Module):
    """Linear layers `N.0` (PredictionBlock's Linear) with ReLU between them."""

    def __init__(self, input_dim: int, hidden_dim: int, output_dim: int, num_layers: int = 3):
        super().__init__()
        widths = [input_dim] + [hidden_dim] * (num_layers - 1) + [output_dim]
        for i in range(num_layers):
            self.add_module(str(i), nn.Sequential(nn.Linear(widths[i], widths[i + 1])))
        self.num_layers = num_layers

    def forward(self, x):
        for i in range(self.num_layers):
            x = self.get_submodule(str(i))(x)
            if i < self.num_layers - 1:
                x = nn.functional.relu(x)
        return x


class MaskFormerForInstanceSegmentation(MaskFormerPreTrainedModel):
    def __init__(self, config: MaskFormerConfig):
        super().__init__(config)
        self.model = MaskFormerModel(config)
        hidden = config.decoder_config.d_model
        self.class_predictor = nn.Linear(hidden, config.num_labels + 1)
        self.mask_embedder = MaskformerMLPPredictionHead(hidden, hidden, config.mask_feature_size)

    def logits(self, outputs):
        """(class logits, mask logits, auxiliary logits per earlier decoder layer or None)."""
        pixel_embeddings = outputs.pixel_decoder_last_hidden_state
        if self.config.use_auxiliary_loss:
            stacked = torch.stack(outputs.transformer_decoder_hidden_states)
            classes = self.class_predictor(stacked)
            masks = torch.einsum("lbqc,bchw->lbqhw", self.mask_embedder(stacked), pixel_embeddings)
            auxiliary = [{"masks_queries_logits": m, "class_queries_logits": c} for m, c in zip(masks[:-1], classes[:-1])]
            return classes[-1], masks[-1], auxiliary
        hidden = outputs.transformer_decoder_last_hidden_state
        masks = torch.einsum("bqc,bchw->bqhw", self.mask_embedder(hidden), pixel_embeddings)
        return self.class_predictor(hidden), masks, None

    def forward(self, pixel_values=None, mask_labels=None, class_labels=None, pixel_mask=None,
                output_auxiliary_logits=None, output_hidden_states=None, output_attentions=None, return_dict=None,
                **kwargs):  # fmt: skip
        keep = self._flag(output_hidden_states, "output_hidden_states")
        outputs = self.model.run(pixel_values, self._flag(output_attentions, "output_attentions"),
                                 keep or self.config.use_auxiliary_loss)  # fmt: skip
        class_logits, mask_logits, auxiliary = self.logits(outputs)
        loss = None
        if mask_labels is not None and class_labels is not None:
            loss = maskformer_loss(self.config, mask_logits, class_logits, auxiliary, mask_labels, class_labels)
        if not (self.config.output_auxiliary_logits if output_auxiliary_logits is None else output_auxiliary_logits):
            auxiliary = None
        fields = {f: getattr(outputs, f) for f in ("encoder_last_hidden_state", "pixel_decoder_last_hidden_state",
                                                   "transformer_decoder_last_hidden_state", "attentions")}  # fmt: skip
        if keep:
            fields.update({f: getattr(outputs, f) for f in ("encoder_hidden_states", "pixel_decoder_hidden_states",
                                                            "transformer_decoder_hidden_states", "hidden_states")})  # fmt: skip
        result = out.MaskFormerForInstanceSegmentationOutput(
            loss=loss, class_queries_logits=class_logits, masks_queries_logits=mask_logits, auxiliary_logits=auxiliary,
            **fields,
        )
        return self._finish(result, return_dict)
