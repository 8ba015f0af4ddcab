"""OwlViTProcessor: text queries (CLIP tokenizer) or query images, and the images to search."""

from __future__ import annotations

import warnings

import numpy as np

from ..processing_utils import BatchFeature
from .base import ProcessorMixin

# Call arguments that go to the tokenizer; the others go to the image processor.
TEXT_KWARGS = frozenset({
    "padding", "truncation", "max_length", "stride", "pad_to_multiple_of", "return_attention_mask",
    "return_token_type_ids", "add_special_tokens", "return_overflowing_tokens", "return_special_tokens_mask",
    "return_offsets_mapping", "return_length", "verbose", "padding_side", "is_split_into_words",
})  # fmt: skip


class OwlViTProcessor(ProcessorMixin):
    """`processor(text=queries, images=images)`: `input_ids` / `attention_mask` for the text queries (padded to
    the tokenizer's 16 tokens by default) and `pixel_values`. A nested list gives each image its own queries
    (padded with " " to the largest count; the ids of all images are stacked). `query_images` replaces the
    text: their `query_pixel_values` are returned instead of the ids. Returns numpy arrays by default."""

    parts = {"image_processor": "AutoImageProcessor", "tokenizer": "AutoTokenizer"}

    def __init__(self, image_processor=None, tokenizer=None, **kwargs):
        if "feature_extractor" in kwargs:
            warnings.warn(
                "The `feature_extractor` argument is deprecated and will be removed in v5, use `image_processor` "
                "instead.",
                FutureWarning,
                stacklevel=2,
            )
            image_processor = image_processor if image_processor is not None else kwargs.pop("feature_extractor")
        super().__init__(image_processor=image_processor, tokenizer=tokenizer)

    def __call__(self, images=None, text=None, audio=None, videos=None, query_images=None, return_tensors="np",
                 **kwargs) -> BatchFeature:  # fmt: skip
        if text is None and query_images is None and images is None:
            raise ValueError("You have to specify at least one text or query image or image. All three cannot be none.")
        text_kwargs = {"padding": "max_length", **{k: v for k, v in kwargs.items() if k in TEXT_KWARGS}}
        image_kwargs = {k: v for k, v in kwargs.items() if k not in TEXT_KWARGS}
        data = {}
        if text is not None:
            data.update(self._encode_queries(text, text_kwargs))
        if query_images is not None:
            data = {"query_pixel_values": self.image_processor(query_images, **image_kwargs)["pixel_values"]}
        if images is not None:
            data["pixel_values"] = self.image_processor(images, **image_kwargs)["pixel_values"]
        return BatchFeature(data, tensor_type=return_tensors)

    def _encode_queries(self, text, text_kwargs: dict) -> dict:
        if isinstance(text, str) or (isinstance(text, list) and text and not isinstance(text[0], list)):
            per_image = [text]
        elif isinstance(text, list) and text and isinstance(text[0], list):
            most = max(len(queries) for queries in text)
            per_image = [queries + [" "] * (most - len(queries)) for queries in text]
        else:
            raise TypeError("Input text should be a string, a list of strings or a nested list of strings")
        encodings = [self.tokenizer(queries, return_tensors="np", **text_kwargs) for queries in per_image]
        return {name: np.concatenate([e[name] for e in encodings], axis=0) for name in ("input_ids", "attention_mask")}

    def post_process(self, *args, **kwargs):
        return self.image_processor.post_process(*args, **kwargs)

    def post_process_object_detection(self, *args, **kwargs):
        warnings.warn(
            "`post_process_object_detection` method is deprecated for OwlVitProcessor and will be removed in v5. "
            "Use `post_process_grounded_object_detection` instead.",
            FutureWarning,
            stacklevel=2,
        )
        return self.image_processor.post_process_object_detection(*args, **kwargs)

    def post_process_grounded_object_detection(self, outputs, threshold: float = 0.1, target_sizes=None,
                                               text_labels=None) -> list[dict]:  # fmt: skip
        """The image processor's detections, each image's also with `text_labels`: the query text of each box
        (None without text_labels)."""
        results = self.image_processor.post_process_object_detection(outputs, threshold, target_sizes)
        if text_labels is not None and len(text_labels) != len(results):
            raise ValueError("Make sure that you pass in as many lists of text labels as images")
        for i, result in enumerate(results):
            result["text_labels"] = None if text_labels is None else [text_labels[i][j] for j in result["labels"]]
        return results

    def post_process_image_guided_detection(self, outputs, threshold: float = 0.0, nms_threshold: float = 0.3,
                                            target_sizes=None) -> list[dict]:  # fmt: skip
        return self.image_processor.post_process_image_guided_detection(outputs, threshold, nms_threshold,
                                                                        target_sizes)  # fmt: skip
