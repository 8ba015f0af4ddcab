"""End-to-end text-to-speech references from transformers 4.57.6 with the tiny fixtures, written to
tests/fixtures/text_to_speech/<name>/ (cases.json + expected.npz).

VITS: VitsTokenizer -> VitsModel -> waveform (tests/fixtures/tokenizers/vits, tests/fixtures/models/vits/VitsModel):

- `deterministic`: the checkpoint's noise_scale and noise_scale_duration (both 0), a padded batch and one text;
  every framework must give these waveforms.
- `seeded`: noise_scale 0.667 and noise_scale_duration 0.8 (passed to from_pretrained, which sets the config
  transformers' VitsModel copies at construction) with torch.manual_seed(seed) just before the call: PyTorch draws
  the same noise as transformers and must give these waveforms; TensorFlow and Flax draw from their own generators.

SpeechT5: SpeechT5Processor -> SpeechT5ForTextToSpeech.generate_speech(vocoder=SpeechT5HifiGan) -> waveform
(tests/fixtures/processors/speecht5, models/speecht5/SpeechT5ForTextToSpeech, models/hifigan/SpeechT5HifiGan: 8 mel
bins both). The checkpoint's speech_decoder_prenet_dropout is 0, so generation is deterministic; the random model's
stop probability never reaches threshold 1.1, so maxlenratio sets the length.

Run in the side environment that has transformers: `python scripts/reference/text_to_speech.py`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import transformers
from transformers import SpeechT5ForTextToSpeech, SpeechT5HifiGan, SpeechT5Processor, VitsModel, VitsTokenizer

assert transformers.__version__ == "4.57.6", transformers.__version__

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"
MODEL = FIXTURES / "models" / "vits" / "VitsModel"
TOKENIZER = FIXTURES / "tokenizers" / "vits"
OUT = FIXTURES / "text_to_speech" / "vits"
NOISE = {"noise_scale": 0.667, "noise_scale_duration": 0.8}
CASES = [
    {"key": "batch", "text": ["Hello world!", "A cat."], "call": {"padding": True}, "load": {}},
    {"key": "one", "text": "Speech, 2 words", "call": {}, "load": {}},
    {"key": "seeded_batch", "text": ["Hello world!", "A cat."], "call": {"padding": True}, "load": NOISE, "seed": 1234},
    {"key": "seeded_one", "text": "Speech, 2 words", "call": {}, "load": NOISE, "seed": 7},
]  # fmt: skip


SPEECHT5_OUT = FIXTURES / "text_to_speech" / "speecht5"
SPEECHT5_CASES = [
    {"key": "one", "text": "Hello, my dog is cute.", "call": {}, "speakers": 1,
     "generate": {"threshold": 1.1, "maxlenratio": 1.0}},
    {"key": "batch", "text": ["Hello there", "It costs $5."], "call": {"padding": True, "normalize": True}, "speakers": 2,
     "generate": {"threshold": 1.1, "maxlenratio": 1.5, "return_output_lengths": True}},
]  # fmt: skip


def speecht5() -> None:
    SPEECHT5_OUT.mkdir(parents=True, exist_ok=True)
    processor = SpeechT5Processor.from_pretrained(FIXTURES / "processors" / "speecht5")
    model = SpeechT5ForTextToSpeech.from_pretrained(FIXTURES / "models" / "speecht5" / "SpeechT5ForTextToSpeech").eval()
    vocoder = SpeechT5HifiGan.from_pretrained(FIXTURES / "models" / "hifigan" / "SpeechT5HifiGan").eval()
    rng = np.random.default_rng(0)
    arrays = {}
    spec = {"processor": "processors/speecht5", "model": "models/speecht5/SpeechT5ForTextToSpeech",
            "vocoder": "models/hifigan/SpeechT5HifiGan", "cases": SPEECHT5_CASES}  # fmt: skip
    for case in SPEECHT5_CASES:
        inputs = processor(text=case["text"], return_tensors="pt", **case["call"])
        speakers = rng.normal(size=(case["speakers"], model.config.speaker_embedding_dim)).astype(np.float32)
        with torch.no_grad():
            result = model.generate_speech(inputs["input_ids"], torch.from_numpy(speakers),
                                           attention_mask=inputs.get("attention_mask"), vocoder=vocoder,
                                           **case["generate"])  # fmt: skip
        waveform, lengths = result if isinstance(result, tuple) else (result, None)
        key = case["key"]
        arrays.update({f"{key}.{name}": value.numpy() for name, value in inputs.items()})
        arrays[f"{key}.speaker_embeddings"] = speakers
        arrays[f"{key}.waveform"] = waveform.numpy()
        if lengths is not None:
            arrays[f"{key}.waveform_lengths"] = np.asarray(lengths)
        print("speecht5", key, tuple(waveform.shape), None if lengths is None else list(lengths))
    (SPEECHT5_OUT / "cases.json").write_text(json.dumps(spec, indent=1) + "\n")
    np.savez_compressed(SPEECHT5_OUT / "expected.npz", **arrays)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    tokenizer = VitsTokenizer.from_pretrained(TOKENIZER)
    arrays, spec = {}, {"model": "models/vits/VitsModel", "tokenizer": "tokenizers/vits", "cases": []}
    for case in CASES:
        model = VitsModel.from_pretrained(MODEL, **case["load"]).eval()
        inputs = tokenizer(case["text"], return_tensors="pt", **case["call"])
        if "seed" in case:
            torch.manual_seed(case["seed"])
        with torch.no_grad():
            out = model(**inputs)
        key = case["key"]
        for name, value in [*inputs.items(), ("waveform", out.waveform), ("sequence_lengths", out.sequence_lengths)]:
            arrays[f"{key}.{name}"] = value.numpy()
        spec["cases"].append(case)
        print(key, tuple(out.waveform.shape), out.sequence_lengths.tolist())
    (OUT / "cases.json").write_text(json.dumps(spec, indent=1) + "\n")
    np.savez_compressed(OUT / "expected.npz", **arrays)


if __name__ == "__main__":
    main()
    speecht5()
