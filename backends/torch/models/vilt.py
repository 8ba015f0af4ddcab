"""ViLT in PyTorch: BERT's text embeddings, patch embeddings with resized position embeddings (the patches from
autoload.models.vilt.plan_patches), modality-type embeddings, the pre-norm ViT layers, and the visual question
answering head."""

from __future__ import annotations

import torch
from torch import nn

from autoload import outputs as out
from autoload.models.vilt import VQA_NORM_EPS, ViltConfig, plan_patches

from ..blocks.encoder import Embeddings, Pooler, additive_mask
from ..blocks.vision import ViTLayer, per_layer_head_mask
from ..heads import TaskModel
from ..modeling import PreTrainedModel


class ViltPatchEmbeddings(nn.Module):
    def __init__(self, config: ViltConfig):
        super().__init__()
        self.num_channels = config.num_channels
        self.projection = nn.Conv2d(config.num_channels, config.hidden_size, config.patch_size, stride=config.patch_size)

    def forward(self, pixel_values):
        if pixel_values.shape[1] != self.num_channels:
            raise ValueError("Make sure that the channel dimension of the pixel values match with the one set in the "
                             "configuration.")  # fmt: skip
        return self.projection(pixel_values.to(self.projection.weight.dtype))


def gather_tokens(values: torch.Tensor, select: torch.Tensor) -> torch.Tensor:
    """values [batch, n, width], select [batch, tokens] -> [batch, tokens, width]."""
    return values.gather(1, select[..., None].expand(-1, -1, values.shape[-1]))


class ViltEmbeddings(nn.Module):
    def __init__(self, config: ViltConfig):
        super().__init__()
        self.config = config
        self.text_embeddings = Embeddings(config.text_options())
        self.cls_token = nn.Parameter(torch.zeros(1, 1, config.hidden_size))
        self.patch_embeddings = ViltPatchEmbeddings(config)
        self.position_embeddings = nn.Parameter(torch.zeros(1, config.patches_per_side**2 + 1, config.hidden_size))
        self.token_type_embeddings = nn.Embedding(config.modality_type_vocab_size, config.hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def visual_embed(self, pixel_values, pixel_mask):
        patches = self.patch_embeddings(pixel_values)  # [batch, width, rows, cols]
        batch, width, rows, cols = patches.shape
        plan = plan_patches(pixel_mask.detach().cpu().numpy(), (rows, cols), self.config)
        device = patches.device
        side = self.config.patches_per_side
        table = self.position_embeddings[0, 1:].reshape(side, side, width)
        resized = torch.einsum("bip,pqc,bjq->bijc", torch.from_numpy(plan.row_resize).to(device, table.dtype), table,
                               torch.from_numpy(plan.col_resize).to(device, table.dtype))  # fmt: skip
        select = torch.from_numpy(plan.select).long().to(device)
        tokens = gather_tokens(patches.flatten(2).transpose(1, 2), select)
        positions = gather_tokens(resized.reshape(batch, rows * cols, width), select)
        tokens = torch.cat([self.cls_token.expand(batch, -1, -1), tokens], dim=1)
        positions = torch.cat([self.position_embeddings[:, :1].expand(batch, -1, -1), positions], dim=1)
        mask = torch.cat([torch.ones((batch, 1), dtype=torch.long), torch.from_numpy(plan.mask).long()], dim=1)
        return self.dropout(tokens + positions), mask.to(device)

    def forward(self, input_ids, attention_mask, token_type_ids, pixel_values, pixel_mask, inputs_embeds, image_embeds,
                image_token_type_idx=1):  # fmt: skip
        text = self.text_embeddings(input_ids, token_type_ids, None, inputs_embeds)
        if image_embeds is None:
            image, image_mask = self.visual_embed(pixel_values, pixel_mask)
        else:
            image, image_mask = image_embeds, pixel_mask.flatten(1)
        image_token_type_idx = 1 if image_token_type_idx is None else image_token_type_idx
        text = text + self.token_type_embeddings(torch.zeros_like(attention_mask, dtype=torch.long))
        image = image + self.token_type_embeddings(torch.full_like(image_mask, image_token_type_idx, dtype=torch.long))
        return torch.cat([text, image], dim=1), torch.cat([attention_mask.to(image_mask.dtype), image_mask], dim=1)


class ViltEncoder(nn.Module):
    def __init__(self, config: ViltConfig):
        super().__init__()
        self.layer = nn.ModuleList(ViTLayer(config, i) for i in range(config.num_hidden_layers))

    def forward(self, hidden, bias=None, head_mask=None, output_attentions=False, output_hidden_states=False):
        states, attentions = (hidden,), ()
        for layer, mask in zip(self.layer, per_layer_head_mask(head_mask, len(self.layer))):
            hidden, probs = layer(hidden, bias=bias, head_mask=mask, output_attentions=output_attentions)
            states, attentions = states + (hidden,), attentions + (probs,)
        return hidden, states if output_hidden_states else None, attentions if output_attentions else None


class ViltPreTrainedModel(PreTrainedModel):
    config_class = ViltConfig
    base_model_prefix = "vilt"
    _keys_to_ignore_on_load_unexpected = [r"position_ids$", r"token_type_ids$"]


class ViltModel(ViltPreTrainedModel):
    output_class = out.BaseModelOutputWithPooling

    def __init__(self, config: ViltConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.embeddings = ViltEmbeddings(config)
        self.encoder = ViltEncoder(config)
        self.layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.pooler = Pooler(config.hidden_size) if add_pooling_layer else None

    def get_input_embeddings(self):
        return self.embeddings.text_embeddings.word_embeddings

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, pixel_values=None, pixel_mask=None,
                head_mask=None, inputs_embeds=None, image_embeds=None, image_token_type_idx=None,
                output_attentions=None, output_hidden_states=None, return_dict=None):  # fmt: skip
        output_attentions = self._flag(output_attentions, "output_attentions")
        output_hidden_states = self._flag(output_hidden_states, "output_hidden_states")
        if input_ids is not None and inputs_embeds is not None:
            raise ValueError("You cannot specify both input_ids and inputs_embeds at the same time")
        text = input_ids if input_ids is not None else inputs_embeds
        if text is None:
            raise ValueError("You have to specify either input_ids or inputs_embeds")
        if (pixel_values is None) == (image_embeds is None):
            raise ValueError("You have to specify exactly one of pixel_values and image_embeds")
        batch, length = text.shape[:2]
        if (pixel_values if pixel_values is not None else image_embeds).shape[0] != batch:
            raise ValueError("The text inputs and image inputs need to have the same batch size")
        if attention_mask is None:
            attention_mask = torch.ones((batch, length), dtype=torch.long, device=text.device)
        if pixel_mask is None:
            if image_embeds is not None:
                raise ValueError("image_embeds need their pixel_mask (one value per image token).")
            pixel_mask = torch.ones((batch, self.config.image_size, self.config.image_size), dtype=torch.long)
        hidden, mask = self.embeddings(input_ids, attention_mask, token_type_ids, pixel_values, pixel_mask,
                                       inputs_embeds, image_embeds, image_token_type_idx)  # fmt: skip
        last, states, attentions = self.encoder(hidden, additive_mask(mask, hidden.dtype), head_mask,
                                                output_attentions, output_hidden_states)  # fmt: skip
        last = self.layernorm(last)
        pooled = self.pooler(last) if self.pooler is not None else None
        return self._finish(self.output_class(last_hidden_state=last, pooler_output=pooled, hidden_states=states,
                                              attentions=attentions), return_dict)  # fmt: skip


class ViltForQuestionAnswering(TaskModel, ViltPreTrainedModel):
    """Answer scores from the pooled output: classifier.0 (2 x hidden) -> LayerNorm -> GELU -> classifier.3. The
    loss is transformers': binary cross-entropy against soft answer scores [batch, num_labels], times num_labels."""

    base_class = ViltModel
    output_class = out.SequenceClassifierOutput

    def __init__(self, config: ViltConfig):
        super().__init__(config)
        width = 2 * config.hidden_size
        self.classifier = nn.Sequential(nn.Linear(config.hidden_size, width), nn.LayerNorm(width, eps=VQA_NORM_EPS),
                                        nn.GELU(), nn.Linear(width, config.num_labels))  # fmt: skip

    def forward(self, input_ids=None, labels=None, return_dict=None, **kwargs):
        encoded = self.encode(input_ids, **kwargs)
        logits = self.classifier(encoded.pooler_output)
        loss = None
        if labels is not None:
            labels = labels.to(logits.device, logits.dtype)
            loss = nn.functional.binary_cross_entropy_with_logits(logits, labels) * labels.shape[1]
        return self._finish(out.from_encoded(self.output_class, encoded, loss=loss, logits=logits), return_dict)
