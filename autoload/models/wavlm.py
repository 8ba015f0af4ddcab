"""WavLM: Wav2Vec2's encoder whose self-attention adds a gated relative position bias (bucketed relative
distances embedded per head in the first layer, scaled per query by a gate computed from the hidden
states); CTC, audio / frame classification and x-vector heads."""

from __future__ import annotations

from ..speech import (
    AUDIO_CLASSIFICATION_HEAD,
    CTC_HEAD,
    FRAME_CLASSIFICATION_HEAD,
    XVECTOR_HEAD,
    SpeechEncoderConfig,
    SpeechOptions,
    set_feature_encoder_fields,
)


class WavLMConfig(SpeechEncoderConfig):
    model_type = "wavlm"

    def __init__(self, vocab_size=32, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                 intermediate_size=3072, hidden_act="gelu", hidden_dropout=0.1, activation_dropout=0.1,
                 attention_dropout=0.1, feat_proj_dropout=0.0, final_dropout=0.1, layerdrop=0.1,
                 initializer_range=0.02, layer_norm_eps=1e-5, feat_extract_norm="group", feat_extract_activation="gelu",
                 conv_dim=(512,) * 7, conv_stride=(5, 2, 2, 2, 2, 2, 2), conv_kernel=(10, 3, 3, 3, 3, 2, 2),
                 conv_bias=False, num_conv_pos_embeddings=128, num_conv_pos_embedding_groups=16, num_buckets=320,
                 max_bucket_distance=800, do_stable_layer_norm=False, apply_spec_augment=True, mask_time_prob=0.05,
                 mask_time_length=10, mask_time_min_masks=2, mask_feature_prob=0.0, mask_feature_length=10,
                 num_codevectors_per_group=320, num_codevector_groups=2, contrastive_logits_temperature=0.1,
                 num_negatives=100, codevector_dim=256, proj_codevector_dim=256, diversity_loss_weight=0.1,
                 ctc_loss_reduction="mean", ctc_zero_infinity=False, use_weighted_layer_sum=False,
                 classifier_proj_size=256, tdnn_dim=(512, 512, 512, 512, 1500), tdnn_kernel=(5, 3, 3, 1, 1),
                 tdnn_dilation=(1, 2, 3, 1, 1), xvector_output_dim=512, num_ctc_classes=80, pad_token_id=0,
                 bos_token_id=1, eos_token_id=2, add_adapter=False, adapter_kernel_size=3, adapter_stride=2,
                 num_adapter_layers=3, output_hidden_size=None, **kwargs):  # fmt: skip
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
        set_feature_encoder_fields(self, locals())
        self.final_dropout = final_dropout
        self.layerdrop = layerdrop
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.num_buckets = num_buckets
        self.max_bucket_distance = max_bucket_distance
        self.do_stable_layer_norm = do_stable_layer_norm
        self.num_codevectors_per_group = num_codevectors_per_group
        self.num_codevector_groups = num_codevector_groups
        self.contrastive_logits_temperature = contrastive_logits_temperature
        self.num_negatives = num_negatives
        self.codevector_dim = codevector_dim
        self.proj_codevector_dim = proj_codevector_dim
        self.diversity_loss_weight = diversity_loss_weight
        self.ctc_loss_reduction = ctc_loss_reduction
        self.ctc_zero_infinity = ctc_zero_infinity
        self.use_weighted_layer_sum = use_weighted_layer_sum
        self.classifier_proj_size = classifier_proj_size
        self.tdnn_dim = list(tdnn_dim)
        self.tdnn_kernel = list(tdnn_kernel)
        self.tdnn_dilation = list(tdnn_dilation)
        self.xvector_output_dim = xvector_output_dim
        self.num_ctc_classes = num_ctc_classes
        self.add_adapter = add_adapter
        self.adapter_kernel_size = adapter_kernel_size
        self.adapter_stride = adapter_stride
        self.num_adapter_layers = num_adapter_layers
        self.output_hidden_size = output_hidden_size or hidden_size
        self.check_speech_fields()

    def check_speech_fields(self) -> None:
        super().check_speech_fields()
        exact = self.num_buckets // 4  # relative distances below this get a bucket each (per direction)
        if exact < 1:
            raise ValueError(
                f"WavLMConfig: num_buckets must be at least 4 (half for each direction, each half split into exact "
                f"and logarithmic buckets); got {self.num_buckets}."
            )
        if self.max_bucket_distance <= 0 or self.max_bucket_distance == exact:
            raise ValueError(
                f"WavLMConfig: max_bucket_distance must be positive and differ from num_buckets // 4 ({exact}), "
                f"where the logarithmic buckets start; got {self.max_bucket_distance}."
            )

    def speech_options(self) -> SpeechOptions:
        # WavLM's layers have no attention adapters (adapter_attn_dim is never read for them).
        return self.base_speech_options(relative_buckets=self.num_buckets,
                                        relative_max_distance=self.max_bucket_distance,
                                        adapter=self.adapter_options())  # fmt: skip


CONFIG_CLASS = WavLMConfig
ARCHITECTURES = {
    "MODEL": "WavLMModel",
    "MODEL_FOR_CTC": "WavLMForCTC",
    "MODEL_FOR_AUDIO_CLASSIFICATION": "WavLMForSequenceClassification",
    "MODEL_FOR_AUDIO_FRAME_CLASSIFICATION": "WavLMForAudioFrameClassification",
    "MODEL_FOR_AUDIO_XVECTOR": "WavLMForXVector",
}
BACKENDS = ("torch", "tf", "flax")
HEADS = {
    "WavLMForCTC": CTC_HEAD,
    "WavLMForSequenceClassification": AUDIO_CLASSIFICATION_HEAD,
    "WavLMForAudioFrameClassification": FRAME_CLASSIFICATION_HEAD,
    "WavLMForXVector": XVECTOR_HEAD,
}
