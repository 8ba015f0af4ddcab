"""FlaxVisionEncoderDecoderModel: the encoder's Flax base module and the decoder's causal-LM module as the
submodules `encoder` and `decoder` (transformers' Flax parameter tree: `encoder/embeddings/…`,
`decoder/transformer/…`), plus `enc_to_dec_proj` where the widths differ."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload import registry
from autoload.composite import pretrained_parts, strip_part_prefix
from autoload.models.vision_encoder_decoder import VisionEncoderDecoderConfig

from ..blocks.seq2seq import shift_tokens_right
from ..generation import FlaxCompiledStep, FlaxGenerationMixin
from ..modeling import FlaxPreTrainedModel


class FlaxVisionEncoderDecoderModule(nn.Module):
    config: Any
    encoder: nn.Module
    decoder: nn.Module
    dtype: Any = jnp.float32

    def setup(self):
        c = self.config
        if c.projects_encoder:
            std = getattr(c.decoder, "initializer_range", 0.02)
            self.enc_to_dec_proj = nn.Dense(c.decoder.hidden_size, dtype=self.dtype,
                                            kernel_init=nn.initializers.normal(std))  # fmt: skip

    def encode(self, pixel_values, output_attentions=False, output_hidden_states=False, deterministic=True, **kwargs):
        return self.encoder(pixel_values, output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                            deterministic=deterministic, return_dict=True, **kwargs)  # fmt: skip

    def decode(self, decoder_input_ids, encoder_hidden, decoder_attention_mask=None, past_key_values=None,
               decoder_inputs_embeds=None, use_cache=None, output_attentions=False, output_hidden_states=False,
               deterministic=True, decoder_position_ids=None):  # fmt: skip
        if self.config.projects_encoder:
            encoder_hidden = self.enc_to_dec_proj(encoder_hidden)
        options = {} if decoder_inputs_embeds is None else {"inputs_embeds": decoder_inputs_embeds}
        if decoder_position_ids is not None:  # (the compiled decoding step's, as the decoder would count them)
            options["position_ids"] = decoder_position_ids
        return self.decoder(decoder_input_ids, attention_mask=decoder_attention_mask, encoder_hidden_states=encoder_hidden,
                            past_key_values=past_key_values, use_cache=use_cache, output_attentions=output_attentions,
                            output_hidden_states=output_hidden_states, deterministic=deterministic, return_dict=True,
                            **options)  # fmt: skip

    def __call__(self, pixel_values=None, decoder_input_ids=None, decoder_attention_mask=None, encoder_outputs=None,
                 past_key_values=None, decoder_inputs_embeds=None, labels=None, use_cache=None, output_attentions=False,
                 output_hidden_states=False, deterministic=True, return_dict=True, **kwargs):  # fmt: skip
        if encoder_outputs is None:
            if pixel_values is None:
                raise ValueError("You have to specify pixel_values")
            encoder_outputs = self.encode(pixel_values, output_attentions, output_hidden_states, deterministic)
        if labels is not None and decoder_input_ids is None and decoder_inputs_embeds is None:
            decoder_input_ids = shift_tokens_right(labels, self.config.pad_token_id, self.config.decoder_start_token_id)
        decoded = self.decode(decoder_input_ids, encoder_outputs[0], decoder_attention_mask, past_key_values,
                              decoder_inputs_embeds, use_cache, output_attentions, output_hidden_states,
                              deterministic)  # fmt: skip
        result = out.Seq2SeqLMOutput(
            logits=decoded.logits, past_key_values=decoded.past_key_values,
            decoder_hidden_states=decoded.hidden_states, decoder_attentions=decoded.attentions,
            cross_attentions=getattr(decoded, "cross_attentions", None),
            encoder_last_hidden_state=encoder_outputs.last_hidden_state,
            encoder_hidden_states=getattr(encoder_outputs, "hidden_states", None),
            encoder_attentions=getattr(encoder_outputs, "attentions", None),
        )  # fmt: skip
        return out.finish(result, return_dict)


class FlaxVisionEncoderDecoderModel(FlaxGenerationMixin, FlaxPreTrainedModel):
    config_class = VisionEncoderDecoderConfig
    module_class = FlaxVisionEncoderDecoderModule
    base_model_prefix = "vision_encoder_decoder"
    main_input_name = "pixel_values"

    def __init__(self, config: VisionEncoderDecoderConfig, input_shape=None, seed: int = 0, dtype=jnp.float32,
                 _do_init: bool = True, **kwargs):  # fmt: skip
        config.check_parts()
        self.encoder_model = registry.model_class_for("MODEL", "flax", config.encoder)(
            config.encoder, dtype=dtype, _do_init=False)
        self.decoder_model = registry.model_class_for("MODEL_FOR_CAUSAL_LM", "flax", config.decoder)(
            config.decoder, dtype=dtype, _do_init=False)
        tied = self.decoder_model._tied_weights_keys if getattr(config.decoder, "tie_word_embeddings", True) else []
        self._tied_aliases = [f"decoder.{key.replace('/', '.')}" for key in tied]
        self._keys_to_ignore_on_load_unexpected = list(self.decoder_model._keys_to_ignore_on_load_unexpected)
        super().__init__(config, input_shape, seed, dtype, _do_init, encoder=self.encoder_model.module,
                         decoder=self.decoder_model.module, **kwargs)  # fmt: skip

    @classmethod
    def from_encoder_decoder_pretrained(cls, encoder_pretrained_model_name_or_path=None,
                                        decoder_pretrained_model_name_or_path=None, *model_args, **kwargs):  # fmt: skip
        encoder, decoder, kwargs = pretrained_parts("flax", encoder_pretrained_model_name_or_path,
                                                    decoder_pretrained_model_name_or_path, kwargs)  # fmt: skip
        config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder.config, decoder.config, **kwargs)
        config.tie_word_embeddings = False
        model = cls(config, dtype=encoder.dtype)
        params = dict(model.params)
        params["encoder"], params["decoder"] = encoder.params, decoder.params
        model.params = params
        return model

    def _load_canonical(self, state, *args, **kwargs):
        state = strip_part_prefix(state, "encoder", self.encoder_model.base_model_prefix)
        return super()._load_canonical(state, *args, **kwargs)

    def dummy_inputs(self) -> dict:
        c = self.config.encoder
        size = c.image_size if isinstance(c.image_size, int) else c.image_size[0]
        start = self.config.decoder_start_token_id or 0
        return {"pixel_values": jnp.zeros((1, c.num_channels, size, size), jnp.float32),
                "decoder_input_ids": jnp.full((1, 2), start, dtype="i4")}  # fmt: skip

    def encode(self, pixel_values=None, **kwargs):
        module = self.module
        return module.apply({"params": self.params}, jnp.asarray(pixel_values), method=type(module).encode)

    def decode(self, decoder_input_ids, encoder_outputs, attention_mask=None, past_key_values=None):
        step = self.__dict__.setdefault("_decoder_step", FlaxVisionEncoderDecoderStep(self))
        if step._compiles(decoder_input_ids, past_key_values, True, False, {}):
            return step._compiled_step(decoder_input_ids, None, None, past_key_values, None,
                                       extra={"encoder_hidden": encoder_outputs.last_hidden_state})  # fmt: skip
        module = self.module
        return module.apply({"params": self.params}, jnp.asarray(decoder_input_ids), encoder_outputs.last_hidden_state,
                            None, past_key_values, use_cache=True, method=type(module).decode)  # fmt: skip

    def __call__(self, pixel_values=None, decoder_input_ids=None, **kwargs):
        kwargs.pop("attention_mask", None)
        return super().__call__(pixel_values=pixel_values, decoder_input_ids=decoder_input_ids, **kwargs)


class FlaxVisionEncoderDecoderStep(FlaxCompiledStep):
    """The decoding steps into generate()'s static cache as one compiled function (FlaxCompiledStep) where the
    decoder's own steps compile: the encoder's states are a traced input, the cross-attention keys and values
    ride along in the cache."""

    cross_attention_caches = True

    def __init__(self, model: FlaxVisionEncoderDecoderModel):
        self.wrapper, self.config = model, model.config.decoder

    @property
    def params(self):
        return self.wrapper.params

    def compiled_step_allowed(self, total: int) -> bool:
        decoder = self.wrapper.decoder_model
        return isinstance(decoder, FlaxCompiledStep) and decoder.compiled_step_allowed(total)

    def step_apply(self, params, input_ids, attention_mask, position_ids, past_key_values, encoder_hidden):
        module = self.wrapper.module
        result = module.apply({"params": params}, input_ids, encoder_hidden, None, past_key_values, use_cache=True,
                              decoder_position_ids=position_ids, method=type(module).decode)  # fmt: skip
        return result.logits, result.past_key_values
