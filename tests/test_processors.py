"""AutoProcessor: the processor classes against transformers' outputs, fallbacks and missing parts."""

import json
import shutil

import numpy as np
import pytest
from conftest import FIXTURES

from autoload import AutoProcessor

PROCESSORS = FIXTURES / "processors"
AUDIO = FIXTURES / "audio"
IMAGES = FIXTURES / "images"


def expected(name):
    return dict(np.load(PROCESSORS / name / "expected.npz"))


def test_wav2vec2_processor_matches_reference():
    processor = AutoProcessor.from_pretrained(PROCESSORS / "wav2vec2")
    assert type(processor).__name__ == "Wav2Vec2Processor"
    call = json.loads((PROCESSORS / "wav2vec2" / "cases.json").read_text())["call"]
    audio = np.load(AUDIO / call.pop("audio"))
    out = processor(audio=audio, **call)
    want = expected("wav2vec2")
    assert sorted(out.keys()) == sorted(want)
    np.testing.assert_allclose(out["input_values"], want["input_values"], atol=1e-4)
    np.testing.assert_array_equal(out["attention_mask"], want["attention_mask"])
    np.testing.assert_array_equal(out["labels"], want["labels"])
    assert processor.batch_decode(want["labels"])[0] == processor.tokenizer.batch_decode(want["labels"])[0]


def test_layoutlmv2_processor_matches_reference():
    from PIL import Image

    processor = AutoProcessor.from_pretrained(PROCESSORS / "layoutlmv2")
    assert type(processor).__name__ == "LayoutLMv2Processor"
    call = json.loads((PROCESSORS / "layoutlmv2" / "cases.json").read_text())["call"]
    image = Image.open(IMAGES / call.pop("images").rsplit("/", 1)[-1])
    out = processor(image, **call)
    want = expected("layoutlmv2")
    assert sorted(out.keys()) == sorted(want)
    for key, value in want.items():
        np.testing.assert_array_equal(np.asarray(out[key]), value, err_msg=key)


def test_processor_round_trip(tmp_path):
    processor = AutoProcessor.from_pretrained(PROCESSORS / "wav2vec2")
    processor.save_pretrained(tmp_path)
    again = AutoProcessor.from_pretrained(tmp_path)
    assert type(again).__name__ == "Wav2Vec2Processor"
    audio = np.load(AUDIO / "a1.npy")
    np.testing.assert_allclose(again(audio=audio, sampling_rate=16000)["input_values"],
                               processor(audio=audio, sampling_rate=16000)["input_values"])  # fmt: skip


def test_folder_with_only_a_tokenizer_gives_the_tokenizer(tmp_path):
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(PROCESSORS / "layoutlmv2" / name, tmp_path)
    config = json.loads((tmp_path / "tokenizer_config.json").read_text())
    config.pop("processor_class")
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config))
    result = AutoProcessor.from_pretrained(tmp_path)
    assert "Tokenizer" in type(result).__name__


def test_folder_with_only_a_feature_extractor_gives_it(tmp_path):
    config = json.loads((PROCESSORS / "wav2vec2" / "preprocessor_config.json").read_text())
    config.pop("processor_class")
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(config))
    assert type(AutoProcessor.from_pretrained(tmp_path)).__name__ == "Wav2Vec2FeatureExtractor"


def test_processor_missing_a_part_says_which(tmp_path):
    shutil.copy(PROCESSORS / "wav2vec2" / "preprocessor_config.json", tmp_path)
    with pytest.raises(OSError, match="tokenizer"):
        AutoProcessor.from_pretrained(tmp_path)


def test_empty_folder(tmp_path):
    with pytest.raises(OSError, match="no processor"):
        AutoProcessor.from_pretrained(tmp_path)
