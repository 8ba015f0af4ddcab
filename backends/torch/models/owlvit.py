"""OWL-ViT in PyTorch: CLIP's text and image towers, and per-patch box and class heads for open-vocabulary
detection queried by text or by an example image."""

from __future__ import annotations

import torch
from torch import nn

from autoload import outputs as out
from autoload.models.owlvit import OwlViTConfig
from autoload.owlvit import box_bias, query_box_indices

from ..modeling import PreTrainedModel
from .clip import CLIPTextTransformer, CLIPVisionEmbeddings, CLIPVisionTransformer, contrastive_loss


class OwlViTTextTransformer(CLIPTextTransformer):
    """CLIP's text tower; the config's pools_largest_id makes it pool every query at its end token."""


class OwlViTVisionTransformer(CLIPVisionTransformer):
    pre_norm_name = "pre_layernorm"


class OwlViTPreTrainedModel(PreTrainedModel):
    config_class = OwlViTConfig
    base_model_prefix = "owlvit"
    main_input_name = "pixel_values"

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, CLIPVisionEmbeddings):
            nn.init.normal_(module.class_embedding, std=module.config.hidden_size**-0.5)
            nn.init.normal_(module.patch_embedding.weight, std=module.config.initializer_range)
        elif isinstance(module, OwlViTModel):
            nn.init.constant_(module.logit_scale, self.config.logit_scale_init_value)


def _normalise(x: torch.Tensor) -> torch.Tensor:
    return x / torch.linalg.norm(x, ord=2, dim=-1, keepdim=True)


class OwlViTModel(OwlViTPreTrainedModel):
    def __init__(self, config: OwlViTConfig):
        super().__init__(config)
        text, vision = config.text_config, config.vision_config
        self.text_model = OwlViTTextTransformer(text)
        self.vision_model = OwlViTVisionTransformer(vision)
        self.visual_projection = nn.Linear(vision.hidden_size, config.projection_dim, bias=False)
        self.text_projection = nn.Linear(text.hidden_size, config.projection_dim, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(config.logit_scale_init_value))

    def get_input_embeddings(self):
        return self.text_model.embeddings.token_embedding

    def get_text_features(self, input_ids=None, attention_mask=None, **kwargs):
        return self.text_projection(self.text_model(input_ids, attention_mask).pooler_output)

    def get_image_features(self, pixel_values=None, interpolate_pos_encoding=False, **kwargs):
        encoded = self.vision_model(pixel_values, interpolate_pos_encoding=interpolate_pos_encoding)
        return self.visual_projection(encoded.pooler_output)

    def forward(self, input_ids=None, pixel_values=None, attention_mask=None, return_loss=None,
                output_attentions=None, output_hidden_states=None, interpolate_pos_encoding=False,
                return_base_image_embeds=None, return_dict=None, **kwargs):  # fmt: skip
        if input_ids is None or pixel_values is None:
            raise ValueError("OwlViTModel needs both input_ids and pixel_values (or use get_text_features / "
                             "get_image_features).")  # fmt: skip
        flags = {"output_attentions": self._flag(output_attentions, "output_attentions"),
                 "output_hidden_states": self._flag(output_hidden_states, "output_hidden_states")}  # fmt: skip
        vision = self.vision_model(pixel_values, interpolate_pos_encoding=interpolate_pos_encoding, **flags)
        text = self.text_model(input_ids.reshape(-1, input_ids.shape[-1]), attention_mask, **flags)
        image_embeds = _normalise(self.visual_projection(vision.pooler_output))
        text_embeds = _normalise(self.text_projection(text.pooler_output))
        logits_per_text = text_embeds @ image_embeds.t() * self.logit_scale.exp()
        # OWL-ViT's contrastive loss is CLIP's (cross-entropy both ways over the batch).
        loss = contrastive_loss(logits_per_text) if return_loss else None
        result = out.OwlViTOutput(
            loss=loss, logits_per_image=logits_per_text.t(), logits_per_text=logits_per_text,
            text_embeds=text_embeds, image_embeds=image_embeds, text_model_output=text, vision_model_output=vision,
        )  # fmt: skip
        return self._finish(result, return_dict)


class OwlViTBoxPredictionHead(nn.Module):
    def __init__(self, config: OwlViTConfig, out_dim: int = 4):
        super().__init__()
        width = config.vision_config.hidden_size
        self.dense0 = nn.Linear(width, width)
        self.dense1 = nn.Linear(width, width)
        self.dense2 = nn.Linear(width, out_dim)

    def forward(self, features):
        gelu = nn.functional.gelu
        return self.dense2(gelu(self.dense1(gelu(self.dense0(features)))))


class OwlViTClassPredictionHead(nn.Module):
    def __init__(self, config: OwlViTConfig):
        super().__init__()
        self.query_dim = config.vision_config.hidden_size
        self.dense0 = nn.Linear(self.query_dim, config.text_config.hidden_size)
        self.logit_shift = nn.Linear(self.query_dim, 1)
        self.logit_scale = nn.Linear(self.query_dim, 1)

    def forward(self, image_embeds, query_embeds=None, query_mask=None):
        """(logits [batch, patches, queries], the patches' class embeddings: normalised when queries are given)."""
        class_embeds = self.dense0(image_embeds)
        if query_embeds is None:
            batch, patches = class_embeds.shape[:2]
            return class_embeds.new_zeros((batch, patches, self.query_dim)), class_embeds
        class_embeds = class_embeds / (torch.linalg.norm(class_embeds, dim=-1, keepdim=True) + 1e-6)
        query_unit = query_embeds / (torch.linalg.norm(query_embeds, dim=-1, keepdim=True) + 1e-6)
        logits = class_embeds @ query_unit.transpose(-1, -2)
        scale = nn.functional.elu(self.logit_scale(image_embeds)) + 1
        logits = (logits + self.logit_shift(image_embeds)) * scale
        if query_mask is not None:
            if query_mask.ndim > 1:
                query_mask = query_mask.unsqueeze(-2)
            logits = torch.where(query_mask == 0, torch.finfo(logits.dtype).min, logits).to(torch.float32)
        return logits, class_embeds


class OwlViTForObjectDetection(OwlViTPreTrainedModel):
    def __init__(self, config: OwlViTConfig):
        super().__init__(config)
        config.check_detection_sizes()
        vision = config.vision_config
        self.owlvit = OwlViTModel(config)
        self.class_head = OwlViTClassPredictionHead(config)
        self.box_head = OwlViTBoxPredictionHead(config)
        self.layer_norm = nn.LayerNorm(vision.hidden_size, eps=vision.layer_norm_eps)
        self.num_patches_height = self.num_patches_width = vision.patch_grid

    def _feature_map(self, vision: out.BaseModelOutputWithPooling, pixel_values) -> torch.Tensor:
        """Each patch token times the class token (both after the final norm), normalised: [batch, rows, cols, d]."""
        hidden = self.owlvit.vision_model.post_layernorm(vision.last_hidden_state)
        features = self.layer_norm(hidden[:, 1:] * hidden[:, :1])
        patch = self.config.vision_config.patch_size
        rows, cols = pixel_values.shape[-2] // patch, pixel_values.shape[-1] // patch
        return features.reshape(features.shape[0], rows, cols, features.shape[-1])

    def box_predictor(self, image_feats, feature_map, interpolate_pos_encoding=False):
        rows, cols = feature_map.shape[1:3]
        bias = torch.from_numpy(box_bias(rows, cols)).to(device=image_feats.device, dtype=image_feats.dtype)
        return torch.sigmoid(self.box_head(image_feats) + bias)

    def class_predictor(self, image_feats, query_embeds=None, query_mask=None):
        return self.class_head(image_feats, query_embeds, query_mask)

    def image_embedder(self, pixel_values, output_attentions=None, output_hidden_states=None,
                       interpolate_pos_encoding=False):  # fmt: skip
        # transformers' image_embedder takes the output flags but leaves them to the vision config
        vision = self.owlvit.vision_model(pixel_values, interpolate_pos_encoding=interpolate_pos_encoding)
        return self._feature_map(vision, pixel_values), vision

    def embed_image_query(self, query_image_features, query_feature_map, interpolate_pos_encoding=False):
        """(the chosen box's class embedding per query image [n, 1, d] or None, the chosen box indices [n, 1],
        the query images' boxes)."""
        _, class_embeds = self.class_predictor(query_image_features)
        pred_boxes = self.box_predictor(query_image_features, query_feature_map, interpolate_pos_encoding)
        chosen = query_box_indices(pred_boxes.detach().float().cpu().numpy(),
                                   class_embeds.detach().float().cpu().numpy())  # fmt: skip
        if not chosen:
            return None, None, pred_boxes
        indices = torch.tensor(chosen, device=class_embeds.device)[:, None]
        rows = torch.arange(len(chosen), device=class_embeds.device)[:, None]
        return class_embeds[rows, indices], indices, pred_boxes

    def image_guided_detection(self, pixel_values, query_pixel_values=None, output_attentions=None,
                               output_hidden_states=None, interpolate_pos_encoding=False, return_dict=None):  # fmt: skip
        if query_pixel_values is None:
            raise ValueError("image_guided_detection needs query_pixel_values: one query image per target image.")
        query_map = self.image_embedder(query_pixel_values, interpolate_pos_encoding=interpolate_pos_encoding)[0]
        feature_map, vision = self.image_embedder(pixel_values, interpolate_pos_encoding=interpolate_pos_encoding)
        image_feats = feature_map.flatten(1, 2)
        query_feats = query_map.flatten(1, 2)
        query_embeds, _, query_boxes = self.embed_image_query(query_feats, query_map, interpolate_pos_encoding)
        logits, class_embeds = self.class_predictor(image_feats, query_embeds)
        target_boxes = self.box_predictor(image_feats, feature_map, interpolate_pos_encoding)
        result = out.OwlViTImageGuidedObjectDetectionOutput(
            logits=logits, image_embeds=feature_map, query_image_embeds=query_map, target_pred_boxes=target_boxes,
            query_pred_boxes=query_boxes, class_embeds=class_embeds, vision_model_output=vision,
        )  # fmt: skip
        return self._finish(result, return_dict)

    def forward(self, input_ids=None, pixel_values=None, attention_mask=None, output_attentions=None,
                output_hidden_states=None, interpolate_pos_encoding=False, return_dict=None, **kwargs):  # fmt: skip
        if input_ids is None or pixel_values is None:
            raise ValueError("OwlViTForObjectDetection needs input_ids (the text queries, [batch * queries, length]) "
                             "and pixel_values; for queries by example image use image_guided_detection.")  # fmt: skip
        encoded = self.owlvit(input_ids=input_ids, pixel_values=pixel_values, attention_mask=attention_mask,
                              output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                              interpolate_pos_encoding=interpolate_pos_encoding, return_dict=True)  # fmt: skip
        feature_map = self._feature_map(encoded.vision_model_output, pixel_values)
        image_feats = feature_map.flatten(1, 2)
        batch = feature_map.shape[0]
        if input_ids.shape[0] % batch:
            raise ValueError(f"input_ids has {input_ids.shape[0]} rows for {batch} images: give every image the same "
                             "number of text queries (pad with empty queries).")  # fmt: skip
        queries = input_ids.shape[0] // batch
        query_embeds = encoded.text_embeds.reshape(batch, queries, -1)
        query_mask = input_ids.reshape(batch, queries, -1)[..., 0] > 0  # a query starting with id 0 is padding
        logits, class_embeds = self.class_predictor(image_feats, query_embeds, query_mask)
        pred_boxes = self.box_predictor(image_feats, feature_map, interpolate_pos_encoding)
        result = out.OwlViTObjectDetectionOutput(
            logits=logits, pred_boxes=pred_boxes, text_embeds=query_embeds, image_embeds=feature_map,
            class_embeds=class_embeds, text_model_output=encoded.text_model_output,
            vision_model_output=encoded.vision_model_output,
        )  # fmt: skip
        return self._finish(result, return_dict)
