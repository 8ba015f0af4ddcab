"""More SpeechT5 preprocessing references from transformers 4.57.6, beside multimodal_processors.py's Hub-default ones:

- tests/fixtures/feature_extractors/speecht5_custom/: a feature extractor whose window is not a power of two in
  samples (25 ms at 16 kHz: 400 samples in a 512-point FFT), 10 ms hop, 40 mel bins from 0 Hz to 8 kHz, mel_floor
  1e-5, do_normalize=True, left padding; waveforms and log-mel targets, padded, truncated and both at once.
- tests/fixtures/processors/speecht5_decode/: a SpeechT5Processor (character SentencePiece model trained here, with
  <mask> and <ctc_blank> as the Hub checkpoint has them, and that extractor) with calls routed by keyword
  (text / audio / text_target / audio_target; runs of characters the model does not know are one <unk>, as
  SentencePiece merges them) and its decode / batch_decode as post-processing cases.

Run in the side environment that has transformers: `python scripts/reference/speecht5_preprocessing.py`.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile

import numpy as np
import transformers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_decoder_tokenizers import train_sentencepiece  # noqa: E402
from multimodal_processors import FIXTURES, build, load_audio  # noqa: E402

assert transformers.__version__ == "4.57.6", transformers.__version__

CUSTOM = {
    "do_normalize": True, "feature_extractor_type": "SpeechT5FeatureExtractor", "feature_size": 1, "fmax": 8000,
    "fmin": 0, "frame_signal_scale": 1.0, "hop_length": 10, "mel_floor": 1e-5, "num_mel_bins": 40,
    "padding_side": "left", "padding_value": 0.0, "processor_class": "SpeechT5Processor", "reduction_factor": 2,
    "return_attention_mask": True, "sampling_rate": 16000, "win_function": "hann_window", "win_length": 25,
}  # fmt: skip
EXTRACTOR_CASES = {
    "one_waveform": {"audio": ["a1.npy[4000:6000]"], "call": {"sampling_rate": 16000, "return_tensors": "np"}},
    "waveform_batch_left": {"audio": ["a1.npy[:3000]", "a2.npy[:1700]"], "call": {"padding": True, "return_tensors": "np"}},
    "normalized_without_mask": {"audio": ["a1.npy[:3000]", "a2.npy[:1700]"], "call": {"padding": True, "return_attention_mask": False, "return_tensors": "np"}},
    "waveform_max_length": {"audio": ["a1.npy[:3000]", "a2.npy[:1700]"], "call": {"padding": "max_length", "max_length": 2500, "truncation": True, "return_tensors": "np"}},
    "one_target": {"audio": [], "audio_target": ["a2.npy[:7000]"], "call": {"return_tensors": "np"}},
    "target_batch": {"audio": [], "audio_target": ["a1.npy[:9000]", "a2.npy[:4000]"], "call": {"padding": "longest", "pad_to_multiple_of": 8, "return_tensors": "np"}},
    "target_truncated": {"audio": [], "audio_target": ["a1.npy[:9000]", "a2.npy[:4000]"], "call": {"padding": "max_length", "max_length": 30, "truncation": True, "return_tensors": "np"}},
    "both": {"audio": ["a2.npy[:2000]", "a1.npy[:1000]"], "audio_target": ["a1.npy[:6000]", "a2.npy[:2600]"], "call": {"padding": True, "return_tensors": "np"}},
}  # fmt: skip


def feature_extractor() -> None:
    folder = FIXTURES / "feature_extractors" / "speecht5_custom"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "preprocessor_config.json").write_text(json.dumps(CUSTOM, indent=2, sort_keys=True) + "\n")
    extractor = transformers.AutoFeatureExtractor.from_pretrained(folder)
    assert extractor.n_fft == 512 and extractor.sample_size == 400
    arrays = {}
    for key, case in EXTRACTOR_CASES.items():
        call = dict(case["call"])
        audio = [load_audio(spec) for spec in case["audio"]]
        targets = [load_audio(spec) for spec in case.get("audio_target", [])]
        if targets:
            call["audio_target"] = targets if len(targets) > 1 else targets[0]
        out = extractor((audio if len(audio) > 1 else audio[0]) if audio else None, **call)
        for field, value in out.items():
            arrays[f"{key}_{field}"] = np.asarray(value)
    spec = {"class": type(extractor).__name__, "cases": EXTRACTOR_CASES}
    (folder / "cases.json").write_text(json.dumps(spec, indent=1) + "\n")
    np.savez_compressed(folder / "expected.npz", **arrays)
    print("speecht5_custom feature extractor", (folder / "expected.npz").stat().st_size)


def processor(tmp: str) -> None:
    model = os.path.join(tmp, "spm_char.model")
    train_sentencepiece(model, model_type="char", vocab_size=80, character_coverage=1.0, normalization_rule_name="identity",
                        bos_id=0, pad_id=1, eos_id=2, unk_id=3, bos_piece="<s>", pad_piece="<pad>", eos_piece="</s>",
                        unk_piece="<unk>")  # fmt: skip
    tokenizer = transformers.SpeechT5Tokenizer(model, model_max_length=600)
    tokenizer.add_special_tokens({"mask_token": "<mask>"})
    tokenizer.add_tokens(["<ctc_blank>"])
    extractor = transformers.SpeechT5FeatureExtractor(**{k: v for k, v in CUSTOM.items()
                                                          if k not in ("feature_extractor_type", "processor_class")})  # fmt: skip
    cases = [
        {"key": "text_normalized", "call": {"text": "Call me at 9:30, it's 42% off!", "normalize": True, "return_tensors": "np"}},
        {"key": "unknown_runs", "call": {"text": ["a漢字b漢 ΩΨ", "字<mask>字字"], "padding": True}},
        {"key": "text_pair_batch", "call": {"text": ["Hi there", "a"], "padding": "max_length", "max_length": 12, "return_attention_mask": True, "return_tensors": "np"}},
        {"key": "text_and_audio_target", "call": {"text": "Hello", "audio_target": ["a2.npy[:3000]"], "return_tensors": "np"}},
        {"key": "audio_and_text_target", "call": {"audio": ["a1.npy[:1500]", "a2.npy[:900]"], "text_target": ["yes", "no way"], "padding": True, "return_tensors": "np"}},
        {"key": "audio_target_batch", "call": {"audio_target": ["a1.npy[:4000]", "a2.npy[:2000]"], "padding": True, "return_tensors": "np"}},
        {"key": "text_and_audio", "call": {"text": "x", "audio": ["a1.npy[:100]"]}},
        {"key": "both_targets", "call": {"text_target": "x", "audio_target": ["a1.npy[:1000]"]}},
    ]  # fmt: skip
    build("speecht5_decode", transformers.SpeechT5Processor(extractor, tokenizer), cases)
    folder = FIXTURES / "processors" / "speecht5_decode"
    loaded = transformers.AutoProcessor.from_pretrained(folder)
    ids = [loaded.tokenizer("Hello, my dog is 3!")["input_ids"],
           loaded.tokenizer("<mask> and <ctc_blank> inside </s> here")["input_ids"] + [1, 1]]  # fmt: skip
    post = []
    for key, method, args in [
        ("batch_decode", "batch_decode", {"sequences": ids}),
        ("batch_decode_skip", "batch_decode", {"sequences": ids, "skip_special_tokens": True}),
        ("decode", "decode", {"token_ids": ids[1]}),
        ("decode_skip", "decode", {"token_ids": ids[1], "skip_special_tokens": True}),
        ("decode_no_spaces", "decode", {"token_ids": ids[1], "spaces_between_special_tokens": False}),
    ]:
        post.append({"key": key, "method": method, "args": args, "expected": getattr(loaded, method)(**args)})
    spec = json.loads((folder / "cases.json").read_text())
    spec["post_processing"] = post
    (folder / "cases.json").write_text(json.dumps(spec, indent=1) + "\n")


if __name__ == "__main__":
    feature_extractor()
    with tempfile.TemporaryDirectory() as tmp:
        processor(tmp)
