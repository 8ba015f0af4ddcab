"""LLaVA in Flax (new: transformers never had it): the vision tower's and the language model's Flax modules as the
submodules `vision_tower` and `language_model`, plus `multi_modal_projector`, with the PyTorch checkpoints' names
(`language_model/model/…`: LlavaModel keeps its base text model under `model` too)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from autoload import outputs as out
from autoload import registry
from autoload.composite import strip_part_prefix
from autoload.models.llava import (
    LlavaConfig,
    check_strategy,
    feature_layers,
    features_per_image,
    image_token_mismatch,
    refuse_image_sizes,
    select_image_features,
)

from ..activations import get_activation
from ..generation import FlaxCompiledStep, FlaxGenerationMixin
from ..heads import kept_positions
from ..modeling import FlaxPreTrainedModel


class FlaxLlavaMultiModalProjector(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, features):
        c = self.config
        width, bias = c.text_config.hidden_size, c.multimodal_projector_bias
        init = nn.initializers.normal(getattr(c.text_config, "initializer_range", 0.02))
        hidden = nn.Dense(width, use_bias=bias, dtype=self.dtype, kernel_init=init, name="linear_1")(features)
        hidden = get_activation(c.projector_hidden_act)(hidden)
        return nn.Dense(width, use_bias=bias, dtype=self.dtype, kernel_init=init, name="linear_2")(hidden)


class FlaxLanguageModelHolder(nn.Module):
    """LlavaModel's base text module under `model` (`language_model/model/…`, as the checkpoints name it)."""

    model: nn.Module

    def __call__(self, input_ids=None, **kwargs):
        return self.model(input_ids, **kwargs)


class FlaxLlavaModule(nn.Module):
    config: Any
    vision_tower: nn.Module
    language_model: nn.Module
    dtype: Any = jnp.float32
    text_prefix: str = "model"
    head: bool = False
    keeps_logits: bool = False  # the language model takes logits_to_keep itself

    def setup(self):
        self.layers, self.strategy = self.config.llava_options()
        self.multi_modal_projector = FlaxLlavaMultiModalProjector(self.config, self.dtype)

    def get_image_features(self, pixel_values, vision_feature_layer=None, vision_feature_select_strategy=None,
                           deterministic=True):  # fmt: skip
        layers = self.layers if vision_feature_layer is None else feature_layers(vision_feature_layer,
                                                                                 "vision_feature_layer")  # fmt: skip
        strategy = self.strategy if vision_feature_select_strategy is None else vision_feature_select_strategy
        check_strategy(strategy, "vision_feature_select_strategy")
        states = self.vision_tower(pixel_values, deterministic=deterministic, output_hidden_states=True,
                                   return_dict=True).hidden_states  # fmt: skip
        selected = select_image_features(states, layers, strategy, lambda parts: jnp.concatenate(parts, axis=-1))
        return self.multi_modal_projector(selected)

    def embed(self, input_ids):
        if self.is_initializing():  # the language model makes its parameters (the embedding table) first
            self.language_model(input_ids=input_ids, deterministic=True)
        table = self.language_model.variables["params"][self.text_prefix]["embed_tokens"]["embedding"]
        return jnp.take(table, input_ids.astype("i4"), axis=0).astype(self.dtype)

    def merged_embeddings(self, input_ids, inputs_embeds, pixel_values, vision_feature_layer,
                          vision_feature_select_strategy, deterministic):  # fmt: skip
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("You must specify exactly one of input_ids or inputs_embeds")
        token = self.config.image_token_index
        if inputs_embeds is None:
            inputs_embeds = self.embed(input_ids)
        if pixel_values is None:
            return inputs_embeds, None
        features = self.get_image_features(pixel_values, vision_feature_layer, vision_feature_select_strategy,
                                           deterministic)  # fmt: skip
        features = features.reshape(-1, features.shape[-1]).astype(inputs_embeds.dtype)
        if input_ids is None:
            mask = (inputs_embeds == self.embed(jnp.asarray([token]))[0]).all(-1)
        else:
            mask = input_ids == token
        if not isinstance(mask, jax.core.Tracer) and int(mask.sum()) != features.shape[0]:
            raise image_token_mismatch(int(mask.sum()), features.shape[0])
        order = jnp.clip(jnp.cumsum(mask.reshape(-1)) - 1, 0, features.shape[0] - 1).reshape(mask.shape)
        return jnp.where(mask[..., None], features[order], inputs_embeds), features

    def __call__(self, input_ids=None, pixel_values=None, attention_mask=None, position_ids=None,
                 past_key_values=None, inputs_embeds=None, vision_feature_layer=None,
                 vision_feature_select_strategy=None, use_cache=None, output_attentions=False,
                 output_hidden_states=False, deterministic=True, return_dict=True, logits_to_keep=0,
                 **kwargs):  # fmt: skip
        embeds, features = self.merged_embeddings(input_ids, inputs_embeds, pixel_values, vision_feature_layer,
                                                  vision_feature_select_strategy, deterministic)  # fmt: skip
        kept = {"logits_to_keep": logits_to_keep} if self.keeps_logits else {}
        result = self.language_model(attention_mask=attention_mask, position_ids=position_ids,
                                     past_key_values=past_key_values, inputs_embeds=embeds, use_cache=use_cache,
                                     output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                                     deterministic=deterministic, return_dict=True, **kept)  # fmt: skip
        if self.head:  # (a language model without logits_to_keep has its logits cut here)
            logits = result.logits if self.keeps_logits else kept_positions(result.logits, logits_to_keep)
            output = out.from_encoded(out.LlavaCausalLMOutputWithPast, result, logits=logits,
                                      image_hidden_states=features)  # fmt: skip
        else:
            output = out.from_encoded(out.LlavaModelOutputWithPast, result, last_hidden_state=result.last_hidden_state,
                                      image_hidden_states=features)  # fmt: skip
        return out.finish(output, return_dict)


class FlaxLlavaPreTrainedModel(FlaxPreTrainedModel):
    config_class = LlavaConfig
    module_class = FlaxLlavaModule
    base_model_prefix = ""
    language_family = "MODEL"

    def __init__(self, config: LlavaConfig, input_shape=None, seed: int = 0, dtype=jnp.float32,
                 _do_init: bool = True, **kwargs):  # fmt: skip
        config.llava_options()
        vision, text = config.vision_config, config.text_config
        self.vision_model = registry.model_class_for("MODEL", "flax", vision)(vision, dtype=dtype, _do_init=False)
        self.text_model = registry.model_class_for(self.language_family, "flax", text)(text, dtype=dtype,
                                                                                       _do_init=False)  # fmt: skip
        head = self.language_family != "MODEL"
        language = self.text_model.module if head else FlaxLanguageModelHolder(self.text_model.module)
        self._keys_to_ignore_on_load_unexpected = [rf"^language_model\.{p.lstrip('^')}" if p.startswith("^") else p
                                                   for p in self.text_model._keys_to_ignore_on_load_unexpected]  # fmt: skip
        super().__init__(config, input_shape, seed, dtype, _do_init, vision_tower=self.vision_model.module,
                         language_model=language, text_prefix=self.text_model.base_model_prefix, head=head,
                         keeps_logits=head and getattr(self.text_model, "accepts_logits_to_keep", False),
                         **kwargs)  # fmt: skip

    def _load_canonical(self, state, *args, **kwargs):
        state = strip_part_prefix(state, "vision_tower", self.vision_model.base_model_prefix)
        return super()._load_canonical(state, *args, **kwargs)

    def dummy_inputs(self) -> dict:
        c = self.config.vision_config
        size = c.image_size if isinstance(c.image_size, int) else c.image_size[0]
        count = features_per_image(self.config)
        return {"input_ids": jnp.full((1, count), self.config.image_token_index, dtype="i4"),
                "pixel_values": jnp.zeros((1, c.num_channels, size, size), jnp.float32)}  # fmt: skip

    def __call__(self, input_ids=None, pixel_values=None, image_sizes=None, **kwargs):
        refuse_image_sizes(image_sizes, self.config)
        if isinstance(kwargs.get("vision_feature_layer"), list):  # (the base class would make a list an array)
            kwargs["vision_feature_layer"] = tuple(kwargs["vision_feature_layer"])
        ids = None if input_ids is None else jnp.asarray(input_ids)
        pixels = None if pixel_values is None else jnp.asarray(np.asarray(pixel_values), jnp.float32)
        return super().__call__(input_ids=ids, pixel_values=pixels, **kwargs)


class FlaxLlavaModel(FlaxLlavaPreTrainedModel):
    pass


class FlaxLlavaForConditionalGeneration(FlaxCompiledStep, FlaxGenerationMixin, FlaxLlavaPreTrainedModel):
    """Decoding steps after the prompt (text tokens only: the images are in the cache) run compiled where the
    language model's own steps do (FlaxCompiledStep)."""

    language_family = "MODEL_FOR_CAUSAL_LM"
    generation_position_ids = True
    generation_forward_options = ("vision_feature_layer", "vision_feature_select_strategy", "image_sizes")
    accepts_logits_to_keep = True  # generate() scores only the prompt's last position

    def restarts_cache(self, before: int, after: int) -> bool:
        return False

    def __call__(self, input_ids=None, pixel_values=None, attention_mask=None, **kwargs):
        if pixel_values is not None:  # (transformers' argument order; FlaxCompiledStep's second is the mask)
            kwargs["pixel_values"] = pixel_values
        return super().__call__(input_ids, attention_mask=attention_mask, **kwargs)

    def compiled_step_allowed(self, total: int) -> bool:
        return isinstance(self.text_model, FlaxCompiledStep) and self.text_model.compiled_step_allowed(total)

    def step_output(self, logits, past_key_values):
        return out.LlavaCausalLMOutputWithPast(logits=logits, past_key_values=past_key_values)
