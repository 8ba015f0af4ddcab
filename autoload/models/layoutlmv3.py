"""LayoutLMv3: a RoBERTa-style text encoder whose tokens also carry their bounding boxes (2-D position
embeddings of x, y, height and width), followed by the image's patches (a ViT-style patch embedding with a
class token), attending to each other with learned 1-D and 2-D relative position biases.

What all three backends compute from a config is decided here: the bucket of a relative distance (a numpy
table, so every framework buckets alike) and the boxes of the image patches."""

from __future__ import annotations

import functools
import math

import numpy as np

from ..configuration import PretrainedConfig
from ..encoder import EncoderOptions
from ..heads import HeadSpec
from .bert import check_heads

# The bounding-box grid of the patch tokens spans 0..1000, as LayoutLMv3's processor normalises boxes.
BOX_GRID = 1000


class LayoutLMv3Config(PretrainedConfig):
    model_type = "layoutlmv3"

    def __init__(
        self,
        vocab_size=50265,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        hidden_act="gelu",
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        max_position_embeddings=512,
        type_vocab_size=2,
        initializer_range=0.02,
        layer_norm_eps=1e-5,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        max_2d_position_embeddings=1024,
        coordinate_size=128,
        shape_size=128,
        has_relative_attention_bias=True,
        rel_pos_bins=32,
        max_rel_pos=128,
        rel_2d_pos_bins=64,
        max_rel_2d_pos=256,
        has_spatial_attention_bias=True,
        text_embed=True,
        visual_embed=True,
        input_size=224,
        num_channels=3,
        patch_size=16,
        classifier_dropout=None,
        **kwargs,
    ):
        super().__init__(pad_token_id=pad_token_id, bos_token_id=bos_token_id, eos_token_id=eos_token_id, **kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.max_2d_position_embeddings = max_2d_position_embeddings
        self.coordinate_size = coordinate_size
        self.shape_size = shape_size
        self.has_relative_attention_bias = has_relative_attention_bias
        self.rel_pos_bins = rel_pos_bins
        self.max_rel_pos = max_rel_pos
        self.has_spatial_attention_bias = has_spatial_attention_bias
        self.rel_2d_pos_bins = rel_2d_pos_bins
        self.max_rel_2d_pos = max_rel_2d_pos
        self.text_embed = text_embed
        self.visual_embed = visual_embed
        self.input_size = input_size
        self.num_channels = num_channels
        self.patch_size = patch_size
        self.classifier_dropout = classifier_dropout
        check_heads(self)
        if not text_embed:
            raise NotImplementedError("LayoutLMv3Config.text_embed=False (an image-only model) is not supported by "
                                      "autoload; transformers' heads need the text embeddings as well.")  # fmt: skip
        if 4 * coordinate_size + 2 * shape_size != hidden_size:
            raise ValueError(f"LayoutLMv3Config: 4 * coordinate_size + 2 * shape_size ({4 * coordinate_size} + "
                             f"{2 * shape_size}) must equal hidden_size ({hidden_size}); the box embeddings are "
                             "concatenated to the token's width.")  # fmt: skip

    @property
    def patches_per_side(self) -> int:
        return int(self.input_size / self.patch_size)

    @property
    def attention_bias_kinds(self) -> tuple[bool, bool]:
        """(1-D, 2-D) relative biases added to the attention scores. transformers adds the 2-D (spatial) bias only
        together with the 1-D one; a spatial bias alone is computed but never added."""
        relative = bool(self.has_relative_attention_bias)
        return relative, relative and bool(self.has_spatial_attention_bias)

    def encoder_options(self) -> EncoderOptions:
        """RoBERTa's text encoder: positions counted after the padding index."""
        return EncoderOptions(
            vocab_size=self.vocab_size, hidden_size=self.hidden_size, num_hidden_layers=self.num_hidden_layers,
            num_attention_heads=self.num_attention_heads, intermediate_size=self.intermediate_size,
            hidden_act=self.hidden_act, layer_norm_eps=self.layer_norm_eps, hidden_dropout=self.hidden_dropout_prob,
            attention_dropout=self.attention_probs_dropout_prob, max_position_embeddings=self.max_position_embeddings,
            initializer_range=self.initializer_range, pad_token_id=self.pad_token_id,
            position_padding_idx=self.pad_token_id, type_vocab_size=self.type_vocab_size, owner="LayoutLMv3Config",
        )


@functools.lru_cache(maxsize=8)
def relative_bucket_table(num_buckets: int, max_distance: int) -> np.ndarray:
    """The bucket of each distance |n| in 0..max_distance for one sign (half of num_buckets): exact below a
    quarter of num_buckets, logarithmic up to max_distance, the last bucket beyond. Computed in float32 as
    transformers does (a larger distance reads the last entry)."""
    half = num_buckets // 2
    exact = half // 2
    if exact < 1:
        raise ValueError(f"LayoutLMv3Config: relative position bins ({num_buckets}) must be at least 4.")
    n = np.arange(max_distance + 1)
    with np.errstate(divide="ignore"):
        scaled = np.log(n.astype(np.float32) / np.float32(exact)) / np.float32(math.log(max_distance / exact))
        large = exact + (scaled * np.float32(half - exact))[n >= exact].astype(np.int64)
    table = n.copy()
    table[n >= exact] = np.minimum(large, half - 1)
    table = table.astype(np.int32)
    table.setflags(write=False)
    return table


@functools.lru_cache(maxsize=4)
def patch_boxes(patches_per_side: int) -> np.ndarray:
    """[1 + patches, 4] int32 boxes of the class token and of each image patch on the 0..1000 grid (x0, y0,
    x1, y1), row by row."""
    edges = np.arange(0, BOX_GRID * (patches_per_side + 1), BOX_GRID) // patches_per_side
    rows, cols = np.meshgrid(np.arange(patches_per_side), np.arange(patches_per_side), indexing="ij")
    boxes = np.stack([edges[cols], edges[rows], edges[cols + 1], edges[rows + 1]], -1).reshape(-1, 4)
    table = np.concatenate([[[1, 1, BOX_GRID - 1, BOX_GRID - 1]], boxes]).astype(np.int32)
    table.setflags(write=False)
    return table


CONFIG_CLASS = LayoutLMv3Config
ARCHITECTURES = {
    "MODEL": "LayoutLMv3Model",
    "MODEL_FOR_SEQUENCE_CLASSIFICATION": "LayoutLMv3ForSequenceClassification",
    "MODEL_FOR_QUESTION_ANSWERING": "LayoutLMv3ForQuestionAnswering",
    "MODEL_FOR_DOCUMENT_QUESTION_ANSWERING": "LayoutLMv3ForQuestionAnswering",
    "MODEL_FOR_TOKEN_CLASSIFICATION": "LayoutLMv3ForTokenClassification",
}
BACKENDS = ("torch", "tf", "flax")

HEADS = {
    "LayoutLMv3ForSequenceClassification": HeadSpec(pooling="first", projection="tanh"),
    # Start and end scores at every position, the image patches' included, as transformers computes them.
    "LayoutLMv3ForQuestionAnswering": HeadSpec(pooling="none", attr="qa_outputs", projection="tanh"),
    # The text positions only; a plain linear classifier below 10 labels, RoBERTa's two-layer head from 10 on.
    "LayoutLMv3ForTokenClassification": HeadSpec(pooling="none", dropout=("hidden_dropout_prob",)),
}


def token_head_is_projection(config) -> bool:
    return config.num_labels >= 10
