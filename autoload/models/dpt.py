"""DPT (dense prediction transformer), the ViT-based variant: a ViT encoder whose chosen layers are reassembled
into four feature maps (readout of the class token, 1x1 projection, resize by transposed or strided
convolutions), fused top-down by residual convolution units, and read by a depth or a segmentation head."""

from __future__ import annotations

from dataclasses import dataclass

from ..configuration import PretrainedConfig
from ..heads import HeadSpec
from ..vision import TokenLayout, VisionTransformerConfigMixin

READOUT_TYPES = ("ignore", "add", "project")


@dataclass(frozen=True)
class DPTOptions:
    """What the neck and heads are built from.

    layers: the encoder layers (0-based) whose outputs feed the neck, in layer order.
    factors: per neck level, how the reassembled map is resized: an int k > 1 (transposed convolution, stride k),
        1 (unchanged) or a stride s > 1 given as -s (a 3x3 convolution with stride s, for factors below one).
    fusion_bias: whether the residual units' convolutions have a bias.
    """

    layers: tuple[int, ...]
    factors: tuple[int, ...]
    fusion_bias: bool


class DPTConfig(VisionTransformerConfigMixin, PretrainedConfig):
    model_type = "dpt"
    # Position tables are resized (bilinearly) to every input, as transformers' DPT does.
    token_layout = TokenLayout(interpolation="always", position_resize="bilinear")

    def __init__(
        self,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        hidden_act="gelu",
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        initializer_range=0.02,
        layer_norm_eps=1e-12,
        image_size=384,
        patch_size=16,
        num_channels=3,
        is_hybrid=False,
        qkv_bias=True,
        backbone_out_indices=(2, 5, 8, 11),
        readout_type="project",
        reassemble_factors=(4, 2, 1, 0.5),
        neck_hidden_sizes=(96, 192, 384, 768),
        fusion_hidden_size=256,
        head_in_index=-1,
        use_batch_norm_in_fusion_residual=False,
        use_bias_in_fusion_residual=None,
        add_projection=False,
        use_auxiliary_head=True,
        auxiliary_loss_weight=0.4,
        semantic_loss_ignore_index=255,
        semantic_classifier_dropout=0.1,
        backbone_featmap_shape=(1, 1024, 24, 24),
        neck_ignore_stages=(0, 1),
        backbone_config=None,
        backbone=None,
        use_pretrained_backbone=False,
        use_timm_backbone=False,
        backbone_kwargs=None,
        pooler_output_size=None,
        pooler_act="tanh",
        **kwargs,
    ):
        kwargs.pop("use_autobackbone", None)  # derived below, as transformers derives it
        super().__init__(**kwargs)
        if readout_type not in READOUT_TYPES:
            raise ValueError(f"DPTConfig: readout_type must be one of {list(READOUT_TYPES)}, got {readout_type!r}.")
        self.set_vit_fields(locals())
        self.intermediate_size = intermediate_size
        self.is_hybrid = is_hybrid
        self.qkv_bias = qkv_bias
        self.use_autobackbone = bool(not is_hybrid and (backbone is not None or backbone_config is not None))
        self.backbone_out_indices = None if self.use_autobackbone else list(backbone_out_indices)
        self.readout_type = readout_type
        self.reassemble_factors = list(reassemble_factors)
        self.neck_hidden_sizes = list(neck_hidden_sizes)
        self.fusion_hidden_size = fusion_hidden_size
        self.head_in_index = head_in_index
        self.use_batch_norm_in_fusion_residual = use_batch_norm_in_fusion_residual
        self.use_bias_in_fusion_residual = use_bias_in_fusion_residual
        self.add_projection = add_projection
        self.use_auxiliary_head = use_auxiliary_head
        self.auxiliary_loss_weight = auxiliary_loss_weight
        self.semantic_loss_ignore_index = semantic_loss_ignore_index
        self.semantic_classifier_dropout = semantic_classifier_dropout
        # As in transformers: only DPT-Hybrid keeps the feature-map shape and the stages the neck skips.
        self.backbone_featmap_shape = list(backbone_featmap_shape) if is_hybrid and backbone_featmap_shape else None
        self.neck_ignore_stages = list(neck_ignore_stages) if is_hybrid else []
        self.backbone_config = backbone_config
        self.backbone = backbone
        self.use_pretrained_backbone = use_pretrained_backbone
        self.use_timm_backbone = use_timm_backbone
        self.backbone_kwargs = backbone_kwargs
        self.pooler_output_size = pooler_output_size if pooler_output_size else hidden_size
        self.pooler_act = pooler_act
        self.check_vision_transformer()

    def dpt_options(self) -> DPTOptions:
        """The neck's layout, checked against what autoload (and transformers) can build."""
        if self.is_hybrid:
            raise ValueError(
                "DPTConfig: is_hybrid=True (DPT-Hybrid, with a BiT convolutional backbone) is not supported by "
                "autoload yet; only the ViT-based DPT (is_hybrid=False, no backbone_config) is."
            )
        if self.use_autobackbone:
            raise ValueError(
                "DPTConfig: a separate backbone (backbone_config / backbone, e.g. DINOv2 or Swin v2) is not supported "
                "by autoload yet; only the ViT-based DPT (no backbone_config) is."
            )
        levels = len(self.neck_hidden_sizes)
        if len(self.reassemble_factors) != levels:
            raise ValueError(
                f"DPTConfig: reassemble_factors ({self.reassemble_factors}) needs one factor per neck level "
                f"(neck_hidden_sizes has {levels})."
            )
        layers = tuple(i for i in range(self.num_hidden_layers) if i in self.backbone_out_indices)
        if len(layers) != levels:
            raise ValueError(
                f"DPTConfig: backbone_out_indices {self.backbone_out_indices} selects {len(layers)} of the "
                f"{self.num_hidden_layers} encoder layers, but the neck has {levels} levels (neck_hidden_sizes); "
                "they must agree."
            )
        if not -levels <= self.head_in_index < levels:
            raise ValueError(f"DPTConfig: head_in_index {self.head_in_index} is not an index into the {levels} neck levels.")
        if self.add_projection and self.fusion_hidden_size != 256:
            raise ValueError(
                "DPTConfig: add_projection=True adds a 256-channel convolution, so fusion_hidden_size must be 256; "
                f"it is {self.fusion_hidden_size}."
            )
        factors = []
        for factor in self.reassemble_factors:
            if factor > 1 and float(factor).is_integer():
                factors.append(int(factor))
            elif factor == 1:
                factors.append(1)
            elif 0 < factor < 1 and int(1 / factor) >= 1:
                factors.append(-int(1 / factor))
            else:
                raise ValueError(
                    f"DPTConfig: reassemble factor {factor!r} is not supported; use integers above 1 (upsampling), 1, "
                    "or fractions between 0 and 1 (downsampling by int(1 / factor))."
                )
        bias = self.use_bias_in_fusion_residual
        return DPTOptions(layers=layers, factors=tuple(factors),
                          fusion_bias=bool(not self.use_batch_norm_in_fusion_residual if bias is None else bias))


CONFIG_CLASS = DPTConfig
ARCHITECTURES = {
    "MODEL": "DPTModel",
    "MODEL_FOR_DEPTH_ESTIMATION": "DPTForDepthEstimation",
    "MODEL_FOR_SEMANTIC_SEGMENTATION": "DPTForSemanticSegmentation",
}
BACKENDS = ("torch", "tf", "flax")

DENSE_HEAD = HeadSpec(pooling="none", attr="head", dropout=(), base_kwargs={"add_pooling_layer": False})
HEADS = {"DPTForDepthEstimation": DENSE_HEAD, "DPTForSemanticSegmentation": DENSE_HEAD}
