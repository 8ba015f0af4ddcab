"""AutoFeatureExtractor against transformers' outputs (fixtures/feature_extractors, transformers 4.57.6),
padding and truncation, saving, the Hub cache, and bad audio."""

import json
import warnings

import numpy as np
import pytest
from conftest import FIXTURES
from reference_data import load_audio

from autoload import AutoFeatureExtractor

EXTRACTORS = FIXTURES / "feature_extractors"
AUDIO = FIXTURES / "audio"
A1, A2 = np.load(AUDIO / "a1.npy"), np.load(AUDIO / "a2.npy")  # 1.0 s and 2.3 s at 16 kHz


def reference_cases():
    for folder in sorted(EXTRACTORS.iterdir()):
        spec = json.loads((folder / "cases.json").read_text())
        for key, case in spec["cases"].items():
            yield pytest.param(folder, spec["class"], key, case, id=f"{folder.name}-{key}")


@pytest.mark.parametrize("folder,class_name,key,case", reference_cases())
def test_matches_transformers(folder, class_name, key, case):
    extractor = AutoFeatureExtractor.from_pretrained(folder)
    assert type(extractor).__name__ == class_name
    audio = [load_audio(spec) for spec in case["audio"]]
    call = dict(case["call"])
    if "audio_target" in case:  # SpeechT5's spectrogram targets
        targets = [load_audio(spec) for spec in case["audio_target"]]
        call["audio_target"] = targets if len(targets) > 1 else targets[0]
    out = extractor((audio if len(audio) > 1 else audio[0]) if audio else None, **call)
    expected = {name.removeprefix(key + "_"): value for name, value in np.load(folder / "expected.npz").items()
                if name.startswith(key + "_")}  # fmt: skip
    assert sorted(out) == sorted(expected)
    for field, want in expected.items():
        assert out[field].dtype == want.dtype and out[field].shape == want.shape, field
        np.testing.assert_allclose(out[field], want, atol=1e-4, rtol=0, err_msg=field)


def wav2vec2(**kwargs):
    return AutoFeatureExtractor.from_pretrained(EXTRACTORS / "wav2vec2", **kwargs)


def whisper(**kwargs):
    return AutoFeatureExtractor.from_pretrained(EXTRACTORS / "whisper", **kwargs)


def test_wav2vec2_without_return_tensors_gives_one_array_per_example():
    out = wav2vec2()([A1, A2], sampling_rate=16000)
    assert [v.shape for v in out.input_values] == [A1.shape, A2.shape]
    assert [m.dtype for m in out.attention_mask] == [np.int32, np.int32]
    for values in out.input_values:
        assert abs(values.mean()) < 1e-5 and abs(values.std() - 1) < 1e-3


def test_wav2vec2_padding_and_truncation():
    extractor = wav2vec2()
    out = extractor([A1, A2], sampling_rate=16000, padding="max_length", max_length=20000, truncation=True,
                    return_tensors="np")  # fmt: skip
    assert out.input_values.shape == (2, 20000)
    assert out.attention_mask.sum(axis=1).tolist() == [16000, 20000]
    assert np.all(out.input_values[0, 16000:] == 0)
    rounded = extractor([A1, A2[:100]], sampling_rate=16000, padding=True, pad_to_multiple_of=1024, return_tensors="np")
    assert rounded.input_values.shape == (2, 16384)
    left = wav2vec2(padding_side="left")([A1, A2], sampling_rate=16000, padding=True, return_tensors="np")
    right = extractor([A1, A2], sampling_rate=16000, padding=True, return_tensors="np")
    np.testing.assert_array_equal(left.input_values[0, -16000:], right.input_values[0, :16000])
    assert left.attention_mask[0, :20800].sum() == 0
    assert "attention_mask" not in extractor(A1, sampling_rate=16000, return_attention_mask=False)
    raw = wav2vec2(do_normalize=False)(A1.tolist(), sampling_rate=16000, return_tensors="np")
    np.testing.assert_array_equal(raw.input_values[0], A1)
    with pytest.raises(ValueError, match="different shapes"):
        extractor([A1, A2], sampling_rate=16000, return_tensors="np")
    with pytest.raises(ValueError, match="truncation=True needs max_length"):
        extractor(A1, sampling_rate=16000, truncation=True)


def test_pad_for_data_collators():
    extractor = wav2vec2()
    examples = [{"input_values": A1[:5]}, {"input_values": A1[:3].tolist()}]
    padded = extractor.pad(examples, padding=True)
    assert padded.input_values.shape == (2, 5) and padded.attention_mask.tolist()[1] == [1, 1, 1, 0, 0]
    torch = pytest.importorskip("torch")
    assert isinstance(extractor.pad(examples, return_tensors="pt").input_values, torch.Tensor)


def test_whisper_shapes_bins_and_30_second_window():
    assert whisper()(A1, sampling_rate=16000).input_features.shape == (1, 80, 3000)
    extractor = whisper(feature_size=128)
    assert extractor.mel_filters.shape == (201, 128)
    assert extractor(A1, sampling_rate=16000).input_features.shape == (1, 128, 3000)
    long = np.tile(A2, 15)  # 34.5 s: cut to 30 s
    features = extractor(long, sampling_rate=16000, return_tensors="np").input_features
    np.testing.assert_array_equal(features, extractor(long[:480000], sampling_rate=16000).input_features)
    out = extractor([A1, A2], sampling_rate=16000, padding="longest", return_attention_mask=True,
                    return_token_timestamps=True)  # fmt: skip
    assert out.input_features.shape == (2, 128, 230) and out.attention_mask.shape == (2, 230)
    assert out.attention_mask.sum(axis=1).tolist() == [100, 230] and out.num_frames == [100, 230]


def test_whisper_normalize_and_dither():
    extractor = whisper()
    plain = extractor(A1, sampling_rate=16000).input_features
    normalised = extractor(A1, sampling_rate=16000, do_normalize=True).input_features
    standardised = (A1 - A1.mean()) / np.sqrt(A1.var() + 1e-7)
    np.testing.assert_allclose(normalised, extractor(standardised, sampling_rate=16000).input_features, atol=1e-4)
    assert not np.allclose(normalised, plain)
    dithered = whisper(dither=1e-3)(A1, sampling_rate=16000).input_features
    assert 0 < np.abs(dithered - plain).max() < 2


def test_emotion_recognition_style_repo_from_hub_cache(hub_cache, tmp_path):
    """A wav2vec2 classifier repo whose preprocessor_config.json names feature_extractor_type, read offline."""
    repo = "ehcalabres/wav2vec2-lg-xlsr-en-speech-emotion-recognition"
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({
        "do_normalize": True, "feature_extractor_type": "Wav2Vec2FeatureExtractor", "feature_size": 1,
        "padding_side": "right", "padding_value": 0.0, "return_attention_mask": True, "sampling_rate": 16000,
    }))  # fmt: skip
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "wav2vec2"}))
    hub_cache(repo, tmp_path)
    extractor = AutoFeatureExtractor.from_pretrained(repo, cache_dir=hub_cache.cache_dir)
    assert type(extractor).__name__ == "Wav2Vec2FeatureExtractor"
    expected = np.load(EXTRACTORS / "wav2vec2" / "expected.npz")["single_a1_input_values"]
    np.testing.assert_allclose(
        extractor(A1, sampling_rate=16000, return_tensors="np").input_values, expected, atol=1e-4
    )
    with pytest.raises(OSError, match="org/not-cached"):
        AutoFeatureExtractor.from_pretrained("org/not-cached", cache_dir=hub_cache.cache_dir)


def test_model_type_fallback_register_and_unknown(tmp_path):
    config = json.loads((EXTRACTORS / "wav2vec2" / "preprocessor_config.json").read_text())
    del config["feature_extractor_type"]
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(config))
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "hubert"}))
    assert type(AutoFeatureExtractor.from_pretrained(tmp_path)).__name__ == "Wav2Vec2FeatureExtractor"
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "vit"}))
    assert type(AutoFeatureExtractor.from_pretrained(tmp_path)).__name__ == "ViTImageProcessor"

    from autoload.feature_extraction.wav2vec2 import Wav2Vec2FeatureExtractor

    class QuietExtractor(Wav2Vec2FeatureExtractor):
        pass

    (tmp_path / "config.json").write_text(json.dumps({"model_type": "quiet-test"}))
    with pytest.raises(ValueError, match="model type 'quiet-test'"):
        AutoFeatureExtractor.from_pretrained(tmp_path)
    AutoFeatureExtractor.register("quiet-test", QuietExtractor)
    assert type(AutoFeatureExtractor.from_pretrained(tmp_path)).__name__ == "QuietExtractor"
    with pytest.raises(ValueError, match="exist_ok=True"):
        AutoFeatureExtractor.register("whisper", QuietExtractor)
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({"feature_extractor_type": "MysteryExtractor"}))
    with pytest.raises(
        ValueError, match=r"'MysteryExtractor'.*Known:.*Wav2Vec2FeatureExtractor, WhisperFeatureExtractor"
    ):
        AutoFeatureExtractor.from_pretrained(tmp_path)


def test_save_and_reload(tmp_path):
    from autoload.feature_extraction.whisper import WhisperFeatureExtractor

    source = EXTRACTORS / "whisper"
    config = json.loads((source / "preprocessor_config.json").read_text())
    extractor, unused = WhisperFeatureExtractor.from_dict(
        config, processor_class="WhisperProcessor", not_a_field=1, return_unused_kwargs=True
    )
    assert unused == {"not_a_field": 1}
    extractor.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "preprocessor_config.json").read_text())
    assert saved == {**config, "processor_class": "WhisperProcessor"}
    again = AutoFeatureExtractor.from_pretrained(tmp_path)
    np.testing.assert_array_equal(again(A2, sampling_rate=16000).input_features,
                                  extractor(A2, sampling_rate=16000).input_features)  # fmt: skip


@pytest.mark.parametrize("name", ["wav2vec2", "whisper"])
def test_bad_audio(name):
    extractor = AutoFeatureExtractor.from_pretrained(EXTRACTORS / name)
    with pytest.raises(ValueError, match="expects audio sampled at 16000 Hz, but sampling_rate=8000 Hz"):
        extractor(A1, sampling_rate=8000)
    stereo = np.stack([A1, A1])
    with pytest.raises(ValueError, match="mono"):
        extractor([stereo], sampling_rate=16000)
    with pytest.raises(ValueError, match="looks like 2 channels"):
        extractor(stereo.T, sampling_rate=16000)
    with pytest.raises(ValueError, match="mono"):
        extractor(stereo[None], sampling_rate=16000)
    with pytest.raises(ValueError, match="empty"):
        extractor(np.zeros(0, np.float32), sampling_rate=16000)
    with pytest.raises(ValueError, match="empty"):
        extractor([A1, []], sampling_rate=16000)
    with pytest.raises(ValueError, match="no audio"):
        extractor([], sampling_rate=16000)
    with pytest.raises(TypeError, match="complex64"):
        extractor(A1.astype(np.complex64), sampling_rate=16000)
    with pytest.raises(TypeError, match="got str"):
        extractor("a1.wav", sampling_rate=16000)
    with pytest.warns(UserWarning, match="No sampling_rate"):
        extractor(A1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        extractor(A1, sampling_rate=16000)
