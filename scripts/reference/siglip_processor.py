"""Reference outputs of transformers 4.57.6's SiglipProcessor, written to tests/fixtures/processors/siglip/ (the
processor as save_pretrained writes it, cases.json, expected.npz; the layout of multimodal_processors.py).

Run in the side environment that has transformers: `python scripts/reference/siglip_processor.py`.

The tokenizer is the small SentencePiece model of tests/fixtures/tokenizers/siglip (make_decoder_tokenizers.py),
the image processor configured as google/siglip-base-patch16-224's but with a 32x32 output.
"""

from __future__ import annotations

import os
import sys

import transformers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from multimodal_processors import CROP_TALL, CROP_WIDE, build  # noqa: E402
from reference_io import FIXTURES  # noqa: E402

assert transformers.__version__ == "4.57.6", transformers.__version__

TEXTS = ["a photo of 2 cats", "A photo of a dog, sleeping!"]


def main() -> None:
    tokenizer = transformers.SiglipTokenizer.from_pretrained(FIXTURES / "tokenizers" / "siglip")
    images = transformers.SiglipImageProcessor(size={"height": 32, "width": 32}, resample=3)
    cases = [
        {"key": "zero_shot", "call": {"text": TEXTS, "images": [CROP_WIDE], "padding": "max_length", "return_tensors": "np"}},
        {"key": "pt", "call": {"text": TEXTS, "images": [CROP_WIDE, CROP_TALL], "padding": "max_length", "return_tensors": "pt"}},
        {"key": "text_only", "call": {"text": TEXTS[1], "padding": "max_length", "max_length": 12, "truncation": True}},
        {"key": "images_only", "call": {"images": [CROP_TALL], "return_tensors": "np"}},
        {"key": "longest", "call": {"text": TEXTS, "padding": True, "return_tensors": "np"}},
        {"key": "per_part", "call": {"text": TEXTS, "images": [CROP_TALL], "text_kwargs": {"padding": "max_length", "max_length": 10, "truncation": True},
                                     "images_kwargs": {"size": {"height": 16, "width": 24}}, "return_tensors": "np"}},
        {"key": "image_options", "call": {"images": [CROP_WIDE], "do_normalize": False, "resample": 2, "return_tensors": "np"}},
        {"key": "nothing", "call": {}},
    ]  # fmt: skip
    build("siglip", transformers.SiglipProcessor(images, tokenizer), cases)


if __name__ == "__main__":
    main()
