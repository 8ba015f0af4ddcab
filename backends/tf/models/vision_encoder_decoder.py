"""TFVisionEncoderDecoderModel (Keras 3): the encoder's TF AutoModel and the decoder's TF causal LM as sub-models
`encoder` and `decoder`, named as transformers' TF class names them (tf_model.h5 keeps the encoder's base prefix,
`encoder/vit/…`; canonical names drop it, as the PyTorch state dict has none)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload import registry
from autoload.composite import pretrained_parts, strip_part_prefix
from autoload.models.vision_encoder_decoder import VisionEncoderDecoderConfig

from ..blocks.seq2seq import shift_tokens_right
from ..generation import TFCompiledStep, TFGenerationMixin
from ..losses import token_loss
from ..modeling import TFPreTrainedModel, dense


class TFVisionEncoderDecoderModel(TFGenerationMixin, TFPreTrainedModel):
    config_class = VisionEncoderDecoderConfig
    base_model_prefix = "vision_encoder_decoder"
    main_input_name = "pixel_values"

    def __init__(self, config: VisionEncoderDecoderConfig | None = None, encoder=None, decoder=None, **kwargs):
        if config is None:
            if encoder is None or decoder is None:
                raise ValueError("TFVisionEncoderDecoderModel needs a config, or both an encoder and a decoder.")
            config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder.config, decoder.config)
        config.check_parts()
        super().__init__(config, **kwargs)
        if encoder is None:
            encoder = registry.model_class_for("MODEL", "tf", config.encoder)(config.encoder, name="encoder")
        if decoder is None:
            decoder = registry.model_class_for("MODEL_FOR_CAUSAL_LM", "tf", config.decoder)(config.decoder,
                                                                                          name="decoder")  # fmt: skip
        self.encoder, self.decoder = encoder, decoder
        encoder.config, decoder.config = config.encoder, config.decoder
        self.enc_to_dec_proj = None
        if config.projects_encoder:
            self.enc_to_dec_proj = dense(config.encoder, config.decoder.hidden_size, "enc_to_dec_proj")
        decoder_tied = decoder._tied_weights_keys if getattr(config.decoder, "tie_word_embeddings", True) else []
        self._tied_aliases = [f"decoder.{key}" for key in decoder_tied]
        self._keys_to_ignore_on_load_unexpected = [f"decoder\\.{p.lstrip('^')}" if p.startswith("^") else p
                                                   for p in decoder._keys_to_ignore_on_load_unexpected]  # fmt: skip

    def input_sizes(self):  # the parts build from their own sizes; the projection reads the encoder's states
        return {self.encoder: None, self.enc_to_dec_proj: self.config.encoder.hidden_size, self.decoder: None}

    @classmethod
    def from_encoder_decoder_pretrained(cls, encoder_pretrained_model_name_or_path=None,
                                        decoder_pretrained_model_name_or_path=None, *model_args, **kwargs):  # fmt: skip
        encoder, decoder, kwargs = pretrained_parts("tf", encoder_pretrained_model_name_or_path,
                                                    decoder_pretrained_model_name_or_path, kwargs)  # fmt: skip
        config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder.config, decoder.config, **kwargs)
        config.tie_word_embeddings = False
        # the parts' variables keep their own paths; rebuilt under the composite's scope from their weights
        model = cls(config)
        model.build_weights()
        for part, loaded in (("encoder", encoder), ("decoder", decoder)):
            mine = {model.canonical_name(v.path): v for v in getattr(model, part).weights}
            theirs = {f"{part}.{loaded.canonical_name(v.path)}": v for v in loaded.weights}
            for name, variable in mine.items():
                variable.assign(theirs[name])
        return model

    def canonical_name(self, tf_name: str) -> str:
        name = super().canonical_name(tf_name)
        for part in (self.encoder, self.decoder):
            nested = f"{part.name}.{part.base_model_prefix}."
            if part.is_base_model and name.startswith(nested):
                return f"{part.name}." + name[len(nested):]
        return name

    def _load_canonical(self, state, *args, **kwargs):
        state = strip_part_prefix(state, "encoder", self.encoder.base_model_prefix if self.encoder.is_base_model else "")
        return super()._load_canonical(state, *args, **kwargs)

    def dummy_inputs(self) -> dict:
        c = self.config.encoder
        size = c.image_size if isinstance(c.image_size, int) else c.image_size[0]
        start = self.config.decoder_start_token_id or 0
        return {"pixel_values": np.zeros((1, c.num_channels, size, size), np.float32),
                "decoder_input_ids": np.full((1, 2), start, np.int32)}  # fmt: skip

    def get_encoder(self):
        return self.encoder

    def get_decoder(self):
        return self.decoder

    def encode(self, pixel_values=None, **kwargs):
        return self.encoder(pixel_values=pixel_values, return_dict=True, training=False)

    def decode(self, decoder_input_ids, encoder_outputs, attention_mask=None, past_key_values=None):
        step = self.__dict__.setdefault("_decoder_step", TFVisionEncoderDecoderStep(self))
        if step._compiles({"input_ids": decoder_input_ids, "past_key_values": past_key_values, "use_cache": True}):
            return step._compiled_step(decoder_input_ids, None, None, past_key_values, None,
                                       extra={"encoder_hidden": encoder_outputs.last_hidden_state})  # fmt: skip
        return self(decoder_input_ids=decoder_input_ids, encoder_outputs=encoder_outputs,
                    past_key_values=past_key_values, use_cache=True)  # fmt: skip

    def call(self, pixel_values=None, decoder_input_ids=None, decoder_attention_mask=None, encoder_outputs=None,
             past_key_values=None, decoder_inputs_embeds=None, labels=None, use_cache=None, output_attentions=None,
             output_hidden_states=None, return_dict=True, training=False, **kwargs):  # fmt: skip
        kwargs.pop("attention_mask", None)
        decoder_kwargs = {k[len("decoder_"):]: v for k, v in kwargs.items() if k.startswith("decoder_") and v is not None}
        encoder_kwargs = {k: v for k, v in kwargs.items() if not k.startswith("decoder_") and v is not None}
        if encoder_outputs is None:
            if pixel_values is None:
                raise ValueError("You have to specify pixel_values")
            encoder_outputs = self.encoder(pixel_values=pixel_values, output_attentions=output_attentions,
                                           output_hidden_states=output_hidden_states, return_dict=True,
                                           training=training, **encoder_kwargs)  # fmt: skip
        elif isinstance(encoder_outputs, tuple):
            encoder_outputs = out.BaseModelOutput(*encoder_outputs)
        encoder_states = encoder_outputs[0]
        if self.enc_to_dec_proj is not None:
            encoder_states = self.enc_to_dec_proj(encoder_states)
        if labels is not None and decoder_input_ids is None and decoder_inputs_embeds is None:
            decoder_input_ids = shift_tokens_right(labels, self.config.pad_token_id, self.config.decoder_start_token_id)
        decoded = self.decoder(input_ids=decoder_input_ids, attention_mask=decoder_attention_mask,
                               encoder_hidden_states=encoder_states, inputs_embeds=decoder_inputs_embeds,
                               output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                               use_cache=use_cache, past_key_values=past_key_values, return_dict=True,
                               training=training, **decoder_kwargs)  # fmt: skip
        loss = None
        if labels is not None:
            loss = token_loss(decoded.logits[:, :-1], tf.convert_to_tensor(labels)[:, 1:])
        result = out.Seq2SeqLMOutput(
            loss=loss, logits=decoded.logits, past_key_values=decoded.past_key_values,
            decoder_hidden_states=decoded.hidden_states, decoder_attentions=decoded.attentions,
            cross_attentions=getattr(decoded, "cross_attentions", None),
            encoder_last_hidden_state=encoder_outputs.last_hidden_state,
            encoder_hidden_states=getattr(encoder_outputs, "hidden_states", None),
            encoder_attentions=getattr(encoder_outputs, "attentions", None),
        )  # fmt: skip
        return out.finish(result, return_dict)


class TFVisionEncoderDecoderStep(TFCompiledStep):
    """The decoding steps with a cache as one traced graph (TFCompiledStep) where the decoder's own steps compile:
    the encoder's states are a graph input, the cross-attention keys and values ride along in the cache."""

    cross_attention_caches = True

    def __init__(self, model: TFVisionEncoderDecoderModel):
        self.wrapper, self.config = model, model.config.decoder

    def compiled_step_allowed(self, total: int) -> bool:
        decoder = self.wrapper.decoder
        return isinstance(decoder, TFCompiledStep) and decoder.compiled_step_allowed(total)

    def call(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None, use_cache=True,
             training=False, return_dict=True, encoder_hidden=None):  # fmt: skip
        model = self.wrapper  # (no decoder mask: as the eager step, which passes none)
        states = encoder_hidden if model.enc_to_dec_proj is None else model.enc_to_dec_proj(encoder_hidden)
        return model.decoder(input_ids=input_ids, position_ids=position_ids, encoder_hidden_states=states,
                             past_key_values=past_key_values, use_cache=True, training=False)  # fmt: skip
