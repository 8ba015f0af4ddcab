"""VisionEncoderDecoderModel in PyTorch: the encoder's AutoModel and the decoder's causal LM, composed as they are
(their own classes, their own checkpoint names), plus `enc_to_dec_proj` where the widths differ."""

from __future__ import annotations

from torch import nn

from autoload import outputs as out
from autoload import registry
from autoload.composite import pretrained_parts, strip_part_prefix
from autoload.models.vision_encoder_decoder import VisionEncoderDecoderConfig

from ..blocks.seq2seq import shift_tokens_right
from ..generation import GenerationMixin
from ..losses import causal_lm_loss
from ..modeling import PreTrainedModel


class VisionEncoderDecoderModel(PreTrainedModel, GenerationMixin):
    config_class = VisionEncoderDecoderConfig
    base_model_prefix = "vision_encoder_decoder"
    main_input_name = "pixel_values"

    def __init__(self, config: VisionEncoderDecoderConfig | None = None, encoder=None, decoder=None):
        if config is None:
            if encoder is None or decoder is None:
                raise ValueError("VisionEncoderDecoderModel needs a config, or both an encoder and a decoder.")
            config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder.config, decoder.config)
        config.check_parts()
        super().__init__(config)
        self.encoder = encoder if encoder is not None else registry.model_class_for("MODEL", "torch", config.encoder)(
            config.encoder)
        self.decoder = decoder if decoder is not None else registry.model_class_for(
            "MODEL_FOR_CAUSAL_LM", "torch", config.decoder)(config.decoder)  # fmt: skip
        # the parts keep the configs the composite holds, so a change to one shows in the other
        self.encoder.config, self.decoder.config = config.encoder, config.decoder
        if config.projects_encoder:
            self.enc_to_dec_proj = nn.Linear(config.encoder.hidden_size, config.decoder.hidden_size)
        decoder_tied = self.decoder._tied_weights_keys if getattr(config.decoder, "tie_word_embeddings", True) else []
        self._tied_aliases = [f"decoder.{key}" for key in decoder_tied]

    @classmethod
    def from_encoder_decoder_pretrained(cls, encoder_pretrained_model_name_or_path=None,
                                        decoder_pretrained_model_name_or_path=None, *model_args, **kwargs):  # fmt: skip
        encoder, decoder, kwargs = pretrained_parts("torch", encoder_pretrained_model_name_or_path,
                                                    decoder_pretrained_model_name_or_path, kwargs)  # fmt: skip
        config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder.config, decoder.config, **kwargs)
        config.tie_word_embeddings = False
        model = cls(config, encoder=encoder, decoder=decoder)
        if config.projects_encoder:
            model.enc_to_dec_proj.apply(model._init_weights)
        return model

    def _init_weights(self, module: nn.Module) -> None:
        for part in (self.encoder, self.decoder):
            if any(module is m for m in part.modules()):
                return part._init_weights(module)
        return super()._init_weights(module)

    def _load_canonical(self, state, *args, **kwargs):
        state = strip_part_prefix(state, "encoder", getattr(self.encoder, "base_model_prefix", ""))
        return super()._load_canonical(state, *args, **kwargs)

    def tie_weights(self) -> None:
        self.decoder.tie_weights()

    def get_encoder(self):
        return self.encoder

    def get_decoder(self):
        return self.decoder

    def get_input_embeddings(self):
        return self.decoder.get_input_embeddings()

    def get_output_embeddings(self):
        return self.decoder.get_output_embeddings()

    def prepare_decoder_input_ids_from_labels(self, labels):
        return shift_tokens_right(labels, self.config.pad_token_id, self.config.decoder_start_token_id)

    def forward(self, pixel_values=None, decoder_input_ids=None, decoder_attention_mask=None, encoder_outputs=None,
                past_key_values=None, decoder_inputs_embeds=None, labels=None, use_cache=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, **kwargs):  # fmt: skip
        return_dict = self._flag(return_dict, "return_dict")
        kwargs.pop("attention_mask", None)  # generate() passes the (absent) text mask; images have none
        decoder_kwargs = {k[len("decoder_"):]: v for k, v in kwargs.items() if k.startswith("decoder_")}
        encoder_kwargs = {k: v for k, v in kwargs.items() if not k.startswith("decoder_")}
        if encoder_outputs is None:
            if pixel_values is None:
                raise ValueError("You have to specify pixel_values")
            encoder_outputs = self.encoder(pixel_values=pixel_values, output_attentions=output_attentions,
                                           output_hidden_states=output_hidden_states, return_dict=True,
                                           **encoder_kwargs)  # fmt: skip
        elif isinstance(encoder_outputs, tuple):
            encoder_outputs = out.BaseModelOutput(*encoder_outputs)
        encoder_states = encoder_outputs[0]
        if self.config.projects_encoder:
            encoder_states = self.enc_to_dec_proj(encoder_states)
        if labels is not None and decoder_input_ids is None and decoder_inputs_embeds is None:
            decoder_input_ids = self.prepare_decoder_input_ids_from_labels(labels)
        decoded = self.decoder(input_ids=decoder_input_ids, attention_mask=decoder_attention_mask,
                               encoder_hidden_states=encoder_states, encoder_attention_mask=None,
                               inputs_embeds=decoder_inputs_embeds, output_attentions=output_attentions,
                               output_hidden_states=output_hidden_states, use_cache=use_cache,
                               past_key_values=past_key_values, return_dict=True, **decoder_kwargs)  # fmt: skip
        loss = causal_lm_loss(decoded.logits, labels) if labels is not None else None
        result = out.Seq2SeqLMOutput(
            loss=loss, logits=decoded.logits, past_key_values=decoded.past_key_values,
            decoder_hidden_states=decoded.hidden_states, decoder_attentions=decoded.attentions,
            cross_attentions=getattr(decoded, "cross_attentions", None),
            encoder_last_hidden_state=encoder_outputs.last_hidden_state,
            encoder_hidden_states=getattr(encoder_outputs, "hidden_states", None),
            encoder_attentions=getattr(encoder_outputs, "attentions", None),
        )  # fmt: skip
        return self._finish(result, return_dict)
