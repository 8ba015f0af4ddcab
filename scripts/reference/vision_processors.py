"""Reference outputs of transformers 4.57.6's SamProcessor and OwlViTProcessor, written to
tests/fixtures/processors/{sam,owlvit}/: the processor as save_pretrained writes it, cases.json and
expected.npz (see reference_io.Writer; large pixel_values only every `stride`-th row and column).

Run in the side environment that has transformers, after vision_image_processors.py (whose SAM and OWL-ViT
configs are used): `python scripts/reference/vision_processors.py`.

cases.json: `class` and `cases`, each {"key", "call": keyword arguments with image specs (see reference_io)
under images / query_images and label-map specs under segmentation_maps, "stride", "expected": the
returned fields}, and `post_processing` (the processor's own post-processing methods, stored as in
vision_post_processing.py). The OWL-ViT tokenizer is a small CLIP BPE built here (byte alphabet plus merges for the
words the cases use), with OWL-ViT's 16-token limit and "!" as padding.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from reference_io import FIXTURES, Writer, label_map, load
from tokenizers.pre_tokenizers import ByteLevel
from transformers import AutoImageProcessor, AutoProcessor, CLIPTokenizerFast, OwlViTProcessor, SamProcessor

OUT = FIXTURES / "processors"
CROP_WIDE = "rgb.png crop 200,100,270,145"
CROP_TALL = "rgb.png crop 400,200,440,290"
WORDS = ["a", "photo", "of", "cat", "dog", "remote", "control", "two", "cats"]

SAM_CASES = [
    {"key": "point", "call": {"images": ["rgb.png"], "input_points": [[[450, 600]]], "return_tensors": "np"}},
    {"key": "point_pt", "call": {"images": ["rgb.png"], "input_points": [[[450, 600]]], "input_labels": [[1]], "return_tensors": "pt"}},
    {"key": "padded_points", "call": {"images": [CROP_WIDE, CROP_TALL], "input_points": [[[10, 20], [30, 5]], [[15, 25]]], "input_labels": [[1, 0], [1]], "return_tensors": "np"}},
    {"key": "padded_points_pt", "call": {"images": [CROP_WIDE, CROP_TALL], "input_points": [[[10, 20], [30, 5]], [[15, 25]]], "input_labels": [[1, 0], [1]], "point_pad_value": -1, "return_tensors": "pt"}},
    {"key": "boxes", "call": {"images": [CROP_WIDE, CROP_TALL], "input_boxes": [[[5, 5, 40, 30], [1, 1, 20, 20]], [[2, 3, 30, 80], [10, 10, 20, 20]]], "return_tensors": "pt"}},
    {"key": "one_box", "call": {"images": [CROP_TALL], "input_boxes": [[[2, 3, 30, 80]]], "return_tensors": "np"}},
    {"key": "shared_points", "call": {"images": [CROP_WIDE, CROP_TALL], "input_points": [[[10, 20]]], "return_tensors": "np"}},
    {"key": "point_batch", "call": {"images": [CROP_TALL], "input_points": [[[[10, 20]], [[30, 5]]]], "input_labels": [[[1], [1]]], "return_tensors": "pt"}},
    {"key": "segmentation", "call": {"images": [CROP_WIDE], "segmentation_maps": [CROP_WIDE], "input_points": [[[3, 4]]], "return_tensors": "np"}},
    {"key": "no_prompts", "call": {"images": [CROP_TALL, CROP_WIDE], "return_tensors": None}},
]  # fmt: skip
OWLVIT_CASES = [
    {"key": "texts_and_image", "call": {"text": ["a photo of a cat", "a photo of a dog"], "images": ["rgb.png"]}},
    {"key": "nested_texts", "call": {"text": [["cat", "remote control"], ["dog"]], "images": [CROP_WIDE, CROP_TALL]}},
    {"key": "query_images", "call": {"query_images": [CROP_TALL], "images": [CROP_WIDE], "text": ["ignored"]}},
    {"key": "text_pt", "call": {"text": "two cats", "return_tensors": "pt"}},
    {"key": "images_only", "call": {"images": [CROP_TALL, CROP_WIDE]}},
    {"key": "text_options", "call": {"text": ["a photo of a cat", "dog"], "padding": "longest"}},
]  # fmt: skip


def owlvit_post_processing() -> list[tuple[str, str, dict]]:
    rng = np.random.default_rng(16)
    boxes = np.concatenate([rng.uniform(0.1, 0.9, (2, 576, 2)), rng.uniform(0.05, 0.4, (2, 576, 2))], axis=-1)
    outputs = SimpleNamespace(logits=rng.normal(-4, 2.5, (2, 576, 3)).astype(np.float32), pred_boxes=boxes.astype(np.float32))
    queries = [["a photo of a cat", "a photo of a dog", "remote control"], ["cat", "dog", " "]]
    return [
        ("grounded", "post_process_grounded_object_detection", {"outputs": outputs, "threshold": 0.1, "target_sizes": [(480, 640), (45, 70)], "text_labels": queries}),
        ("grounded_without_labels", "post_process_grounded_object_detection", {"outputs": outputs, "threshold": 0.2}),
    ]  # fmt: skip


def post_processing(processor, cases, writer: Writer) -> list[dict]:
    results = []
    for key, method, args in cases:
        stored = writer.encode(args, f"{key}.args")
        torch_args = {k: SimpleNamespace(**{f: torch.from_numpy(v) for f, v in vars(v).items()}) if isinstance(v, SimpleNamespace) else v for k, v in args.items()}
        result = getattr(processor, method)(**torch_args)
        results.append({"key": key, "method": method, "args": stored, "expected": writer.encode(result, f"{key}.result")})
    return results


def clip_tokenizer(folder: Path) -> CLIPTokenizerFast:
    alphabet = sorted(ByteLevel.alphabet())
    tokens = [*alphabet, *(ch + "</w>" for ch in alphabet)]
    merges = []
    for word in WORDS:
        pieces = [*word[:-1], word[-1] + "</w>"]
        while len(pieces) > 1:
            merges.append(f"{pieces[0]} {pieces[1]}")
            pieces = [pieces[0] + pieces[1], *pieces[2:]]
            if pieces[0] not in tokens:
                tokens.append(pieces[0])
    merges = list(dict.fromkeys(merges))
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}))
        (Path(tmp) / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
        return CLIPTokenizerFast(vocab_file=f"{tmp}/vocab.json", merges_file=f"{tmp}/merges.txt", pad_token="!",
                                 model_max_length=16)  # fmt: skip


def call_inputs(call: dict) -> dict:
    call = dict(call)
    for name in ("images", "query_images"):
        if name in call:
            call[name] = [load(spec) for spec in call[name]]
    if "segmentation_maps" in call:
        call["segmentation_maps"] = [label_map(spec) for spec in call["segmentation_maps"]]
    return call


def build(name: str, processor, cases: list[dict], post_cases=()) -> None:
    folder = OUT / name
    if folder.exists():
        shutil.rmtree(folder)
    processor.save_pretrained(folder)
    processor = AutoProcessor.from_pretrained(folder)
    writer, spec = Writer(), {"class": type(processor).__name__, "cases": []}
    for case in cases:
        out = processor(**call_inputs(case["call"]))
        stride = case.setdefault("stride", 16)
        expected = {}
        for field, value in out.items():
            value = value.numpy() if hasattr(value, "numpy") else value
            if field.endswith("pixel_values"):
                value = np.asarray(value)[..., ::stride, ::stride]
            expected[field] = writer.encode(value, f"{case['key']}.{field}")
        spec["cases"].append({**case, "expected": expected})
    spec["post_processing"] = post_processing(processor, post_cases, writer)
    (folder / "cases.json").write_text(json.dumps(spec, indent=1) + "\n")
    writer.save(folder / "expected.npz")
    print(name, sorted(p.name for p in folder.iterdir()), (folder / "expected.npz").stat().st_size)


if __name__ == "__main__":
    sam_images = AutoImageProcessor.from_pretrained(FIXTURES / "image_processors" / "sam", use_fast=False)
    build("sam", SamProcessor(sam_images), SAM_CASES)
    owlvit_images = AutoImageProcessor.from_pretrained(FIXTURES / "image_processors" / "owlvit", use_fast=False)
    with tempfile.TemporaryDirectory() as tmp:
        build("owlvit", OwlViTProcessor(owlvit_images, clip_tokenizer(Path(tmp))), OWLVIT_CASES, owlvit_post_processing())
