"""Whisper generate(return_timestamps=True) and long-form transcription in every framework against
transformers 4.57.6's tokens (scripts/reference/whisper_timestamps.py): the timestamp grammar on the scores,
window after window over the features, the closed segments kept, the prompt and end token left out, rows
padded, each example's audio length from the attention mask; return_segments, temperature fallback with its
thresholds, condition_on_prev_tokens."""

import json
import shutil

import numpy as np
import pytest
from conftest import FIXTURES, MODELS
from model_checks import needs

import autoload
from autoload.generation import GenerationConfig, whisper
from autoload.generation.processors import apply_timestamp_rules

REFERENCE = json.loads((FIXTURES / "generation" / "whisper_timestamps.json").read_text())
WEIGHTS = MODELS / "whisper" / "WhisperForConditionalGeneration"
FRAMEWORKS = ("torch", "tf", "flax")


def features(frames: int) -> np.ndarray:
    """The reference script's features (the same seed and row scales)."""
    scale = np.array([1.0, 8.0, 64.0], dtype=np.float32)[:, None, None]
    return np.random.default_rng(REFERENCE["feature_seed"]).standard_normal((3, 16, frames), dtype=np.float32) * scale


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("whisper-timestamps")
    for name in ("config.json", "model.safetensors"):
        shutil.copy(WEIGHTS / name, path / name)
    (path / "generation_config.json").write_text(json.dumps(REFERENCE["generation_config"]))
    return path


@pytest.fixture(scope="module")
def models(folder):
    """One model per framework for the whole module (what a framework compiled for one case serves the next);
    each case sets the generation config it needs."""
    loaded = {}

    def model(backend):
        if backend not in loaded:
            loaded[backend] = autoload.AutoModelForSpeechSeq2Seq.from_pretrained(folder, backend=backend)
        return loaded[backend]

    return model


@pytest.mark.parametrize("backend", FRAMEWORKS)
@pytest.mark.parametrize("case", REFERENCE["cases"], ids=lambda case: case["name"])
def test_tokens_match_transformers(models, backend, case, monkeypatch):
    needs(backend)
    logprobs = _recording_average_logprobs(monkeypatch)
    model = models(backend)
    # the checkpoint's generation config, or another (English-only, ...)
    model.generation_config = GenerationConfig(**case.get("generation_config", REFERENCE["generation_config"]))
    model.generation_config.return_timestamps = case["config_return_timestamps"]
    kwargs = dict(case["kwargs"])
    inputs = features(case["frames"])[kwargs.pop("rows", slice(None))]
    if "lengths" in kwargs:  # long-form audio of several examples: their lengths as the attention mask
        kwargs["attention_mask"] = (np.arange(case["frames"])[None] < np.array(kwargs.pop("lengths"))[:, None]).astype(np.int64)
    tokens = model.generate(inputs, **kwargs)
    if isinstance(tokens, dict):
        assert set(tokens) == {"sequences"} | {key for key in ("segments", "token_timestamps") if key in case}
    if "segments" in case:
        segments = [[_record(segment) for segment in row] for row in tokens["segments"]]
        expected = [[dict(segment) for segment in row] for row in case["segments"]]
        for row, expected_row in zip(segments, expected, strict=True):
            for segment, expected_segment in zip(row, expected_row, strict=True):
                _assert_times_close(segment.pop("token_timestamps", None), expected_segment.pop("token_timestamps", None))
        assert segments == expected
    if "token_timestamps" in case:
        assert np.asarray(tokens["token_timestamps"]).dtype == np.float32
        _assert_times_close(tokens["token_timestamps"], case["token_timestamps"])
    if isinstance(tokens, dict):
        tokens = tokens["sequences"]
    assert np.asarray(tokens).tolist() == case["tokens"]
    # each example's average log-probability at each attempt (logprob_threshold), judged in the same order
    np.testing.assert_allclose(logprobs, case.get("logprobs", []), rtol=0, atol=1e-4)


def test_token_timestamps_refuse_alignment_heads_the_model_lacks(folder):
    model = autoload.AutoModelForSpeechSeq2Seq.from_pretrained(folder, backend="torch")
    inputs = features(60)[:1]
    for heads, problem in (([[2, 0]], "names layer 2, head 0, but the decoder has 2 layers of 4"),
                           ([[0, 4]], "names layer 0, head 4"), ([[0]], "must be \\[layer, head\\] pairs"),
                           ([1, 0], "must be \\[layer, head\\] pairs"),
                           ([], "alignment_heads is empty")):  # fmt: skip
        model.generation_config.alignment_heads = heads
        with pytest.raises(ValueError, match=problem):
            model.generate(inputs, language="en", max_new_tokens=2, return_token_timestamps=True)
    model.generation_config.alignment_heads = [[1, 0]]
    model.config.median_filter_width = 4
    with pytest.raises(ValueError, match="median_filter_width must be a positive odd number, got 4"):
        model.generate(inputs, language="en", max_new_tokens=4, return_token_timestamps=True)


def _recording_average_logprobs(monkeypatch) -> list[float]:
    seen: list[float] = []
    compute = whisper.average_logprob

    def recorded(scores, tokens, temperature):
        seen.append(compute(scores, tokens, temperature))
        return seen[-1]

    monkeypatch.setattr(whisper, "average_logprob", recorded)
    return seen


def _assert_times_close(times, expected) -> None:
    """Token times (seconds) equal to transformers' within 1e-4, or both absent."""
    assert (times is None) == (expected is None)
    if expected is not None:
        np.testing.assert_allclose(np.asarray(times), expected, rtol=0, atol=1e-4)


def _record(segment: dict) -> dict:
    """A returned segment as the reference records it; times are float64 (exact), idxs Python ints."""
    assert np.asarray(segment["start"]).dtype == np.float64 and np.asarray(segment["end"]).dtype == np.float64
    assert all(type(i) is int for i in segment["idxs"])
    result = segment["result"]
    if "token_timestamps" in segment:  # the window's result then holds its tokens' times beside the sequence
        assert set(result) == {"sequences", "token_timestamps"} and len(result["token_timestamps"]) == len(
            result["sequences"])  # fmt: skip
        result = result["sequences"]
    record = {"start": float(segment["start"]), "end": float(segment["end"]),
              "tokens": np.asarray(segment["tokens"]).tolist(), "idxs": list(segment["idxs"]),
              "result": np.asarray(result).tolist()}  # fmt: skip
    if "token_timestamps" in segment:
        record["token_timestamps"] = segment["token_timestamps"]
    return record


def _rules_config(**options) -> GenerationConfig:
    return GenerationConfig(eos_token_id=1, no_timestamps_token_id=5, **options)


def test_timestamp_rules_on_the_scores():
    flat = np.zeros((1, 12), np.float32)
    first = apply_timestamp_rules(flat, np.zeros((1, 0), np.int64), _rules_config(max_initial_timestamp_index=2))
    assert np.isfinite(first[0]).tolist() == [False] * 6 + [True] * 3 + [False] * 3  # a timestamp <= 2 first
    opened = apply_timestamp_rules(flat, np.array([[7, 3, 9]]), _rules_config())
    assert np.isfinite(opened[0]).tolist() == [False] * 9 + [True] * 3  # the closing timestamp, >= the opening one
    closed = apply_timestamp_rules(flat, np.array([[7, 3, 9, 9]]), _rules_config())
    assert np.isfinite(closed[0]).tolist() == [True] * 5 + [False] * 7  # text after a pair, no <|notimestamps|>
    text = np.full((1, 12), -10.0, np.float32)
    text[0, 3] = 0.0
    after_text = apply_timestamp_rules(text, np.array([[7, 3]]), _rules_config())
    assert np.isfinite(after_text[0, 6:8]).tolist() == [False, False]  # timestamps never go back
    assert after_text[0, 3] == 0.0  # the text token stays likelier than the timestamps together


def test_timestamps_need_a_whisper_generation_config(folder):
    needs("torch")
    model = autoload.AutoModelForSpeechSeq2Seq.from_pretrained(folder, backend="torch")
    config = GenerationConfig(**{k: v for k, v in REFERENCE["generation_config"].items() if k != "no_timestamps_token_id"})
    with pytest.raises(ValueError, match="no_timestamps_token_id"):
        model.generate(features(60), language="en", return_timestamps=True, generation_config=config)
    with pytest.raises(ValueError, match="return_timestamps=True"):  # the config says false
        model.generate(features(90), language="en", max_new_tokens=4)
    with pytest.raises(ValueError, match="attention_mask"):
        model.generate(features(90), language="en", return_timestamps=True, max_new_tokens=4)


def test_prompt_options_are_checked(folder):
    needs("torch")
    model = autoload.AutoModelForSpeechSeq2Seq.from_pretrained(folder, backend="torch")
    inputs, prompt = features(60), np.array([58, 20, 21])
    with pytest.raises(ValueError, match="condition_on_prev_tokens"):  # as transformers: all-segments needs it
        model.generate(inputs, language="en", prompt_ids=prompt, prompt_condition_type="all-segments")
    with pytest.raises(ValueError, match="'first-segment' or 'all-segments'"):
        model.generate(inputs, language="en", prompt_ids=prompt, prompt_condition_type="every-segment")
    with pytest.raises(ValueError, match="one non-empty row"):
        model.generate(inputs, language="en", prompt_ids=prompt[None])
    with pytest.raises(ValueError, match="max_target_positions"):  # 3 + 4 prompt tokens + 34 > 40 positions
        model.generate(inputs, language="en", prompt_ids=prompt, max_new_tokens=34)
    assert model.generate(inputs[:1], language="en", prompt_ids=prompt, max_new_tokens=33).shape[0] == 1


@pytest.mark.parametrize("threshold", [{"logprob_threshold": 0.0}, {"compression_ratio_threshold": 0.1}])
@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_fallback_samples_at_the_next_temperature(folder, backend, threshold):
    """A result that fails a threshold is generated again at the next temperature, by sampling (seeded),
    and that result is kept: the same as sampling at that temperature from the start. As in transformers, the
    call's temperature decides sampling (do_sample alone does not)."""
    needs(backend)
    model = autoload.AutoModelForSpeechSeq2Seq.from_pretrained(folder, backend=backend)
    inputs = features(60)[:2]
    options = {"language": "en", "max_new_tokens": 10, "seed": 3}
    retried = model.generate(inputs, temperature=(0.0, 1.0), **threshold, **options)
    sampled = model.generate(inputs, temperature=1.0, **options)
    greedy = model.generate(inputs, **options)
    assert np.asarray(retried).tolist() == np.asarray(sampled).tolist() != np.asarray(greedy).tolist()
    assert np.asarray(model.generate(inputs, do_sample=True, **options)).tolist() == np.asarray(greedy).tolist()


def test_fallback_options_are_checked(folder):
    needs("torch")
    model = autoload.AutoModelForSpeechSeq2Seq.from_pretrained(folder, backend="torch")
    inputs = features(60)
    with pytest.raises(ValueError, match="set logprob_threshold too"):
        model.generate(inputs, language="en", temperature=(0.0, 0.2), no_speech_threshold=0.6)
    with pytest.raises(ValueError, match="pass temperature="):
        model.generate(inputs, language="en", logprob_threshold=-1.0)
    with pytest.raises(ValueError, match="no temperature"):
        model.generate(inputs, language="en", temperature=())
    config = GenerationConfig(**{k: v for k, v in REFERENCE["generation_config"].items() if k != "no_timestamps_token_id"})
    with pytest.raises(ValueError, match="no-speech token"):
        model.generate(inputs, language="en", generation_config=config, temperature=0.0, logprob_threshold=-1.0,
                       no_speech_threshold=0.5)  # fmt: skip
