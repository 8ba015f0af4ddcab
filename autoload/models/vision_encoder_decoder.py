"""VisionEncoderDecoder: any image encoder autoload has (AutoModel of `config.encoder`) feeding any text decoder
with cross-attention (AutoModelForCausalLM of `config.decoder`), as TrOCR and ViT-GPT2 captioning checkpoints
combine them. The two parts keep their own configs and their own checkpoint names (`encoder.…`, `decoder.…`)."""

from __future__ import annotations

import copy

from ..composite import diff_dict_with_parts, sub_config
from ..configuration import PretrainedConfig


class VisionEncoderDecoderConfig(PretrainedConfig):
    model_type = "vision-encoder-decoder"

    def __init__(self, **kwargs):
        if "encoder" not in kwargs or "decoder" not in kwargs:
            raise ValueError("VisionEncoderDecoderConfig needs both `encoder` and `decoder` configs; build one with "
                             "VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder).")  # fmt: skip
        encoder = sub_config(kwargs.pop("encoder"), "VisionEncoderDecoderConfig", "encoder")
        decoder = sub_config(kwargs.pop("decoder"), "VisionEncoderDecoderConfig", "decoder")
        kwargs["is_encoder_decoder"] = True
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.is_encoder_decoder = True

    @classmethod
    def from_encoder_decoder_configs(cls, encoder_config, decoder_config, **kwargs):
        """The config of an encoder and a decoder; the decoder becomes a decoder with cross-attention."""
        decoder_config = copy.deepcopy(decoder_config)
        decoder_config.is_decoder = True
        decoder_config.add_cross_attention = True
        return cls(encoder=copy.deepcopy(encoder_config), decoder=decoder_config, **kwargs)

    def to_diff_dict(self) -> dict:
        return diff_dict_with_parts(self, ("encoder", "decoder"), keep=("is_encoder_decoder",))

    @property
    def projects_encoder(self) -> bool:
        """Whether `enc_to_dec_proj` maps the encoder's width to the decoder's (no cross_attention_hidden_size
        given and the widths differ)."""
        encoder, decoder = self.encoder.hidden_size, self.decoder.hidden_size
        cross = getattr(self.decoder, "cross_attention_hidden_size", None)
        if cross is not None and cross != encoder:
            raise ValueError(f"decoder.cross_attention_hidden_size ({cross}) must equal the encoder's hidden_size "
                             f"({encoder}) when it is given; leave it null to project the encoder states.")  # fmt: skip
        return cross is None and encoder != decoder

    def check_parts(self) -> None:
        """The decoder must attend to the encoder: is_decoder and add_cross_attention set."""
        if not (self.decoder.is_decoder and self.decoder.add_cross_attention):
            raise ValueError("VisionEncoderDecoderConfig.decoder needs is_decoder=True and add_cross_attention=True "
                             "(the decoder attends to the image); build the config with "
                             "from_encoder_decoder_configs.")  # fmt: skip
        self.projects_encoder  # noqa: B018 - checks cross_attention_hidden_size


CONFIG_CLASS = VisionEncoderDecoderConfig
ARCHITECTURES = {
    "MODEL_FOR_VISION_2_SEQ": "VisionEncoderDecoderModel",
    "MODEL_FOR_IMAGE_TEXT_TO_TEXT": "VisionEncoderDecoderModel",
}
BACKENDS = ("torch", "tf", "flax")
HEADS = {}
