"""Reference outputs of transformers 4.57.6's Wav2Vec2FeatureExtractor and Wav2Vec2Processor with the settings
HuBERT and WavLM checkpoints use, loaded the way users load them (AutoFeatureExtractor / AutoProcessor on a
folder with the model's config.json).

Run in the side environment that has transformers: `python scripts/reference/speech_preprocessing.py`. Writes

- tests/fixtures/speech_preprocessing/feature_extractors/<name>/: config.json, preprocessor_config.json,
  cases.json (`class`, `cases`: key -> audio specs, call keywords and each field's container: "array", or for
  one array per example "list" / "object array" with arrays `<key>_<field>_<i>`) and expected.npz (arrays
  `<key>_<field>`).
  An audio spec is "<file in tests/fixtures/audio>[start:stop]": a slice of the clip, to keep the data small. The folders follow the Hub checkpoints: HuBERT base (group norm: no attention mask,
  normalised), HuBERT large fine-tuned (layer norm: attention mask, normalised), WavLM base plus (attention
  mask, not normalised; no feature_extractor_type, so the model type picks the class) and WavLM large.
- tests/fixtures/speech_preprocessing/processors/<name>/: a processor folder (small character vocabulary) with cases.json (`class`,
  `cases`: key -> call keywords with audio file names) and expected.npz; the WavLM one names no processor_class
  anywhere, so AutoProcessor goes by model type.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from transformers import (
    AutoFeatureExtractor,
    AutoProcessor,
    HubertConfig,
    Wav2Vec2CTCTokenizer,
    Wav2Vec2FeatureExtractor,
    Wav2Vec2Processor,
    WavLMConfig,
)

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"
AUDIO = FIXTURES / "audio"
OUT = FIXTURES / "speech_preprocessing"
VOCAB = FIXTURES / "processors" / "wav2vec2" / "vocab.json"

TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37, conv_dim=(32, 32),
            conv_stride=(4, 4), conv_kernel=(8, 8), num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2)  # fmt: skip
EXTRACTORS = {
    "hubert-base": (HubertConfig(**TINY, feat_extract_norm="group"), {"do_normalize": True, "return_attention_mask": False}),
    "hubert-large-ft": (HubertConfig(**TINY, feat_extract_norm="layer", do_stable_layer_norm=True),
                        {"do_normalize": True, "return_attention_mask": True}),
    "wavlm-base-plus": (WavLMConfig(**TINY, feat_extract_norm="group"), {"do_normalize": False, "return_attention_mask": True}),
    "wavlm-large": (WavLMConfig(**TINY, feat_extract_norm="layer", do_stable_layer_norm=True),
                    {"do_normalize": True, "return_attention_mask": True}),
}  # fmt: skip
NO_TYPE = {"wavlm-base-plus"}  # preprocessor_config.json without feature_extractor_type

SHORT, LONG, LOUD = "a1.npy[4000:5500]", "a2.npy[9000:11400]", "a2.npy[20000:21000]"
EXTRACTOR_CASES = {
    "single": {"audio": [SHORT], "call": {"sampling_rate": 16000, "return_tensors": "np"}},
    "unbatched_lists": {"audio": [SHORT, LOUD], "call": {"sampling_rate": 16000}},
    "batch_padded": {"audio": [SHORT, LONG], "call": {"sampling_rate": 16000, "padding": True, "return_tensors": "np"}},
    "batch_max_length": {"audio": [LONG, SHORT], "call": {"sampling_rate": 16000, "padding": "max_length",
                                                          "max_length": 2000, "truncation": True, "return_tensors": "np"}},
    "batch_multiple": {"audio": [SHORT, LOUD], "call": {"sampling_rate": 16000, "padding": "longest",
                                                        "pad_to_multiple_of": 512, "return_tensors": "np"}},
    "mask_asked": {"audio": [SHORT, LONG], "call": {"sampling_rate": 16000, "padding": True,
                                                    "return_attention_mask": True, "return_tensors": "np"}},
    "mask_refused": {"audio": [LOUD], "call": {"sampling_rate": 16000, "return_attention_mask": False,
                                               "return_tensors": "np"}},
}  # fmt: skip
PROCESSORS = {"hubert": "hubert-large-ft", "wavlm": "wavlm-large"}
PROCESSOR_CASES = {
    "audio_and_text": {"audio": SHORT, "text": "hello world", "sampling_rate": 16000, "return_tensors": "np"},
    "audio_batch": {"audio": [LONG, SHORT], "sampling_rate": 16000, "padding": True, "return_tensors": "np"},
    "text_only": {"text": ["a cat", "hello there world"], "padding": True, "return_tensors": "np"},
}


def audio(specs):
    """One clip for a spec string, a list for a list of them."""
    if not isinstance(specs, str):
        return [audio(spec) for spec in specs]
    name, _, span = specs.partition("[")
    start, stop = (int(v) for v in span.rstrip("]").split(":"))
    return np.load(AUDIO / name)[start:stop]


def write_extractors() -> None:
    for name, (config, settings) in EXTRACTORS.items():
        folder = OUT / "feature_extractors" / name
        shutil.rmtree(folder, ignore_errors=True)
        config.save_pretrained(folder)
        Wav2Vec2FeatureExtractor(**settings).save_pretrained(folder)
        if name in NO_TYPE:
            path = folder / "preprocessor_config.json"
            data = json.loads(path.read_text())
            del data["feature_extractor_type"]
            path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        extractor = AutoFeatureExtractor.from_pretrained(folder)
        arrays, cases = {}, {}
        for key, case in EXTRACTOR_CASES.items():
            sound = audio(case["audio"])
            result = extractor(sound if len(sound) > 1 else sound[0], **case["call"])
            containers = {}
            for field, value in result.items():
                if isinstance(value, list) or value.dtype == object:  # no return_tensors: one array per example
                    containers[field] = "list" if isinstance(value, list) else "object array"
                    arrays.update({f"{key}_{field}_{i}": np.asarray(v) for i, v in enumerate(value)})
                else:
                    containers[field] = "array"
                    arrays[f"{key}_{field}"] = np.asarray(value)
            cases[key] = {**case, "containers": containers}
        spec = {"class": type(extractor).__name__, "cases": cases}
        (folder / "cases.json").write_text(json.dumps(spec, indent=1) + "\n")
        np.savez_compressed(folder / "expected.npz", **arrays)


def write_processors() -> None:
    for name, source in PROCESSORS.items():
        folder = OUT / "processors" / name
        shutil.rmtree(folder, ignore_errors=True)
        config, settings = EXTRACTORS[source]
        config.save_pretrained(folder)
        tokenizer = Wav2Vec2CTCTokenizer(str(VOCAB))
        Wav2Vec2Processor(Wav2Vec2FeatureExtractor(**settings), tokenizer).save_pretrained(folder)
        if name == "wavlm":  # nothing names the processor: AutoProcessor goes by model type
            for file in ("preprocessor_config.json", "tokenizer_config.json"):
                path = folder / file
                data = json.loads(path.read_text())
                data.pop("processor_class", None)
                path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        processor = AutoProcessor.from_pretrained(folder)
        arrays = {}
        for key, case in PROCESSOR_CASES.items():
            call = dict(case)
            if "audio" in call:
                call["audio"] = audio(call["audio"])
            result = processor(**call)
            arrays.update({f"{key}_{field}": np.asarray(value) for field, value in result.items()})
        spec = {"class": type(processor).__name__, "cases": PROCESSOR_CASES}
        (folder / "cases.json").write_text(json.dumps(spec, indent=1) + "\n")
        np.savez_compressed(folder / "expected.npz", **arrays)


if __name__ == "__main__":
    write_extractors()
    write_processors()
