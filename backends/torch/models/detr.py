"""DETR in PyTorch: DetrModel, DetrForObjectDetection and DetrForSegmentation (the panoptic mask head),
on our own ResNet backbone with frozen BatchNorm (see blocks/detection.py and autoload/detr.py)."""

from __future__ import annotations

import torch
from torch import nn

from autoload import outputs as out
from autoload.models.detr import DetrConfig

from ..blocks.detection import (
    DetrDecoder,
    DetrEncoder,
    DetrFrozenBatchNorm2d,
    DetrLearnedPositionEmbedding,
    DetrMLPPredictionHead,
    build_backbone,
    flatten_map,
    freeze_batch_norms,
    position_embedding,
    resize_nearest,
)
from ..blocks.matching_losses import detr_loss
from ..blocks.vision import check_pixel_values
from ..modeling import PreTrainedModel


class DetrConvEncoder(nn.Module):
    """The backbone (`model`) with frozen BatchNorm; returns each feature map with the pixel mask resized to it."""

    def __init__(self, config: DetrConfig):
        super().__init__()
        self.model = build_backbone(config.own_backbone_config)
        freeze_batch_norms(self.model)
        for name, parameter in self.model.named_parameters():
            parameter.requires_grad_(config.backbone_parameter_trainable(name))

    def forward(self, pixel_values, pixel_mask):
        features = self.model(pixel_values, return_dict=True).feature_maps
        return [(f, resize_nearest(pixel_mask.float(), f.shape[-2:]).to(torch.bool)) for f in features]


class DetrConvModel(nn.Module):
    """The backbone (`conv_encoder`) plus the position embedding of every feature map."""

    def __init__(self, config: DetrConfig):
        super().__init__()
        self.conv_encoder = DetrConvEncoder(config)
        self.position_embedding = position_embedding(config)

    def forward(self, pixel_values, pixel_mask):
        features = self.conv_encoder(pixel_values, pixel_mask)
        return features, [self.position_embedding(f, mask).to(f.dtype) for f, mask in features]


class DetrPreTrainedModel(PreTrainedModel):
    config_class = DetrConfig
    base_model_prefix = "model"
    main_input_name = "pixel_values"

    def __init__(self, config: DetrConfig, *args, **kwargs):
        config.check_supported()
        super().__init__(config, *args, **kwargs)

    def _init_weights(self, module):
        std, gain = self.config.init_std, self.config.init_xavier_std
        if isinstance(module, DetrMHAttentionMap):
            nn.init.zeros_(module.k_linear.bias)
            nn.init.zeros_(module.q_linear.bias)
            nn.init.xavier_uniform_(module.k_linear.weight, gain=gain)
            nn.init.xavier_uniform_(module.q_linear.weight, gain=gain)
        elif isinstance(module, (nn.Linear, nn.Conv2d, nn.BatchNorm2d)):
            nn.init.normal_(module.weight, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, DetrLearnedPositionEmbedding):  # after its tables (apply visits children first)
            nn.init.uniform_(module.row_embeddings.weight)
            nn.init.uniform_(module.column_embeddings.weight)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=std)
        else:
            super()._init_weights(module)

    def _initialise_missing(self, dtype) -> None:
        # Frozen BatchNorms keep their affine weights as buffers: a missing one is 1, not the buffers' 0.
        missing = [m for m in self.modules() if isinstance(m, DetrFrozenBatchNorm2d) and m.weight.is_meta]
        super()._initialise_missing(dtype)
        for module in missing:
            module.weight.fill_(1.0)


class DetrModel(DetrPreTrainedModel):
    def __init__(self, config: DetrConfig):
        super().__init__(config)
        self.backbone = DetrConvModel(config)
        self.input_projection = nn.Conv2d(config.backbone_channels[-1], config.d_model, kernel_size=1)
        self.query_position_embeddings = nn.Embedding(config.num_queries, config.d_model)
        self.encoder = DetrEncoder(config)
        self.decoder = DetrDecoder(config)

    def get_encoder(self):
        return self.encoder

    def freeze_backbone(self):
        for parameter in self.backbone.conv_encoder.model.parameters():
            parameter.requires_grad_(False)

    def unfreeze_backbone(self):
        for parameter in self.backbone.conv_encoder.model.parameters():
            parameter.requires_grad_(True)

    def run(self, pixel_values, pixel_mask=None, encoder_outputs=None, output_attentions=False,
            output_hidden_states=False):  # fmt: skip
        """Backbone, encoder and decoder: (decoder output, encoder output, feature maps with their masks,
        projected last feature map)."""
        check_pixel_values(pixel_values, self.config.num_channels)
        batch, _, height, width = pixel_values.shape
        if pixel_mask is None:
            pixel_mask = torch.ones((batch, height, width), device=pixel_values.device)
        features, positions = self.backbone(pixel_values, pixel_mask)
        feature_map, mask = features[-1]
        projected = self.input_projection(feature_map)
        tokens, spatial_positions, keep = flatten_map(projected), flatten_map(positions[-1]), mask.flatten(1)
        if encoder_outputs is None:
            encoder_outputs = self.encoder(tokens, keep, spatial_positions, output_attentions, output_hidden_states)
        elif not isinstance(encoder_outputs, out.ModelOutput):
            encoder_outputs = out.BaseModelOutput(*encoder_outputs)
        query_positions = self.query_position_embeddings.weight[None].repeat(batch, 1, 1)
        decoded = self.decoder(torch.zeros_like(query_positions), query_positions, encoder_outputs[0],
                               spatial_positions, keep, output_attentions, output_hidden_states)  # fmt: skip
        return decoded, encoder_outputs, features, projected

    def forward(self, pixel_values=None, pixel_mask=None, decoder_attention_mask=None, encoder_outputs=None,
                inputs_embeds=None, decoder_inputs_embeds=None, output_attentions=None, output_hidden_states=None,
                return_dict=None, **kwargs):  # fmt: skip
        """decoder_attention_mask, inputs_embeds and decoder_inputs_embeds are accepted and unused, as in
        transformers 4.57.6."""
        decoded, encoded, _, _ = self.run(pixel_values, pixel_mask, encoder_outputs,
                                          self._flag(output_attentions, "output_attentions"),
                                          self._flag(output_hidden_states, "output_hidden_states"))  # fmt: skip
        result = out.DetrModelOutput(
            last_hidden_state=decoded.last_hidden_state, decoder_hidden_states=decoded.decoder_hidden_states,
            decoder_attentions=decoded.decoder_attentions, cross_attentions=decoded.cross_attentions,
            encoder_last_hidden_state=encoded.last_hidden_state, encoder_hidden_states=encoded.hidden_states,
            encoder_attentions=encoded.attentions, intermediate_hidden_states=decoded.intermediate_hidden_states,
        )  # fmt: skip
        return self._finish(result, return_dict)


def seq2seq_fields(decoded, encoded) -> dict:
    return {"last_hidden_state": decoded.last_hidden_state, "decoder_hidden_states": decoded.decoder_hidden_states,
            "decoder_attentions": decoded.decoder_attentions, "cross_attentions": decoded.cross_attentions,
            "encoder_last_hidden_state": encoded.last_hidden_state, "encoder_hidden_states": encoded.hidden_states,
            "encoder_attentions": encoded.attentions}  # fmt: skip


class DetrForObjectDetection(DetrPreTrainedModel):
    def __init__(self, config: DetrConfig):
        super().__init__(config)
        self.model = DetrModel(config)
        self.class_labels_classifier = nn.Linear(config.d_model, config.num_labels + 1)  # + "no object"
        self.bbox_predictor = DetrMLPPredictionHead(config.d_model, config.d_model, 4, num_layers=3)

    def predict(self, hidden):
        return self.class_labels_classifier(hidden), self.bbox_predictor(hidden).sigmoid()

    def forward(self, pixel_values=None, pixel_mask=None, decoder_attention_mask=None, encoder_outputs=None,
                inputs_embeds=None, decoder_inputs_embeds=None, labels=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, **kwargs):  # fmt: skip
        decoded, encoded, _, _ = self.model.run(pixel_values, pixel_mask, encoder_outputs,
                                                self._flag(output_attentions, "output_attentions"),
                                                self._flag(output_hidden_states, "output_hidden_states"))  # fmt: skip
        logits, pred_boxes = self.predict(decoded.last_hidden_state)
        loss = loss_dict = auxiliary_outputs = None
        if labels is not None:
            loss, loss_dict, auxiliary_outputs = detr_loss(self, decoded, logits, pred_boxes, None, labels)
        result = out.DetrObjectDetectionOutput(loss=loss, loss_dict=loss_dict, logits=logits, pred_boxes=pred_boxes,
                                               auxiliary_outputs=auxiliary_outputs, **seq2seq_fields(decoded, encoded))
        return self._finish(result, return_dict)


class DetrMHAttentionMap(nn.Module):
    """Attention weights of the decoder's queries over the encoder's feature map, softmaxed over heads and
    positions together (no values)."""

    def __init__(self, query_dim: int, hidden_dim: int, num_heads: int):
        super().__init__()
        self.num_heads, self.hidden_dim = num_heads, hidden_dim
        self.q_linear = nn.Linear(query_dim, hidden_dim)
        self.k_linear = nn.Linear(query_dim, hidden_dim)
        self.normalize_fact = float(hidden_dim / num_heads) ** -0.5

    def forward(self, q, k, mask=None):
        head_dim = self.hidden_dim // self.num_heads
        q = self.q_linear(q)
        k = nn.functional.conv2d(k, self.k_linear.weight[:, :, None, None], self.k_linear.bias)
        queries = q.view(q.shape[0], q.shape[1], self.num_heads, head_dim)
        keys = k.view(k.shape[0], self.num_heads, head_dim, k.shape[-2], k.shape[-1])
        weights = torch.einsum("bqnc,bnchw->bqnhw", queries * self.normalize_fact, keys)
        if mask is not None:
            weights = weights.masked_fill(mask[:, None, None], torch.finfo(weights.dtype).min)
        return weights.flatten(2).softmax(-1).view(weights.shape)


def _repeat_per_query(x: torch.Tensor, queries: int) -> torch.Tensor:
    """[batch, ...] -> [batch * queries, ...], each image repeated for its queries."""
    return x.repeat_interleave(queries, dim=0)


class DetrMaskHeadSmallConv(nn.Module):
    """Convolutions with GroupNorm upsampling the attention maps, FPN-style, with the backbone's features."""

    def __init__(self, config: DetrConfig):
        super().__init__()
        sizes = config.mask_head
        widths = list(sizes.dims)
        self.lay1 = nn.Conv2d(widths[0], widths[0], 3, padding=1)
        self.gn1 = nn.GroupNorm(sizes.groups[0], widths[0])
        self.lay2 = nn.Conv2d(widths[0], widths[1], 3, padding=1)
        self.gn2 = nn.GroupNorm(sizes.groups[1], widths[1])
        self.lay3 = nn.Conv2d(widths[1], widths[2], 3, padding=1)
        self.gn3 = nn.GroupNorm(sizes.groups[2], widths[2])
        self.lay4 = nn.Conv2d(widths[2], widths[3], 3, padding=1)
        self.gn4 = nn.GroupNorm(sizes.groups[3], widths[3])
        self.lay5 = nn.Conv2d(widths[3], widths[4], 3, padding=1)
        self.gn5 = nn.GroupNorm(sizes.groups[4], widths[4])
        self.out_lay = nn.Conv2d(widths[4], 1, 3, padding=1)
        self.adapter1 = nn.Conv2d(sizes.fpn_dims[0], widths[1], 1)
        self.adapter2 = nn.Conv2d(sizes.fpn_dims[1], widths[2], 1)
        self.adapter3 = nn.Conv2d(sizes.fpn_dims[2], widths[3], 1)

    def forward(self, x, bbox_mask, fpns):
        queries = bbox_mask.shape[1]
        x = torch.cat([_repeat_per_query(x, queries), bbox_mask.flatten(0, 1)], 1)
        x = nn.functional.relu(self.gn1(self.lay1(x)))
        x = nn.functional.relu(self.gn2(self.lay2(x)))
        for adapter, conv, norm, fpn in ((self.adapter1, self.lay3, self.gn3, fpns[0]),
                                         (self.adapter2, self.lay4, self.gn4, fpns[1]),
                                         (self.adapter3, self.lay5, self.gn5, fpns[2])):  # fmt: skip
            lateral = _repeat_per_query(adapter(fpn), x.shape[0] // fpn.shape[0])
            x = lateral + resize_nearest(x, lateral.shape[-2:])
            x = nn.functional.relu(norm(conv(x)))
        return self.out_lay(x)


class DetrForSegmentation(DetrPreTrainedModel):
    def __init__(self, config: DetrConfig):
        super().__init__(config)
        self.detr = DetrForObjectDetection(config)
        self.mask_head = DetrMaskHeadSmallConv(config)
        self.bbox_attention = DetrMHAttentionMap(config.d_model, config.d_model, config.encoder_attention_heads)

    def forward(self, pixel_values=None, pixel_mask=None, decoder_attention_mask=None, encoder_outputs=None,
                inputs_embeds=None, decoder_inputs_embeds=None, labels=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, **kwargs):  # fmt: skip
        decoded, encoded, features, projected = self.detr.model.run(
            pixel_values, pixel_mask, encoder_outputs, self._flag(output_attentions, "output_attentions"),
            self._flag(output_hidden_states, "output_hidden_states"))  # fmt: skip
        hidden = decoded.last_hidden_state
        logits, pred_boxes = self.detr.predict(hidden)
        batch, _, height, width = projected.shape
        memory = encoded[0].permute(0, 2, 1).reshape(batch, self.config.d_model, height, width)
        padding = ~features[-1][1]
        bbox_mask = self.bbox_attention(hidden, memory, mask=padding)
        masks = self.mask_head(projected, bbox_mask, [features[2][0], features[1][0], features[0][0]])
        pred_masks = masks.view(batch, self.config.num_queries, masks.shape[-2], masks.shape[-1])
        loss = loss_dict = auxiliary_outputs = None
        if labels is not None:
            loss, loss_dict, auxiliary_outputs = detr_loss(self.detr, decoded, logits, pred_boxes, pred_masks, labels)
        result = out.DetrSegmentationOutput(
            loss=loss, loss_dict=loss_dict, logits=logits, pred_boxes=pred_boxes, pred_masks=pred_masks,
            auxiliary_outputs=auxiliary_outputs, **seq2seq_fields(decoded, encoded),
        )  # fmt: skip
        return self._finish(result, return_dict)
