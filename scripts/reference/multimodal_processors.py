"""Reference outputs of transformers 4.57.6 for the ViLT, BLIP, LayoutLMv3, SpeechT5 and LLaVA processors and the
SpeechT5 feature extractor, written to tests/fixtures/processors/<name>/ (the processor as save_pretrained writes
it, cases.json, expected.npz; the layout of vision_processors.py) and tests/fixtures/feature_extractors/speecht5/.

Run in the side environment that has transformers: `python scripts/reference/multimodal_processors.py`.

The tokenizers are small ones trained here (a WordPiece vocabulary for ViLT's and BLIP's BERT tokenizers, a
byte-level BPE for LayoutLMv3, a character SentencePiece model without a normalisation table for SpeechT5, a
SentencePiece BPE for LLaVA's Llama tokenizer with <image> added), configured as the Hub checkpoints configure
them (dandelin/vilt-b32-finetuned-vqa, Salesforce/blip-image-captioning-base, microsoft/layoutlmv3-base,
microsoft/speecht5_tts, llava-hf/llava-1.5-7b-hf) but with small image sizes. A case's `call` names images by
spec (reference_io.py) and audio by file in tests/fixtures/audio; LLaVA's `chat` holds apply_chat_template calls
(images given as specs under "image" in the messages).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import transformers
from reference_io import FIXTURES, Writer, load
from transformers import AutoProcessor, AutoTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_decoder_tokenizers import train_byte_level, train_sentencepiece  # noqa: E402
from multimodal_tokenizers import (  # noqa: E402
    BOXES,
    LABELS,
    QUESTION,
    SHORT_BOXES,
    SHORT_LABELS,
    SHORT_WORDS,
    WORDS,
    train_wordpiece_vocab,
)

assert transformers.__version__ == "4.57.6", transformers.__version__

OUT = FIXTURES / "processors"
AUDIO = FIXTURES / "audio"
CROP_WIDE, CROP_TALL = "rgb.png crop 200,100,270,145", "rgb.png crop 400,200,440,290"
CLIP_MEAN, CLIP_STD = [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]
QUESTIONS = ["How many cats are there?", "What color is the remote control?"]


def load_audio(spec: str) -> np.ndarray:
    """An audio file of tests/fixtures/audio, optionally a slice of it: "a1.npy[1000:5000]"."""
    name, _, piece = spec.partition("[")
    audio = np.load(AUDIO / name)
    if piece:
        start, stop = (int(v) if v else None for v in piece.rstrip("]").split(":"))
        audio = audio[start:stop]
    return audio


def call_inputs(call: dict) -> dict:
    call = copy.deepcopy(call)
    for name in ("images",):
        if name in call:
            call[name] = [load(spec) for spec in call[name]]
    for name in ("audio", "audio_target"):
        if name in call:
            call[name] = [load_audio(spec) for spec in call[name]]
    return call


def conversation_inputs(conversation):
    conversation = copy.deepcopy(conversation)
    if conversation and isinstance(conversation[0], list):
        return [conversation_inputs(one) for one in conversation]
    for message in conversation:
        for item in message["content"] if isinstance(message["content"], list) else []:
            if item.get("type") == "image" and "image" in item:
                item["image"] = load(item["image"])
    return conversation


def build(name: str, processor, cases: list[dict], chat: list[dict] = ()) -> None:
    folder = OUT / name
    if folder.exists():
        shutil.rmtree(folder)
    processor.save_pretrained(folder)
    processor = AutoProcessor.from_pretrained(folder)
    writer, spec = Writer(), {"class": type(processor).__name__, "cases": [], "chat": []}
    for case in cases:
        stride = case.setdefault("stride", 1)
        try:
            out = processor(**call_inputs(case["call"]))
        except Exception as exc:  # noqa: BLE001 - the reference records that transformers raised
            spec["cases"].append({**case, "error": f"{type(exc).__name__}: {exc}"[:300]})
            continue
        expected = {}
        for field, value in out.items():
            if field.endswith("pixel_values") and stride > 1:
                value = np.asarray(value.numpy() if hasattr(value, "numpy") else value)[..., ::stride, ::stride]
            expected[field] = writer.encode(value, f"{case['key']}.{field}")
        spec["cases"].append({**case, "expected": expected})
    for index, item in enumerate(chat):
        kwargs = {k: v for k, v in item.items() if k != "conversation"}
        try:
            out = processor.apply_chat_template(conversation_inputs(item["conversation"]), **kwargs)
        except Exception as exc:  # noqa: BLE001
            spec["chat"].append({**item, "error": f"{type(exc).__name__}: {exc}"[:300]})
            continue
        if hasattr(out, "keys"):
            out = {k: v for k, v in out.items()}
        spec["chat"].append({**item, "expected": writer.encode(out, f"chat{index}")})
    (folder / "cases.json").write_text(json.dumps(spec, indent=1, ensure_ascii=False) + "\n")
    writer.save(folder / "expected.npz")
    print(name, sorted(p.name for p in folder.iterdir()), (folder / "expected.npz").stat().st_size)


# --- the tokenizers ------------------------------------------------------------------------------------------------

def bert_vocab(tmp: str) -> str:
    path = os.path.join(tmp, "vocab.txt")
    if not os.path.exists(path):
        lines = QUESTIONS + ["a photo of two cats lying on a pink blanket", "the remote control is black and white"]
        train_wordpiece_vocab(path, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], lines, 500)
    return path


# --- ViLT --------------------------------------------------------------------------------------------------------

def vilt(tmp: str) -> None:
    images = transformers.ViltImageProcessor(size={"shortest_edge": 64}, size_divisor=32, resample=3,
                                             image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])  # fmt: skip
    tokenizer = transformers.BertTokenizerFast(bert_vocab(tmp), model_max_length=40)
    cases = [
        {"key": "vqa", "call": {"images": ["rgb.png"], "text": QUESTIONS[0], "return_tensors": "pt"}},
        {"key": "batch_padded", "call": {"images": [CROP_WIDE, CROP_TALL], "text": QUESTIONS, "padding": "max_length",
                                         "truncation": True, "return_tensors": "np"}},
        {"key": "lists", "call": {"images": [CROP_TALL, CROP_WIDE], "text": QUESTIONS, "padding": True}},
        {"key": "image_options", "call": {"images": [CROP_WIDE], "text": "cats?", "size_divisor": 16, "size": {"shortest_edge": 48}, "return_tensors": "np"}},
        {"key": "text_only", "call": {"text": QUESTIONS, "padding": "longest", "return_tensors": "np"}},
        {"key": "images_only", "call": {"images": [CROP_WIDE, CROP_TALL], "return_tensors": "np"}},
        {"key": "nested_kwargs", "call": {"images": [CROP_WIDE], "text": QUESTIONS[1], "text_kwargs": {"max_length": 6, "truncation": True}, "images_kwargs": {"do_pad": False}, "return_tensors": "np"}},
        {"key": "nothing", "call": {}},
    ]  # fmt: skip
    build("vilt", transformers.ViltProcessor(images, tokenizer), cases)


# --- BLIP ------------------------------------------------------------------------------------------------------------

def blip(tmp: str) -> None:
    images = transformers.BlipImageProcessor(size={"height": 48, "width": 48}, image_mean=CLIP_MEAN, image_std=CLIP_STD)
    tokenizer = transformers.BertTokenizerFast(bert_vocab(tmp), bos_token="[DEC]", additional_special_tokens=["[ENC]"],
                                               model_max_length=512)  # fmt: skip
    cases = [
        {"key": "caption_prompt", "call": {"images": ["rgb.png"], "text": "a photo of", "return_tensors": "pt"}},
        {"key": "vqa_batch", "call": {"images": [CROP_WIDE, CROP_TALL], "text": QUESTIONS, "padding": True, "return_tensors": "np"}},
        {"key": "images_only", "call": {"images": [CROP_TALL], "return_tensors": "np"}},
        {"key": "text_only", "call": {"text": QUESTIONS, "padding": "max_length", "max_length": 12, "truncation": True}},
        {"key": "token_types_asked", "call": {"text": QUESTIONS[0], "return_token_type_ids": True}},
        {"key": "image_list_out", "call": {"images": [CROP_WIDE, "rgba.png"], "text": ["[DEC] a", "[ENC] b"], "size": {"height": 24, "width": 20}}},
        {"key": "nothing", "call": {}},
    ]  # fmt: skip
    build("blip", transformers.BlipProcessor(images, tokenizer), cases)


# --- LayoutLMv3 ---------------------------------------------------------------------------------------------------

def layoutlmv3(tmp: str) -> None:
    images = transformers.LayoutLMv3ImageProcessor(size={"height": 32, "width": 32}, apply_ocr=False)
    folder = os.path.join(tmp, "layoutlmv3-bpe")
    os.makedirs(folder)
    train_byte_level(700, qwen=False, special=["<s>", "<pad>", "</s>", "<unk>"]).model.save(folder)
    tokenizer = transformers.LayoutLMv3TokenizerFast(os.path.join(folder, "vocab.json"), os.path.join(folder, "merges.txt"))
    cases = [
        {"key": "words", "call": {"images": ["rgb.png"], "text": WORDS, "boxes": BOXES, "return_tensors": "pt"}},
        {"key": "labels", "call": {"images": [CROP_WIDE], "text": WORDS, "boxes": BOXES, "word_labels": LABELS, "return_tensors": "np"}},
        {"key": "question", "call": {"images": [CROP_TALL], "text": QUESTION, "text_pair": WORDS, "boxes": BOXES, "truncation": "only_second", "max_length": 24}},
        {"key": "batch", "call": {"images": [CROP_WIDE, CROP_TALL], "text": [WORDS, SHORT_WORDS], "boxes": [BOXES, SHORT_BOXES],
                                  "word_labels": [LABELS, SHORT_LABELS], "padding": True, "return_tensors": "np"}},
        {"key": "overflow", "call": {"images": [CROP_WIDE], "text": WORDS, "boxes": BOXES, "truncation": True, "max_length": 16, "stride": 2,
                                     "return_overflowing_tokens": True, "padding": "max_length"}},
        {"key": "overflow_np", "call": {"images": [CROP_WIDE, CROP_TALL], "text": [WORDS, SHORT_WORDS], "boxes": [BOXES, SHORT_BOXES], "truncation": True,
                                        "max_length": 16, "return_overflowing_tokens": True, "padding": "max_length", "return_tensors": "np"}},
        {"key": "no_boxes", "call": {"images": [CROP_WIDE], "text": WORDS}},
    ]  # fmt: skip
    build("layoutlmv3", transformers.LayoutLMv3Processor(images, tokenizer), cases)


# --- SpeechT5 ----------------------------------------------------------------------------------------------------

SPEECHT5_HUB = {
    "do_normalize": False, "feature_extractor_type": "SpeechT5FeatureExtractor", "feature_size": 1, "fmax": 7600,
    "fmin": 80, "frame_signal_scale": 1.0, "hop_length": 16, "mel_floor": 1e-10, "num_mel_bins": 80,
    "padding_side": "right", "padding_value": 0.0, "processor_class": "SpeechT5Processor", "reduction_factor": 2,
    "return_attention_mask": True, "sampling_rate": 16000, "win_function": "hann_window", "win_length": 64,
}  # fmt: skip
SPEECHT5_EXTRACTOR_CASES = {
    "one_waveform": {"audio": ["a1.npy[4000:6000]"], "call": {"sampling_rate": 16000, "return_tensors": "np"}},
    "waveform_batch": {"audio": ["a1.npy[:3000]", "a2.npy[:1700]"], "call": {"sampling_rate": 16000, "padding": True, "return_tensors": "np"}},
    "waveform_truncated": {"audio": ["a1.npy[:3000]", "a2.npy[:1700]"], "call": {"padding": "max_length", "max_length": 2500, "truncation": True, "return_tensors": "np"}},
    "one_target": {"audio": [], "audio_target": ["a1.npy"], "call": {"sampling_rate": 16000, "return_tensors": "np"}},
    "target_batch": {"audio": [], "audio_target": ["a1.npy[:9000]", "a2.npy[:4000]"], "call": {"padding": True, "pad_to_multiple_of": 4, "return_tensors": "np"}},
    "both": {"audio": ["a2.npy[:2000]"], "audio_target": ["a1.npy[:6000]"], "call": {"sampling_rate": 16000, "return_tensors": "np"}},
    "no_mask": {"audio": ["a1.npy[:300]", "a2.npy[:500]"], "call": {"padding": "longest", "return_attention_mask": False, "return_tensors": "np"}},
    "longest_with_truncation": {"audio": ["a1.npy[:300]", "a2.npy[:500]"], "call": {"padding": True, "truncation": True, "max_length": 200, "return_tensors": "np"}},
}  # fmt: skip


def speecht5_feature_extractor() -> None:
    folder = FIXTURES / "feature_extractors" / "speecht5"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "preprocessor_config.json").write_text(json.dumps(SPEECHT5_HUB, indent=2, sort_keys=True) + "\n")
    extractor = transformers.AutoFeatureExtractor.from_pretrained(folder)
    arrays = {}
    for key, case in SPEECHT5_EXTRACTOR_CASES.items():
        call = dict(case["call"])
        audio = [load_audio(spec) for spec in case["audio"]]
        targets = [load_audio(spec) for spec in case.get("audio_target", [])]
        if targets:
            call["audio_target"] = targets if len(targets) > 1 else targets[0]
        out = extractor((audio if len(audio) > 1 else audio[0]) if audio else None, **call)
        for field, value in out.items():
            arrays[f"{key}_{field}"] = np.asarray(value)
    (folder / "cases.json").write_text(json.dumps({"class": type(extractor).__name__, "cases": SPEECHT5_EXTRACTOR_CASES}, indent=1) + "\n")
    np.savez_compressed(folder / "expected.npz", **arrays)
    print("speecht5 feature extractor", (folder / "expected.npz").stat().st_size)


def speecht5(tmp: str) -> None:
    model = os.path.join(tmp, "spm_char.model")
    train_sentencepiece(model, model_type="char", vocab_size=80, character_coverage=1.0, normalization_rule_name="identity",
                        bos_id=0, pad_id=1, eos_id=2, unk_id=3, bos_piece="<s>", pad_piece="<pad>", eos_piece="</s>",
                        unk_piece="<unk>")  # fmt: skip
    tokenizer = transformers.SpeechT5Tokenizer(model, model_max_length=600, normalize=True)
    tokenizer.add_special_tokens({"mask_token": "<mask>"})
    tokenizer.add_tokens(["<ctc_blank>"])
    extractor = transformers.SpeechT5FeatureExtractor(**{**SPEECHT5_HUB, "do_normalize": True})
    cases = [
        {"key": "text", "call": {"text": "Hello, my dog is 3 years old.", "return_tensors": "np"}},
        {"key": "text_and_target", "call": {"text": ["Hello there", "It costs $5."], "audio_target": ["a1.npy[:5000]", "a2.npy[:3000]"], "padding": True, "sampling_rate": 16000, "return_tensors": "np"}},
        {"key": "audio", "call": {"audio": ["a1.npy[:2000]", "a2.npy[:1500]"], "padding": True, "sampling_rate": 16000, "return_tensors": "np"}},
        {"key": "audio_and_text_target", "call": {"audio": ["a2.npy[:2500]"], "text_target": "Hello there", "sampling_rate": 16000, "return_tensors": "np"}},
        {"key": "text_target_only", "call": {"text_target": ["one", "two 2"], "padding": True}},
        {"key": "audio_target_only", "call": {"audio_target": ["a1.npy[:4000]"], "sampling_rate": 16000, "return_tensors": "np"}},
        {"key": "audio_and_text", "call": {"audio": ["a1.npy[:100]"], "text": "no"}},
        {"key": "nothing", "call": {}},
    ]  # fmt: skip
    build("speecht5", transformers.SpeechT5Processor(extractor, tokenizer), cases)


# --- LLaVA ------------------------------------------------------------------------------------------------------

LLAVA_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] != 'system' %}{{ message['role'].upper() + ': '}}{% endif %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>\n' }}{% endfor %}"
    "{% if message['role'] != 'assistant' %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
    "{{ content['text'] + ' '}}{% endfor %}{% else %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
    "{% generation %}{{ content['text'] + ' '}}{% endgeneration %}{% endfor %}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"
)


def llava(tmp: str) -> None:
    model = os.path.join(tmp, "tokenizer.model")
    train_sentencepiece(model, model_type="bpe", vocab_size=500, byte_fallback=True, character_coverage=0.98,
                        normalization_rule_name="identity", unk_id=0, bos_id=1, eos_id=2, pad_id=-1)  # fmt: skip
    hub = os.path.join(tmp, "llava-tokenizer")
    os.makedirs(hub)
    shutil.copy(model, os.path.join(hub, "tokenizer.model"))
    config = {"add_bos_token": True, "add_eos_token": False, "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
              "pad_token": "<pad>", "legacy": False, "model_max_length": 4096, "padding_side": "left",
              "tokenizer_class": "LlamaTokenizer", "clean_up_tokenization_spaces": False}  # fmt: skip
    (Path(hub) / "tokenizer_config.json").write_text(json.dumps(config))
    tokenizer = AutoTokenizer.from_pretrained(hub)
    tokenizer.add_tokens([transformers.AddedToken("<image>", special=True, normalized=False)], special_tokens=True)
    images = transformers.CLIPImageProcessor(size={"shortest_edge": 56}, crop_size={"height": 56, "width": 56},
                                             image_mean=CLIP_MEAN, image_std=CLIP_STD)  # fmt: skip
    processor = transformers.LlavaProcessor(images, tokenizer, patch_size=14, vision_feature_select_strategy="default",
                                            chat_template=LLAVA_TEMPLATE, num_additional_image_tokens=1)  # fmt: skip
    prompt = "USER: <image>\nWhat is shown in this image? ASSISTANT:"
    cases = [
        {"key": "one_image", "call": {"images": ["rgb.png"], "text": prompt, "return_tensors": "pt"}},
        {"key": "batch", "call": {"images": [CROP_WIDE, CROP_TALL], "text": [prompt, "USER: <image>\nDescribe. ASSISTANT: It is"], "padding": True, "return_tensors": "np"}},
        {"key": "two_images_one_prompt", "call": {"images": [CROP_WIDE, CROP_TALL], "text": "USER: <image> and <image>\nCompare. ASSISTANT:", "return_tensors": "np"}},
        {"key": "text_only", "call": {"text": ["USER: Hello! ASSISTANT:", "Hi"], "padding": True}},
        {"key": "mm_token_types", "call": {"images": [CROP_TALL], "text": prompt, "return_mm_token_type_ids": True}},
        {"key": "truncated", "call": {"images": [CROP_TALL], "text": prompt, "truncation": True, "max_length": 10}},
        {"key": "image_kwargs", "call": {"images": [CROP_TALL], "text": prompt, "crop_size": {"height": 28, "width": 42}, "return_tensors": "np"}},
        {"key": "images_only", "call": {"images": [CROP_TALL]}},
    ]  # fmt: skip
    conversation = [{"role": "user", "content": [{"type": "image", "image": CROP_WIDE}, {"type": "text", "text": "What is this?"}]},
                    {"role": "assistant", "content": [{"type": "text", "text": "A cat."}]},
                    {"role": "user", "content": [{"type": "text", "text": "And the color?"}]}]  # fmt: skip
    two = [{"role": "user", "content": [{"type": "image", "image": CROP_WIDE}, {"type": "image", "image": CROP_TALL},
                                         {"type": "text", "text": "Same?"}]}]  # fmt: skip
    chat = [
        {"conversation": conversation, "add_generation_prompt": True},
        {"conversation": conversation, "add_generation_prompt": True, "tokenize": True},
        {"conversation": conversation, "add_generation_prompt": True, "tokenize": True, "return_dict": True, "return_tensors": "np"},
        {"conversation": two, "add_generation_prompt": True, "tokenize": True, "return_dict": True},
        {"conversation": [conversation[:1], two], "add_generation_prompt": True, "tokenize": True, "return_dict": True, "padding": True, "return_tensors": "np"},
        {"conversation": conversation[:2], "tokenize": True, "return_dict": True, "return_assistant_tokens_mask": True},
        {"conversation": conversation, "continue_final_message": True},
        {"conversation": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}], "add_generation_prompt": True, "chat_template": "{{ messages[0]['content'][0]['text'] }}!"},
    ]  # fmt: skip
    build("llava", processor, cases, chat)


if __name__ == "__main__":
    speecht5_feature_extractor()
    with tempfile.TemporaryDirectory() as tmp:
        vilt(tmp)
        blip(tmp)
        layoutlmv3(tmp)
        speecht5(tmp)
        llava(tmp)
