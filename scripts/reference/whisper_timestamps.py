"""Reference tokens for Whisper generate(return_timestamps=True), written with transformers 4.57.6.

    python scripts/reference/whisper_timestamps.py tests/fixtures/generation/whisper_timestamps.json

Run it in an environment that has transformers 4.57.6 and torch (never a dependency of autoload). The model is
the random WhisperForConditionalGeneration fixture (vocabulary of 99, 60 feature frames per window) with a
generation config laid out like a Hub Whisper checkpoint's: <|endoftext|> 49, <|startoftranscript|> 50,
languages 51-52, tasks 53-54, <|notimestamps|> 59 and the timestamps from 60 on. The features are drawn from
numpy's default_rng (FEATURE_SEED), which the test draws again.
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np
import torch
import transformers
from transformers import GenerationConfig, WhisperForConditionalGeneration
from transformers.models.whisper.generation_whisper import WhisperGenerationMixin

assert transformers.__version__ == "4.57.6", transformers.__version__

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(HERE, "..", "..", "tests", "fixtures", "models", "whisper", "WhisperForConditionalGeneration")
GENERATION_CONFIG = {
    "bos_token_id": 49, "eos_token_id": 49, "pad_token_id": 49, "decoder_start_token_id": 50,
    "lang_to_id": {"<|en|>": 51, "<|de|>": 52}, "task_to_id": {"translate": 53, "transcribe": 54},
    "is_multilingual": True, "no_timestamps_token_id": 59, "max_initial_timestamp_index": 5,
    "begin_suppress_tokens": [49], "suppress_tokens": [1, 2], "max_length": 40, "return_timestamps": False,
}  # fmt: skip
FEATURE_SEED = 0
# (name, feature frames, generate keyword arguments; "rows": the examples used, "lengths": each one's audio
# length in frames, given as an attention_mask)
CASES = [
    ("greedy", 60, {"language": "en", "return_timestamps": True, "max_new_tokens": 12}),
    ("longer", 60, {"language": "de", "task": "translate", "return_timestamps": True, "max_new_tokens": 20}),
    ("beams", 60, {"language": "en", "return_timestamps": True, "max_new_tokens": 10, "num_beams": 2}),
    ("two sequences", 60, {"language": "en", "return_timestamps": True, "max_new_tokens": 10, "num_beams": 3,
                           "num_return_sequences": 2}),
    ("from the generation config", 60, {"language": "en", "max_new_tokens": 12, "generation_config": "timestamps"}),
    ("without timestamps", 60, {"language": "en", "return_timestamps": False, "max_new_tokens": 8}),
    ("shorter audio", 44, {"language": "en", "return_timestamps": True, "max_new_tokens": 12}),
    # long-form: more frames than one window (60); timestamps are then always predicted
    ("long-form, one example", 150, {"language": "en", "return_timestamps": True, "max_new_tokens": 8, "rows": [1]}),
    ("long-form, several examples", 150, {"language": "en", "return_timestamps": True, "max_new_tokens": 8,
                                          "lengths": [150, 100, 130]}),
    # a text prompt (get_prompt_ids: <|startofprev|>, here 58, then the text) before the start token
    ("prompt", 60, {"language": "en", "return_timestamps": True, "max_new_tokens": 10, "prompt_ids": [58, 20, 21, 22]}),
    ("prompt without timestamps", 60, {"language": "en", "max_new_tokens": 8, "prompt_ids": [58, 30, 31],
                                       "prompt_condition_type": "first-segment"}),
    ("prompt, beams", 60, {"language": "de", "return_timestamps": True, "max_new_tokens": 10, "num_beams": 2,
                           "prompt_ids": [58, 20, 21, 22]}),
    ("prompt, language detected", 60, {"return_timestamps": True, "max_new_tokens": 8, "prompt_ids": [58, 24, 25]}),
    ("prompt, long-form", 150, {"language": "en", "return_timestamps": True, "max_new_tokens": 8, "rows": [1],
                                "prompt_ids": [58, 20, 21, 22]}),
    # return_segments: each example's segments (start / end seconds, tokens, idxs, the window's sequence)
    ("segments", 60, {"language": "en", "return_timestamps": True, "max_new_tokens": 12, "return_segments": True}),
    ("segments without timestamps", 44, {"language": "en", "max_new_tokens": 6, "return_segments": True}),
    ("segments, long-form", 150, {"language": "en", "return_timestamps": True, "max_new_tokens": 8,
                                  "lengths": [150, 107, 133], "return_segments": True}),
    ("segments, long-form with a prompt", 150, {"language": "de", "return_timestamps": True, "max_new_tokens": 8,
                                                "rows": [1], "prompt_ids": [58, 20, 21, 22], "return_segments": True}),
    ("segments, two sequences", 60, {"language": "en", "return_timestamps": True, "max_new_tokens": 10,
                                     "num_beams": 3, "num_return_sequences": 2, "return_segments": True}),
    ("segments, other time precision", 150, {"language": "en", "return_timestamps": True, "max_new_tokens": 8,
                                             "rows": [2], "return_segments": True, "time_precision": 0.04,
                                             "time_precision_features": 0.03}),
    # temperature fallback and the thresholds (deterministic: the temperatures tried are 0.0, i.e. greedy, or the
    # thresholds are met first). The no-speech probabilities after the start token are 0.0099-0.0102 here.
    ("fallback, thresholds met", 150, {"language": "en", "return_timestamps": True, "max_new_tokens": 8, "rows": [1],
                                       "temperature": (0.0, 0.2, 0.4), "logprob_threshold": -50.0,
                                       "compression_ratio_threshold": 50.0, "no_speech_threshold": 0.5}),
    ("fallback, log-probability", 60, {"language": "en", "return_timestamps": True, "max_new_tokens": 10,
                                       "temperature": (0.0, 0.0), "logprob_threshold": 0.0}),
    ("fallback, compression ratio", 60, {"language": "de", "max_new_tokens": 10, "temperature": (0.0, 0.0),
                                         "compression_ratio_threshold": 0.1, "return_segments": True}),
    ("no speech everywhere", 60, {"language": "en", "return_timestamps": True, "max_new_tokens": 6,
                                  "temperature": 0.0, "logprob_threshold": 0.0, "no_speech_threshold": 0.0}),
    # average log-probabilities of these three rows: -2.1916, -2.1802, -2.1617 (no-speech threshold 0: the
    # log-probability alone decides which rows are skipped)
    ("no speech by log-probability", 60, {"language": "en", "return_timestamps": True, "max_new_tokens": 10,
                                          "temperature": 0.0, "logprob_threshold": -2.185, "no_speech_threshold": 0.0}),
    ("no speech by log-probability, two rows", 60, {"language": "en", "return_timestamps": True,
                                                    "max_new_tokens": 10, "temperature": 0.0,
                                                    "logprob_threshold": -2.17, "no_speech_threshold": 0.0}),
    ("no speech in some windows", 150, {"language": "en", "return_timestamps": True, "max_new_tokens": 8,
                                        "lengths": [150, 107, 133], "temperature": (0.0, 0.0),
                                        "logprob_threshold": 0.0, "no_speech_threshold": 0.0099,
                                        "return_segments": True}),
    # an English-only generation config: the prompt is the start token alone, so the no-speech probability
    # comes from each attempt's first step
    ("no speech, start token alone", 150, {"return_timestamps": True, "max_new_tokens": 8, "lengths": [150, 107, 133],
                                           "temperature": (0.0, 0.0), "logprob_threshold": 0.0,
                                           "no_speech_threshold": 0.0099, "generation_config": "english-only"}),
    # condition_on_prev_tokens: each window's prompt opens with the previous windows' last tokens (at most
    # max_target_positions // 2 - 1 = 19 here) after <|startofprev|> (58 with "prev-sot"; without
    # prev_sot_token_id transformers takes the second-to-last suppressed token, 1 here)
    ("previous text", 300, {"language": "en", "return_timestamps": True, "max_new_tokens": 8, "rows": [1],
                            "condition_on_prev_tokens": True, "return_segments": True, "generation_config": "prev-sot"}),
    ("previous text after a prompt", 150, {"language": "en", "return_timestamps": True, "max_new_tokens": 8,
                                           "rows": [1], "condition_on_prev_tokens": True,
                                           "prompt_ids": [58, 20, 21, 22], "generation_config": "prev-sot"}),
    ("previous text after a prompt in every window", 150, {"language": "de", "return_timestamps": True,
                                                           "max_new_tokens": 8, "rows": [2],
                                                           "condition_on_prev_tokens": True, "prompt_ids": [58, 20, 21],
                                                           "prompt_condition_type": "all-segments",
                                                           "generation_config": "prev-sot"}),
    ("previous text without prev_sot_token_id", 150, {"language": "en", "return_timestamps": True,
                                                      "max_new_tokens": 8, "rows": [0], "condition_on_prev_tokens": True,
                                                      "prompt_ids": [58, 30, 31]}),
    ("previous text and fallback", 150, {"language": "en", "return_timestamps": True, "max_new_tokens": 8,
                                         "rows": [2], "condition_on_prev_tokens": True, "temperature": (0.0, 0.0),
                                         "logprob_threshold": 0.0, "generation_config": "prev-sot"}),
    # several examples: each window's prompts left-padded to one length, with a decoder attention mask (and
    # positions counted from it)
    ("previous text, several examples", 300, {"language": "en", "return_timestamps": True, "max_new_tokens": 8,
                                              "lengths": [300, 220, 260], "condition_on_prev_tokens": True,
                                              "return_segments": True, "generation_config": "prev-sot"}),
    ("previous text after a prompt, several examples", 300, {"language": "en", "return_timestamps": True,
                                                             "max_new_tokens": 8, "lengths": [300, 220, 260],
                                                             "condition_on_prev_tokens": True,
                                                             "prompt_ids": [58, 20, 21, 22],
                                                             "generation_config": "prev-sot"}),
    ("previous text after a prompt in every window, several examples", 300, {
        "language": "de", "return_timestamps": True, "max_new_tokens": 8, "lengths": [250, 300, 180],
        "condition_on_prev_tokens": True, "prompt_ids": [58, 20, 21], "prompt_condition_type": "all-segments",
        "generation_config": "prev-sot"}),
    ("previous text, several examples, beams", 300, {"language": "en", "return_timestamps": True,
                                                     "max_new_tokens": 8, "lengths": [300, 220, 260], "num_beams": 2,
                                                     "condition_on_prev_tokens": True, "generation_config": "prev-sot"}),
    ("previous text, several examples, two sequences", 300, {"language": "en", "return_timestamps": True,
                                                             "max_new_tokens": 8, "rows": [2, 1], "num_beams": 2,
                                                             "num_return_sequences": 2, "lengths": [300, 230],
                                                             "condition_on_prev_tokens": True,
                                                             "generation_config": "prev-sot"}),
    ("previous text, several examples, no speech", 300, {"language": "en", "return_timestamps": True,
                                                         "max_new_tokens": 8, "lengths": [300, 220, 260],
                                                         "condition_on_prev_tokens": True, "temperature": (0.0, 0.0),
                                                         "logprob_threshold": 0.0, "no_speech_threshold": 0.0099,
                                                         "return_segments": True, "generation_config": "prev-sot"}),
    ("previous text, several examples, token times", 300, {"language": "en", "return_timestamps": True,
                                                           "max_new_tokens": 8, "lengths": [300, 220, 260],
                                                           "condition_on_prev_tokens": True,
                                                           "return_token_timestamps": True, "return_segments": True,
                                                           "generation_config": "alignment"}),
    # beam search with the log-probability threshold: transformers reads each token's score from the beam it came
    # from; average log-probabilities here -2.1916, -2.1802, -2.0307 (greedy's third row: -2.1617)
    ("no speech by log-probability, beams", 60, {"language": "en", "return_timestamps": True, "max_new_tokens": 10,
                                                 "num_beams": 2, "temperature": 0.0, "logprob_threshold": -2.1,
                                                 "no_speech_threshold": 0.0}),
    ("no speech in some windows, beams", 150, {"language": "en", "return_timestamps": True, "max_new_tokens": 8,
                                               "lengths": [150, 107, 133], "num_beams": 3, "temperature": (0.0, 0.0),
                                               "logprob_threshold": 0.0, "no_speech_threshold": 0.0099,
                                               "return_segments": True}),
    # the no-speech probability from the first step's scores, which in beam search have a row per beam
    ("no speech, start token alone, beams", 150, {"return_timestamps": True, "max_new_tokens": 8,
                                                  "lengths": [150, 107, 133], "num_beams": 2,
                                                  "temperature": (0.0, 0.0), "logprob_threshold": 0.0,
                                                  "no_speech_threshold": 0.0099, "generation_config": "english-only"}),
    # return_token_timestamps: each token's time from the alignment heads' cross-attentions (dynamic time warping),
    # cropped to each example's audio where an attention_mask ("lengths") or num_frames gives it
    ("token times", 60, {"language": "en", "max_new_tokens": 12, "return_token_timestamps": True,
                         "generation_config": "alignment"}),
    ("token times with timestamps", 60, {"language": "en", "return_timestamps": True, "max_new_tokens": 12,
                                         "return_token_timestamps": True, "generation_config": "alignment"}),
    ("token times, audio lengths", 60, {"language": "de", "return_timestamps": True, "max_new_tokens": 12,
                                        "lengths": [60, 44, 52], "return_token_timestamps": True,
                                        "return_segments": True, "generation_config": "alignment"}),
    ("token times, num_frames", 60, {"language": "en", "max_new_tokens": 10, "num_frames": 50,
                                     "return_token_timestamps": True, "generation_config": "alignment"}),
    ("token times, beams", 60, {"language": "en", "return_timestamps": True, "max_new_tokens": 10, "num_beams": 2,
                                "return_token_timestamps": True, "generation_config": "alignment"}),
    ("token times, two sequences", 60, {"language": "en", "return_timestamps": True, "max_new_tokens": 10,
                                        "num_beams": 3, "num_return_sequences": 2, "return_token_timestamps": True,
                                        "generation_config": "alignment"}),
    ("token times, beams of several lengths", 60, {"language": "en", "max_new_tokens": 12, "num_beams": 3,
                                                   "num_return_sequences": 2, "return_token_timestamps": True,
                                                   "generation_config": "alignment"}),
    # 36 as the end token: beams end at different steps, and transformers reads a row's cross-attentions past its
    # end from the batch's first beam at those steps
    ("token times, beams ending early", 60, {"language": "en", "max_new_tokens": 20, "num_beams": 3,
                                             "return_token_timestamps": True, "generation_config": "early end"}),
    ("token times, beams ending early, longer", 60, {"language": "en", "max_new_tokens": 30, "num_beams": 2,
                                                     "return_token_timestamps": True,
                                                     "generation_config": "early end"}),
    # the first example's beams are done first and keep running, so the others' borrowed steps come from them
    ("token times, beams ending early, first one done", 60, {"language": "en", "return_timestamps": True,
                                                             "max_new_tokens": 12, "num_beams": 2, "rows": [2, 0, 1],
                                                             "return_token_timestamps": True,
                                                             "generation_config": "early end"}),
    # how beam search stops with early_stopping True / "never" (a positive length penalty: judged at max length)
    ("beams ending early, early_stopping", 60, {"language": "en", "max_new_tokens": 12, "num_beams": 3,
                                                "early_stopping": True, "generation_config": "early end"}),
    ("beams ending early, early_stopping never", 60, {"language": "en", "return_timestamps": True,
                                                      "max_new_tokens": 12, "num_beams": 2, "early_stopping": "never",
                                                      "generation_config": "early end"}),
    ("token times, prompt", 60, {"language": "en", "return_timestamps": True, "max_new_tokens": 10,
                                 "prompt_ids": [58, 20, 21, 22], "return_token_timestamps": True,
                                 "generation_config": "alignment"}),
    ("token times, long-form", 150, {"language": "en", "return_timestamps": True, "max_new_tokens": 8,
                                     "lengths": [150, 107, 133], "return_token_timestamps": True,
                                     "return_segments": True, "generation_config": "alignment"}),
    ("token times, long-form, beams", 150, {"language": "en", "return_timestamps": True, "max_new_tokens": 8,
                                            "lengths": [150, 107, 133], "num_beams": 2,
                                            "return_token_timestamps": True, "generation_config": "alignment"}),
    # (transformers fails on a retried window of a batch with an attention_mask: IndexError in its num_frames)
    ("token times, fallback", 150, {"language": "en", "return_timestamps": True, "max_new_tokens": 8, "rows": [1],
                                    "temperature": (0.0, 0.0), "logprob_threshold": 0.0, "no_speech_threshold": 0.0099,
                                    "return_token_timestamps": True, "return_segments": True,
                                    "generation_config": "alignment"}),
    ("token times, previous text", 300, {"language": "en", "return_timestamps": True, "max_new_tokens": 8,
                                         "rows": [1], "condition_on_prev_tokens": True,
                                         "return_token_timestamps": True, "generation_config": "alignment"}),
]
ENGLISH_ONLY = {k: v for k, v in GENERATION_CONFIG.items() if k not in ("lang_to_id", "task_to_id")}
ENGLISH_ONLY["is_multilingual"] = False
# generation configs other than GENERATION_CONFIG, recorded in the cases that use them
VARIANTS = {"english-only": ENGLISH_ONLY, "prev-sot": {**GENERATION_CONFIG, "prev_sot_token_id": 58},
            "alignment": {**GENERATION_CONFIG, "prev_sot_token_id": 58, "alignment_heads": [[1, 0], [1, 2], [0, 3]]}}
VARIANTS["early end"] = {**VARIANTS["alignment"], "eos_token_id": 36}


def features(frames: int, seed: int = FEATURE_SEED) -> np.ndarray:
    scale = np.array([1.0, 8.0, 64.0], dtype=np.float32)[:, None, None]  # rows the random model tells apart
    return np.random.default_rng(seed).standard_normal((3, 16, frames), dtype=np.float32) * scale


def segment_record(segment: dict) -> dict:
    """One segment as JSON: start and end seconds (float64, exact in JSON), tokens, idxs and the window's sequence
    (its "sequences" where logprob_threshold or return_token_timestamps made the window's result a dict), and
    with return_token_timestamps its tokens' times (float32 values, exact in JSON)."""
    result = segment["result"]
    result = result["sequences"] if isinstance(result, dict) else result
    record = {"start": float(segment["start"]), "end": float(segment["end"]), "tokens": segment["tokens"].tolist(),
              "idxs": [int(i) for i in segment["idxs"]], "result": result.tolist()}  # fmt: skip
    if "token_timestamps" in segment:
        record["token_timestamps"] = segment["token_timestamps"].tolist()
    return record


def recording_average_logprobs() -> list[float]:
    """Every average log-probability transformers computes for logprob_threshold, in order, from now on."""
    seen: list[float] = []
    compute = WhisperGenerationMixin._retrieve_avg_logprobs

    def recorded(scores, tokens, temperature):
        value = compute(scores, tokens, temperature)
        seen.append(float(value))
        return value

    WhisperGenerationMixin._retrieve_avg_logprobs = staticmethod(recorded)
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out")
    args = parser.parse_args()
    model = WhisperForConditionalGeneration.from_pretrained(MODEL).eval()
    logprobs = recording_average_logprobs()
    results = []
    for name, frames, kwargs in CASES:
        logprobs.clear()
        variant = VARIANTS.get(kwargs.get("generation_config"))
        config = GenerationConfig(**(variant or GENERATION_CONFIG))
        in_config = kwargs.get("generation_config") == "timestamps"
        config.return_timestamps = in_config
        recorded = {k: v for k, v in kwargs.items() if k != "generation_config"}
        call = {k: v for k, v in recorded.items() if k not in ("rows", "lengths")}
        inputs = features(frames)[kwargs.get("rows", slice(None))]
        if "prompt_ids" in call:
            call["prompt_ids"] = torch.tensor(call["prompt_ids"])
        if "lengths" in kwargs:  # what the feature extractor's attention_mask says for audio of these lengths
            mask = np.arange(frames)[None] < np.array(kwargs["lengths"])[:, None]
            call["attention_mask"] = torch.from_numpy(mask.astype(np.int64))
        with torch.no_grad():
            tokens = model.generate(torch.from_numpy(inputs), generation_config=config, **call)
        result = {"name": name, "frames": frames, "kwargs": recorded, "config_return_timestamps": in_config}
        if variant is not None:
            result["generation_config"] = variant
        if kwargs.get("return_segments"):
            result["segments"] = [[segment_record(segment) for segment in row] for row in tokens["segments"]]
        if kwargs.get("return_token_timestamps"):
            result["token_timestamps"] = tokens["token_timestamps"].tolist()
        if isinstance(tokens, dict):
            tokens = tokens["sequences"]
        if logprobs:  # each example's at each attempt, in the order they were judged
            result["logprobs"] = list(logprobs)
        results.append({**result, "tokens": tokens.tolist()})
        print(name, tokens.tolist())
    with open(args.out, "w") as f:
        json.dump({"generation_config": GENERATION_CONFIG, "feature_seed": FEATURE_SEED, "cases": results}, f,
                  separators=(",", ":"))  # fmt: skip
        f.write("\n")


if __name__ == "__main__":
    main()
