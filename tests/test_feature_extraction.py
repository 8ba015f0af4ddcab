"""AutoFeatureExtractor against transformers' outputs, and bad audio."""

import json

import numpy as np
import pytest
from conftest import FIXTURES

from autoload import AutoFeatureExtractor

EXTRACTORS = FIXTURES / "feature_extractors"
AUDIO = FIXTURES / "audio"


def cases():
    for folder in sorted(EXTRACTORS.iterdir()):
        for key, case in json.loads((folder / "cases.json").read_text())["cases"].items():
            yield pytest.param(folder, key, case, id=f"{folder.name}-{key}")


@pytest.mark.parametrize("folder,key,case", cases())
def test_matches_transformers(folder, key, case):
    extractor = AutoFeatureExtractor.from_pretrained(folder)
    audio = [np.load(AUDIO / name) for name in case["audio"]]
    out = extractor(audio if len(audio) > 1 else audio[0], **case["call"])
    expected = np.load(folder / "expected.npz")
    fields = {name.removeprefix(key + "_") for name in expected if name.startswith(key + "_")}
    assert set(out) == fields
    for field in fields:
        np.testing.assert_allclose(out[field], expected[f"{key}_{field}"], atol=1e-4, err_msg=field)


def test_whisper_128_bins_and_30_second_window():
    extractor = AutoFeatureExtractor.from_pretrained(EXTRACTORS / "whisper", feature_size=128)
    features = extractor(np.load(AUDIO / "a1.npy"), sampling_rate=16000).input_features
    assert features.shape == (1, 128, 3000)
    long = np.tile(np.load(AUDIO / "a2.npy"), 20)  # 46 s: truncated to 30 s
    assert extractor(long, sampling_rate=16000).input_features.shape == (1, 128, 3000)


def test_emotion_recognition_style_folder(hub_cache, tmp_path):
    """A model repo whose preprocessor_config.json names feature_extractor_type (e.g. a wav2vec2 classifier)."""
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({
        "do_normalize": True, "feature_extractor_type": "Wav2Vec2FeatureExtractor", "feature_size": 1,
        "padding_side": "right", "padding_value": 0.0, "return_attention_mask": True, "sampling_rate": 16000,
    }))  # fmt: skip
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "wav2vec2"}))
    hub_cache("ehcalabres/wav2vec2-lg-xlsr-en-speech-emotion-recognition", tmp_path)
    extractor = AutoFeatureExtractor.from_pretrained(
        "ehcalabres/wav2vec2-lg-xlsr-en-speech-emotion-recognition", cache_dir=hub_cache.cache_dir
    )
    values = extractor(np.load(AUDIO / "a1.npy"), sampling_rate=16000).input_values
    assert abs(float(values.mean())) < 1e-3 and abs(float(values.std()) - 1) < 1e-2


@pytest.mark.parametrize("name", ["wav2vec2", "whisper"])
def test_bad_audio(name):
    extractor = AutoFeatureExtractor.from_pretrained(EXTRACTORS / name)
    audio = np.load(AUDIO / "a1.npy")
    with pytest.raises(ValueError, match="8000 Hz"):
        extractor(audio, sampling_rate=8000)
    with pytest.raises(ValueError, match="mono"):
        extractor([np.stack([audio, audio])], sampling_rate=16000)
    with pytest.raises(ValueError, match="empty"):
        extractor(np.zeros(0, np.float32), sampling_rate=16000)


def test_save_and_reload(tmp_path):
    extractor = AutoFeatureExtractor.from_pretrained(EXTRACTORS / "whisper")
    extractor.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "preprocessor_config.json").read_text())["feature_extractor_type"] == (
        "WhisperFeatureExtractor")  # fmt: skip
    again = AutoFeatureExtractor.from_pretrained(tmp_path)
    audio = np.load(AUDIO / "a2.npy")
    np.testing.assert_array_equal(again(audio, sampling_rate=16000).input_features,
                                  extractor(audio, sampling_rate=16000).input_features)  # fmt: skip
