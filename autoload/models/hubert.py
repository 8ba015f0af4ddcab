"""HuBERT: Wav2Vec2's encoder without the quantizer, with an optional LayerNorm before the feature projection
(feat_proj_layer_norm) and an optional BatchNorm in place of the positional convolution's weight norm
(conv_pos_batch_norm); CTC and audio classification heads."""

from __future__ import annotations

from ..speech import AUDIO_CLASSIFICATION_HEAD, CTC_HEAD, SpeechEncoderConfig, SpeechOptions, set_feature_encoder_fields


class HubertConfig(SpeechEncoderConfig):
    model_type = "hubert"

    def __init__(self, vocab_size=32, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                 intermediate_size=3072, hidden_act="gelu", hidden_dropout=0.1, activation_dropout=0.1,
                 attention_dropout=0.1, feat_proj_layer_norm=True, feat_proj_dropout=0.0, final_dropout=0.1,
                 layerdrop=0.1, initializer_range=0.02, layer_norm_eps=1e-5, feat_extract_norm="group",
                 feat_extract_activation="gelu", conv_dim=(512,) * 7, conv_stride=(5, 2, 2, 2, 2, 2, 2),
                 conv_kernel=(10, 3, 3, 3, 3, 2, 2), conv_bias=False, num_conv_pos_embeddings=128,
                 num_conv_pos_embedding_groups=16, conv_pos_batch_norm=False, do_stable_layer_norm=False,
                 apply_spec_augment=True, mask_time_prob=0.05, mask_time_length=10, mask_time_min_masks=2,
                 mask_feature_prob=0.0, mask_feature_length=10, mask_feature_min_masks=0, ctc_loss_reduction="sum",
                 ctc_zero_infinity=False, use_weighted_layer_sum=False, classifier_proj_size=256, pad_token_id=0,
                 bos_token_id=1, eos_token_id=2, **kwargs):  # fmt: skip
        kwargs.pop("num_feat_extract_layers", None)
        super().__init__(pad_token_id=pad_token_id, bos_token_id=bos_token_id, eos_token_id=eos_token_id, **kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.hidden_dropout = hidden_dropout
        self.activation_dropout = activation_dropout
        self.attention_dropout = attention_dropout
        self.feat_proj_layer_norm = feat_proj_layer_norm
        set_feature_encoder_fields(self, locals())
        self.final_dropout = final_dropout
        self.layerdrop = layerdrop
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.conv_pos_batch_norm = conv_pos_batch_norm
        self.do_stable_layer_norm = do_stable_layer_norm
        self.mask_feature_min_masks = mask_feature_min_masks
        self.ctc_loss_reduction = ctc_loss_reduction
        self.ctc_zero_infinity = ctc_zero_infinity
        self.use_weighted_layer_sum = use_weighted_layer_sum
        self.classifier_proj_size = classifier_proj_size
        self.check_speech_fields()

    def check_speech_fields(self) -> None:
        super().check_speech_fields()
        if getattr(self, "add_adapter", False):
            raise ValueError(
                "HubertConfig: add_adapter=True is not supported: HuBERT has no adapter (transformers' HubertModel "
                "has none either). Remove add_adapter from the config."
            )

    def speech_options(self) -> SpeechOptions:
        # adapter_attn_dim is not a HubertConfig argument, but a config that sets it gets attention adapters in
        # its stable-layer-norm layers, as in transformers.
        attn_adapter = getattr(self, "adapter_attn_dim", None) if self.do_stable_layer_norm else None
        return self.base_speech_options(feature_layer_norm=bool(self.feat_proj_layer_norm),
                                        pos_conv_batch_norm=bool(self.conv_pos_batch_norm),
                                        attn_adapter_dim=attn_adapter)  # fmt: skip


CONFIG_CLASS = HubertConfig
ARCHITECTURES = {
    "MODEL": "HubertModel",
    "MODEL_FOR_CTC": "HubertForCTC",
    "MODEL_FOR_AUDIO_CLASSIFICATION": "HubertForSequenceClassification",
}
BACKENDS = ("torch", "tf", "flax")
HEADS = {
    "HubertForCTC": CTC_HEAD,
    "HubertForSequenceClassification": AUDIO_CLASSIFICATION_HEAD,
}
