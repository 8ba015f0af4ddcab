"""LLaVA in PyTorch: the vision tower (AutoModel of vision_config), the projector, and the language model (the
text config's causal LM, or its base model under `model` for LlavaModel), named as LLaVA checkpoints name them."""

from __future__ import annotations

import torch
from torch import nn

from autoload import outputs as out
from autoload import registry
from autoload.composite import strip_part_prefix
from autoload.heads import positions_to_keep
from autoload.models.llava import LlavaConfig, image_token_mismatch, refuse_image_sizes, select_image_features

from ..activations import get_activation
from ..generation import GenerationMixin
from ..heads import kept_positions
from ..losses import causal_lm_loss
from ..modeling import PreTrainedModel


class LlavaMultiModalProjector(nn.Module):
    def __init__(self, config: LlavaConfig):
        super().__init__()
        layers, _ = config.llava_options()
        width, bias = config.text_config.hidden_size, config.multimodal_projector_bias
        self.linear_1 = nn.Linear(config.vision_config.hidden_size * len(layers), width, bias=bias)
        self.act = get_activation(config.projector_hidden_act)
        self.linear_2 = nn.Linear(width, width, bias=bias)

    def forward(self, features):
        return self.linear_2(self.act(self.linear_1(features)))


class LanguageModelHolder(nn.Module):
    """LlavaModel's text model under `model`, so its weights keep the checkpoints' `language_model.model.…`."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, **kwargs):
        return self.model(**kwargs)


class LlavaPreTrainedModel(PreTrainedModel):
    config_class = LlavaConfig
    base_model_prefix = ""
    language_family = "MODEL"

    def __init__(self, config: LlavaConfig):
        super().__init__(config)
        self.layers, self.strategy = config.llava_options()
        self.vision_tower = registry.model_class_for("MODEL", "torch", config.vision_config)(config.vision_config)
        self.multi_modal_projector = LlavaMultiModalProjector(config)
        text = registry.model_class_for(self.language_family, "torch", config.text_config)(config.text_config)
        self.language_model = text if self.language_family != "MODEL" else LanguageModelHolder(text)
        self.vision_tower.config, text.config = config.vision_config, config.text_config
        tied = text._tied_weights_keys if getattr(config.text_config, "tie_word_embeddings", True) else []
        self._tied_aliases = [f"language_model.{key}" for key in tied]

    @property
    def text_model(self) -> nn.Module:
        """The language model's base model (LlamaModel, …)."""
        return self.language_model.model

    def _init_weights(self, module: nn.Module) -> None:
        for part in (self.vision_tower, self.text_model):
            if any(module is m for m in part.modules()):
                return part._init_weights(module)
        return super()._init_weights(module)

    def _load_canonical(self, state, *args, **kwargs):
        # a TF file keeps the vision tower's base prefix (vision_tower.clip.…)
        state = strip_part_prefix(state, "vision_tower", getattr(self.vision_tower, "base_model_prefix", ""))
        return super()._load_canonical(state, *args, **kwargs)

    def tie_weights(self) -> None:
        if isinstance(self.language_model, PreTrainedModel):
            self.language_model.tie_weights()

    def get_input_embeddings(self):
        return self.text_model.get_input_embeddings()

    def get_decoder(self):
        return self.text_model

    def get_image_features(self, pixel_values, vision_feature_layer=None, vision_feature_select_strategy=None,
                           **kwargs):  # fmt: skip
        """The projected features of each image, [images, patches, text width]."""
        layers, strategy = self._selection(vision_feature_layer, vision_feature_select_strategy)
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        states = self.vision_tower(pixel_values, output_hidden_states=True, return_dict=True, **kwargs).hidden_states
        selected = select_image_features(states, layers, strategy, lambda parts: torch.cat(parts, dim=-1))
        return self.multi_modal_projector(selected)

    def _selection(self, layer, strategy):
        if layer is None and strategy is None:
            return self.layers, self.strategy
        from autoload.models.llava import check_strategy, feature_layers

        strategy = self.strategy if strategy is None else strategy
        check_strategy(strategy, "vision_feature_select_strategy")
        return (self.layers if layer is None else feature_layers(layer, "vision_feature_layer")), strategy

    def merged_embeddings(self, input_ids, inputs_embeds, pixel_values, vision_feature_layer,
                          vision_feature_select_strategy):  # fmt: skip
        """(the text embeddings with each image token's embedding replaced by the next image feature, the image
        features [images * patches, width] or None)."""
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("You must specify exactly one of input_ids or inputs_embeds")
        if inputs_embeds is None:
            inputs_embeds = self.get_input_embeddings()(input_ids)
        if pixel_values is None:
            return inputs_embeds, None
        features = self.get_image_features(pixel_values, vision_feature_layer, vision_feature_select_strategy)
        features = features.reshape(-1, features.shape[-1]).to(inputs_embeds.dtype)
        token = self.config.image_token_index
        if input_ids is None:
            image = self.get_input_embeddings()(torch.tensor(token, device=inputs_embeds.device))
            mask = (inputs_embeds == image).all(-1)
        else:
            mask = input_ids == token
        if int(mask.sum()) != features.shape[0]:
            raise image_token_mismatch(int(mask.sum()), features.shape[0])
        return inputs_embeds.masked_scatter(mask[..., None].expand_as(inputs_embeds), features), features


class LlavaModel(LlavaPreTrainedModel):
    def forward(self, input_ids=None, pixel_values=None, attention_mask=None, position_ids=None, past_key_values=None,
                inputs_embeds=None, vision_feature_layer=None, vision_feature_select_strategy=None, image_sizes=None,
                use_cache=None, output_attentions=None, output_hidden_states=None, return_dict=None,
                **kwargs):  # fmt: skip
        refuse_image_sizes(image_sizes, self.config)
        embeds, features = self.merged_embeddings(input_ids, inputs_embeds, pixel_values, vision_feature_layer,
                                                  vision_feature_select_strategy)  # fmt: skip
        encoded = self.text_model(attention_mask=attention_mask, position_ids=position_ids,
                                  past_key_values=past_key_values, inputs_embeds=embeds, use_cache=use_cache,
                                  output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                                  return_dict=True)  # fmt: skip
        result = out.from_encoded(out.LlavaModelOutputWithPast, encoded, last_hidden_state=encoded.last_hidden_state,
                                  image_hidden_states=features)  # fmt: skip
        return self._finish(result, return_dict)


class LlavaForConditionalGeneration(LlavaPreTrainedModel, GenerationMixin):
    language_family = "MODEL_FOR_CAUSAL_LM"
    generation_position_ids = True  # generate() passes positions counted from the attention mask
    generation_forward_options = ("vision_feature_layer", "vision_feature_select_strategy", "image_sizes")
    accepts_logits_to_keep = True  # generate() scores only the prompt's last position

    def get_output_embeddings(self):
        return self.language_model.get_output_embeddings()

    def restarts_cache(self, before: int, after: int) -> bool:
        return False

    def forward(self, input_ids=None, pixel_values=None, attention_mask=None, position_ids=None, past_key_values=None,
                inputs_embeds=None, vision_feature_layer=None, vision_feature_select_strategy=None, image_sizes=None,
                labels=None, use_cache=None, output_attentions=None, output_hidden_states=None, return_dict=None,
                logits_to_keep=0, **kwargs):  # fmt: skip
        refuse_image_sizes(image_sizes, self.config)
        positions_to_keep(logits_to_keep, labels)  # (refuses labels with a partial logits_to_keep)
        embeds, features = self.merged_embeddings(input_ids, inputs_embeds, pixel_values, vision_feature_layer,
                                                  vision_feature_select_strategy)  # fmt: skip
        # the language model scores only the kept positions where it can; otherwise its logits are cut here
        native = getattr(self.language_model, "accepts_logits_to_keep", False)
        kept = {"logits_to_keep": logits_to_keep} if native else {}
        decoded = self.language_model(attention_mask=attention_mask, position_ids=position_ids,
                                      past_key_values=past_key_values, inputs_embeds=embeds, use_cache=use_cache,
                                      output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                                      return_dict=True, **kept, **kwargs)  # fmt: skip
        logits = decoded.logits if native else kept_positions(decoded.logits, logits_to_keep)
        loss = causal_lm_loss(logits, labels) if labels is not None else None
        result = out.from_encoded(out.LlavaCausalLMOutputWithPast, decoded, loss=loss, logits=logits,
                                  image_hidden_states=features)  # fmt: skip
        return self._finish(result, return_dict)
