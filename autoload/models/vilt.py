"""ViLT: BERT's text embeddings and a ViT's patch embeddings side by side (with a modality-type embedding), one
pre-norm ViT encoder over both, and a pooler on the first (text [CLS]) token.

Which image patches become tokens is decided here, in numpy, from pixel_mask (so every framework picks the
same ones): the patches the mask keeps, in row-major order, then as many masked patches as the longest row
of the batch needs. transformers draws that order at random on every forward (torch.multinomial); attention
is indifferent to the order, so pooled outputs and the question-answering logits are the same, and the image
tokens' hidden states are transformers' up to that permutation. A batch whose rows keep more patches than
config.max_image_length keeps the first max_image_length of them (transformers keeps a random subset)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..configuration import PretrainedConfig
from ..encoder import EncoderOptions
from ..heads import HeadSpec
from ..vision import VisionTransformerConfigMixin, bilinear_matrix


class ViltConfig(VisionTransformerConfigMixin, PretrainedConfig):
    model_type = "vilt"

    def __init__(
        self,
        vocab_size=30522,
        type_vocab_size=2,
        modality_type_vocab_size=2,
        max_position_embeddings=40,
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
        patch_size=32,
        num_channels=3,
        qkv_bias=True,
        max_image_length=-1,
        tie_word_embeddings=False,
        num_images=-1,
        **kwargs,
    ):
        super().__init__(tie_word_embeddings=tie_word_embeddings, **kwargs)
        self.vocab_size = vocab_size
        self.type_vocab_size = type_vocab_size
        self.modality_type_vocab_size = modality_type_vocab_size
        self.max_position_embeddings = max_position_embeddings
        self.set_vit_fields(locals())
        self.intermediate_size = intermediate_size
        self.qkv_bias = qkv_bias
        self.max_image_length = max_image_length
        self.num_images = num_images
        self.check_vision_transformer()
        if not isinstance(image_size, int) or not isinstance(patch_size, int):
            raise ValueError("ViltConfig.image_size and patch_size must be integers (square images and patches).")

    @property
    def patches_per_side(self) -> int:
        return self.image_size // self.patch_size

    def text_options(self) -> EncoderOptions:
        """BERT's text embeddings (word, absolute position from 0, token type); the encoder is a pre-norm ViT."""
        return EncoderOptions(
            vocab_size=self.vocab_size, hidden_size=self.hidden_size, num_hidden_layers=self.num_hidden_layers,
            num_attention_heads=self.num_attention_heads, intermediate_size=self.intermediate_size,
            hidden_act=self.hidden_act, layer_norm_eps=self.layer_norm_eps, hidden_dropout=self.hidden_dropout_prob,
            attention_dropout=self.attention_probs_dropout_prob, max_position_embeddings=self.max_position_embeddings,
            initializer_range=self.initializer_range, pad_token_id=self.pad_token_id,
            type_vocab_size=self.type_vocab_size, owner="ViltConfig",
        )


@dataclass(frozen=True)
class PatchPlan:
    """Which patches of the [rows, cols] grid become image tokens, per example.

    select: [batch, tokens] indices into the row-major grid; mask: [batch, tokens] 1 for patches the pixel
    mask keeps; row_resize / col_resize: [batch, rows, side] / [batch, cols, side] bilinear (align_corners)
    matrices that resize the side x side position table to each example's kept area, zero beyond it."""

    select: np.ndarray
    mask: np.ndarray
    row_resize: np.ndarray
    col_resize: np.ndarray


def _nearest(size_in: int, size_out: int) -> np.ndarray:
    scale = np.float32(size_in / size_out)
    return np.minimum(np.floor(np.arange(size_out, dtype=np.float32) * scale).astype(np.int64), size_in - 1)


def plan_patches(pixel_mask, grid: tuple[int, int], config: ViltConfig) -> PatchPlan:
    """The image tokens of a batch (see the module docstring) from its [batch, height, width] pixel mask."""
    pixel_mask = np.asarray(pixel_mask)
    if pixel_mask.ndim != 3:
        raise ValueError(f"pixel_mask must be [batch, height, width]; got shape {pixel_mask.shape}.")
    rows, cols = grid
    kept = pixel_mask[:, _nearest(pixel_mask.shape[1], rows)][:, :, _nearest(pixel_mask.shape[2], cols)] != 0
    heights, widths = kept[:, :, 0].sum(1), kept[:, 0, :].sum(1)
    if (heights * widths).min() == 0:
        raise ValueError("pixel_mask keeps no patch of an image; every image needs at least one.")
    length = int((heights * widths).max())
    limit = config.max_image_length
    if isinstance(limit, int) and not isinstance(limit, bool) and limit >= 0:
        length = min(length, limit)
    side = config.patches_per_side
    select, mask = [], []
    row_resize = np.zeros((len(kept), rows, side), np.float32)
    col_resize = np.zeros((len(kept), cols, side), np.float32)
    for i, example in enumerate(kept.reshape(len(kept), -1)):
        valid, masked = np.flatnonzero(example), np.flatnonzero(~example)
        if len(valid) >= length:
            chosen = valid[:length]
        else:
            chosen = np.concatenate([valid, np.resize(masked, length - len(valid))])
        select.append(chosen)
        mask.append(example[chosen])
        row_resize[i, : heights[i]] = bilinear_matrix(side, int(heights[i]), align_corners=True)
        col_resize[i, : widths[i]] = bilinear_matrix(side, int(widths[i]), align_corners=True)
    return PatchPlan(np.stack(select).astype(np.int32), np.stack(mask).astype(np.int32), row_resize, col_resize)


CONFIG_CLASS = ViltConfig
ARCHITECTURES = {
    "MODEL": "ViltModel",
    "MODEL_FOR_VISUAL_QUESTION_ANSWERING": "ViltForQuestionAnswering",
}
BACKENDS = ("torch", "tf", "flax")

HEADS = {
    # pooler -> classifier.0 (2 x hidden) -> classifier.1 LayerNorm (eps 1e-5) -> exact GELU -> classifier.3
    "ViltForQuestionAnswering": HeadSpec(attr="classifier", dropout=()),
}
VQA_NORM_EPS = 1e-5
