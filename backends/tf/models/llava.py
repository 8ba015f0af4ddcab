"""LLaVA in TensorFlow (Keras 3; new: transformers never had it): the vision tower, the projector and the language
model as sub-models named as the PyTorch checkpoints name them (`vision_tower.vision_model.…`,
`multi_modal_projector.…`, `language_model.model.…`, `language_model.lm_head.…`)."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload import registry
from autoload.composite import strip_part_prefix
from autoload.heads import positions_to_keep
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
from ..generation import TFCompiledStep, TFGenerationMixin
from ..heads import kept_positions
from ..losses import token_loss
from ..modeling import Layer, TFPreTrainedModel, dense


class TFLlavaMultiModalProjector(Layer):
    def __init__(self, config: LlavaConfig, **kwargs):
        super().__init__(**kwargs)
        width, bias = config.text_config.hidden_size, config.multimodal_projector_bias
        self.linear_1 = dense(config.text_config, width, "linear_1", use_bias=bias)
        self.act = get_activation(config.projector_hidden_act)
        self.linear_2 = dense(config.text_config, width, "linear_2", use_bias=bias)
        joined = config.vision_config.hidden_size * len(config.llava_options()[0])  # the chosen layers, concatenated
        self.sizes = {self.linear_1: joined, self.linear_2: width}

    def input_sizes(self):
        return self.sizes

    def call(self, features):
        return self.linear_2(self.act(self.linear_1(features)))


class TFLlavaPreTrainedModel(TFPreTrainedModel):
    config_class = LlavaConfig
    base_model_prefix = ""
    language_family = "MODEL"

    def __init__(self, config: LlavaConfig, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.layers_, self.strategy = config.llava_options()
        vision, text = config.vision_config, config.text_config
        self.vision_tower = registry.model_class_for("MODEL", "tf", vision)(vision, name="vision_tower")
        self.multi_modal_projector = TFLlavaMultiModalProjector(config, name="multi_modal_projector")
        self.language_model = registry.model_class_for(self.language_family, "tf", text)(text, name="language_model")
        self.vision_tower.config, self.language_model.config = vision, text
        tied = self.language_model._tied_weights_keys if getattr(text, "tie_word_embeddings", True) else []
        self._tied_aliases = [f"language_model.{key}" for key in tied]

    def input_sizes(self):  # the sub-models build from their own sizes
        return {self.vision_tower: None, self.multi_modal_projector: None, self.language_model: None}

    def canonical_name(self, tf_name: str) -> str:
        name = super().canonical_name(tf_name)
        tower = self.vision_tower
        nested = f"vision_tower.{tower.base_model_prefix}."
        if tower.is_base_model and name.startswith(nested):
            return "vision_tower." + name[len(nested):]
        return name

    def _load_canonical(self, state, *args, **kwargs):
        tower = self.vision_tower  # our tf_model.h5 keeps the tower's base prefix (vision_tower/clip/…)
        state = strip_part_prefix(state, "vision_tower", tower.base_model_prefix if tower.is_base_model else "")
        return super()._load_canonical(state, *args, **kwargs)

    def dummy_inputs(self) -> dict:
        """One image and as many image tokens as it has features."""
        c = self.config.vision_config
        size = c.image_size if isinstance(c.image_size, int) else c.image_size[0]
        count = features_per_image(self.config)
        return {"input_ids": np.full((1, count), self.config.image_token_index, np.int32),
                "pixel_values": np.zeros((1, c.num_channels, size, size), np.float32)}  # fmt: skip

    def embed(self, ids):
        """The language model's token embeddings; on the first call (building) under the language model's scopes,
        so the table's variable is named as if the language model had made it."""
        table = self.language_model.main_layer.embed_tokens
        if table.built:
            return table(ids)
        with keras.name_scope(self.language_model.name), keras.name_scope(self.language_model.main_layer.name):
            return table(ids)

    def get_image_features(self, pixel_values, vision_feature_layer=None, vision_feature_select_strategy=None,
                           training=False):  # fmt: skip
        """The projected features of each image, [images, patches, text width]."""
        layers = self.layers_ if vision_feature_layer is None else feature_layers(vision_feature_layer,
                                                                                  "vision_feature_layer")  # fmt: skip
        strategy = self.strategy if vision_feature_select_strategy is None else vision_feature_select_strategy
        check_strategy(strategy, "vision_feature_select_strategy")
        states = self.vision_tower(pixel_values=pixel_values, output_hidden_states=True, return_dict=True,
                                   training=training).hidden_states  # fmt: skip
        selected = select_image_features(states, layers, strategy, lambda parts: tf.concat(parts, axis=-1))
        return self.multi_modal_projector(selected)

    def merged_embeddings(self, input_ids, inputs_embeds, pixel_values, vision_feature_layer,
                          vision_feature_select_strategy, training=False):  # fmt: skip
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("You must specify exactly one of input_ids or inputs_embeds")
        if inputs_embeds is None:
            input_ids = tf.convert_to_tensor(input_ids)
            inputs_embeds = self.embed(input_ids)
        if pixel_values is None:
            return inputs_embeds, None
        features = self.get_image_features(pixel_values, vision_feature_layer, vision_feature_select_strategy, training)
        features = tf.cast(tf.reshape(features, (-1, features.shape[-1])), inputs_embeds.dtype)
        token = self.config.image_token_index
        if input_ids is None:
            image = self.embed(tf.constant([token]))[0]
            mask = tf.reduce_all(inputs_embeds == image, axis=-1)
        else:
            mask = tf.equal(tf.cast(input_ids, tf.int64), token)
        positions = tf.where(mask)
        if tf.executing_eagerly() and int(positions.shape[0]) != int(features.shape[0]):
            raise image_token_mismatch(int(positions.shape[0]), int(features.shape[0]))
        return tf.tensor_scatter_nd_update(inputs_embeds, positions, features), features


class TFLlavaModel(TFLlavaPreTrainedModel):
    def call(self, input_ids=None, pixel_values=None, attention_mask=None, position_ids=None, past_key_values=None,
             inputs_embeds=None, vision_feature_layer=None, vision_feature_select_strategy=None, image_sizes=None,
             use_cache=None, output_attentions=None, output_hidden_states=None, training=False, return_dict=True,
             **kwargs):  # fmt: skip
        refuse_image_sizes(image_sizes, self.config)
        embeds, features = self.merged_embeddings(input_ids, inputs_embeds, pixel_values, vision_feature_layer,
                                                  vision_feature_select_strategy, training)  # fmt: skip
        encoded = self.language_model(attention_mask=attention_mask, position_ids=position_ids,
                                      past_key_values=past_key_values, inputs_embeds=embeds, use_cache=use_cache,
                                      output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                                      return_dict=True, training=training)  # fmt: skip
        result = out.from_encoded(out.LlavaModelOutputWithPast, encoded, last_hidden_state=encoded.last_hidden_state,
                                  image_hidden_states=features)  # fmt: skip
        return out.finish(result, return_dict)


class TFLlavaForConditionalGeneration(TFCompiledStep, TFGenerationMixin, TFLlavaPreTrainedModel):
    """Decoding steps after the prompt (text tokens only: the images are in the cache) run as one traced graph
    where the language model's own steps do (TFCompiledStep)."""

    language_family = "MODEL_FOR_CAUSAL_LM"
    generation_position_ids = True
    generation_forward_options = ("vision_feature_layer", "vision_feature_select_strategy", "image_sizes")
    accepts_logits_to_keep = True  # generate() scores only the prompt's last position

    def restarts_cache(self, before: int, after: int) -> bool:
        return False

    def compiled_step_allowed(self, total: int) -> bool:
        language = self.language_model
        return isinstance(language, TFCompiledStep) and language.compiled_step_allowed(total)

    def step_output(self, logits, past_key_values):
        return out.LlavaCausalLMOutputWithPast(logits=logits, past_key_values=past_key_values)

    def call(self, input_ids=None, pixel_values=None, attention_mask=None, position_ids=None, past_key_values=None,
             inputs_embeds=None, vision_feature_layer=None, vision_feature_select_strategy=None, image_sizes=None,
             labels=None, use_cache=None, output_attentions=None, output_hidden_states=None, training=False,
             return_dict=True, logits_to_keep=0, **kwargs):  # fmt: skip
        refuse_image_sizes(image_sizes, self.config)
        positions_to_keep(logits_to_keep, labels)  # (refuses labels with a partial logits_to_keep)
        embeds, features = self.merged_embeddings(input_ids, inputs_embeds, pixel_values, vision_feature_layer,
                                                  vision_feature_select_strategy, training)  # fmt: skip
        # the language model scores only the kept positions where it can; otherwise its logits are cut here
        native = getattr(self.language_model, "accepts_logits_to_keep", False)
        kept = {"logits_to_keep": logits_to_keep} if native else {}
        decoded = self.language_model(attention_mask=attention_mask, position_ids=position_ids,
                                      past_key_values=past_key_values, inputs_embeds=embeds, use_cache=use_cache,
                                      output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                                      return_dict=True, training=training, **kept)  # fmt: skip
        logits = decoded.logits if native else kept_positions(decoded.logits, logits_to_keep)
        loss = None
        if labels is not None:
            loss = token_loss(logits[:, :-1], tf.convert_to_tensor(labels)[:, 1:])
        result = out.from_encoded(out.LlavaCausalLMOutputWithPast, decoded, loss=loss, logits=logits,
                                  image_hidden_states=features)  # fmt: skip
        return out.finish(result, return_dict)
