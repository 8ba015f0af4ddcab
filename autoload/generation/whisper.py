"""Whisper's decoder prompt: <|startoftranscript|>, then the language, the task and <|notimestamps|>.

The ids come from generation_config.json (lang_to_id, task_to_id, no_timestamps_token_id), as in the
checkpoints on the Hub (or its older forced_decoder_ids). When no language is given or forced, a
checkpoint with a lang_to_id table detects it per example from the first decoder step, restricted to the
language tokens.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..postprocessing.arrays import to_numpy
from .config import GenerationConfig
from .processors import log_softmax, softmax
from .search import SearchLog
from .whisper_token_timestamps import TokenTiming, padded_times


def model_decoder_prompt(model, batch: int, kwargs: dict, **options) -> np.ndarray:
    """whisper_decoder_prompt for a Whisper model's generate(**kwargs) call: the tables come from the
    generation config that call uses (with its decoder_start_token_id, if it passes one)."""
    start = {"decoder_start_token_id": kwargs["decoder_start_token_id"]} if "decoder_start_token_id" in kwargs else {}
    config = GenerationConfig.for_call(model, kwargs.get("generation_config"), **start)
    return whisper_decoder_prompt(config, batch, model_config=model.config, **options)


def _token_id(table: dict, key: str, what: str) -> int:
    if key in table:
        return int(table[key])
    raise ValueError(
        f"Unknown Whisper {what} {key!r}: generation_config.json knows {', '.join(sorted(table)) or 'none'}."
    )


def language_token(language: str) -> str:
    """'en', 'EN' or '<|en|>' -> '<|en|>'."""
    return language if language.startswith("<|") else f"<|{language.lower()}|>"


def _forced_prefix(config: GenerationConfig, model_config) -> list[int | None]:
    """The tokens after <|startoftranscript|> that older checkpoints force at positions 1, 2, ...
    (`forced_decoder_ids` [[1, lang or None], [2, task]]); None stands for "detect the language"."""
    forced = getattr(config, "forced_decoder_ids", None) or getattr(model_config, "forced_decoder_ids", None)
    tokens = []
    for position, token in forced or ():
        if position != len(tokens) + 1:
            raise ValueError(f"forced_decoder_ids {forced} do not follow Whisper's prompt (positions 1, 2, ...).")
        tokens.append(token)
    return tokens


def whisper_decoder_prompt(config: GenerationConfig, batch: int, *, language: str | list[str] | None = None,
                           task: str | None = None, return_timestamps: bool | None = None, model_config=None,
                           first_logits: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:  # fmt: skip
    """[batch, n] int64 tokens that open every transcript, chosen as transformers 4.57 chooses them:
    <|startoftranscript|>; the language given, else the one forced_decoder_ids names, else the detected one
    when the checkpoint has a lang_to_id table; the task given (transcribe when only a language is given),
    else the forced one; then <|notimestamps|>, unless timestamps are to be predicted.

    first_logits(tokens [batch, 1]) -> [batch, vocab] next-token logits after the start token; it is
    called only to detect the language.
    """
    start = config.decoder_start_token_id
    if start is None:
        raise ValueError("Whisper generate() needs decoder_start_token_id (<|startoftranscript|>) in the config.")
    lang_to_id = getattr(config, "lang_to_id", None)
    task_to_id = getattr(config, "task_to_id", None)
    for given, table, what in ((language, lang_to_id, "lang_to_id"), (task, task_to_id, "task_to_id")):
        if given is not None and not table:
            raise ValueError(
                f"This Whisper checkpoint's generation_config.json has no {what} table, so language/task cannot be "
                "set; it is an English-only or incomplete checkpoint: call generate() without them."
            )
    prefix = _forced_prefix(config, model_config) if language is None and task is None else []
    rows = [[start, *prefix] for _ in range(batch)]
    if language is not None:
        languages = [language] * batch if isinstance(language, str) else list(language)
        if len(languages) != batch:
            raise ValueError(f"Got {len(languages)} languages for a batch of {batch}.")
        detected = [_token_id(lang_to_id, language_token(x), "language") for x in languages]
    elif lang_to_id and (len(rows[0]) == 1 or rows[0][1] is None):
        if first_logits is None:
            raise ValueError("Pass language= to generate(): this model cannot detect the language here.")
        logits = np.asarray(first_logits(np.full((batch, 1), start, dtype=np.int64)), dtype=np.float32)
        ids = np.array(sorted(int(i) for i in lang_to_id.values()))
        detected = ids[logits[:, ids].argmax(-1)].tolist()
    else:
        detected = None
    if task is not None:  # the forced prefix is only used without a task, so no task token is there yet
        task_id = _token_id(task_to_id, task, "task")
    elif language is not None and task_to_id:
        task_id = _token_id(task_to_id, "transcribe", "task")
    else:
        task_id = None
    no_timestamps = getattr(config, "no_timestamps_token_id", None)
    for i, row in enumerate(rows):
        if detected is not None:
            row[1:2] = [detected[i]]
        if task_id is not None:
            row.append(task_id)
        if no_timestamps is not None and row[-1] != no_timestamps and not return_timestamps:
            row.append(no_timestamps)
        elif return_timestamps and row[-1] == no_timestamps:  # forced by an older checkpoint
            row.pop()
    return np.array([[t for t in row if t is not None] for row in rows], dtype=np.int64)


# -- timestamps ---------------------------------------------------------------------------------------------
# Feature frames per encoder position: Whisper's two convolutions have strides 1 and 2.
INPUT_STRIDE = 2
_THRESHOLDS = ("logprob_threshold", "compression_ratio_threshold", "no_speech_threshold")
# Handled by transcribe, not passed on to each window's generate call (which sets do_sample, temperature and
# num_beams on the call's config for each temperature it tries).
_TRANSCRIBE_OPTIONS = ("prompt_ids", "prompt_condition_type", "return_segments", "time_precision",
                       "time_precision_features", "temperature", "do_sample", "num_beams", "condition_on_prev_tokens",
                       "return_token_timestamps", "num_frames", *_THRESHOLDS)
# Seconds per timestamp token and per feature frame (transformers' generate() defaults).
TIME_PRECISION, TIME_PRECISION_FEATURES = 0.02, 0.01


@dataclass
class Fallback:
    """Whisper's temperature fallback, as transformers 4.57 runs it for every window: the temperatures tried
    in turn (sampling above 0; [None] when the call gives none), and the thresholds that send an example's
    result on to the next temperature (a compression ratio above, an average log-probability below) or skip
    its window as silence (no-speech probability above and log-probability below)."""

    temperatures: list
    logprob_threshold: float | None = None
    compression_ratio_threshold: float | None = None
    no_speech_threshold: float | None = None

    @classmethod
    def for_call(cls, kwargs: dict, config: GenerationConfig) -> Fallback:
        """The call's temperature (only the call's: transformers does not read the generation config's) and
        thresholds (the call's, else the generation config's)."""
        temperature = kwargs.get("temperature")
        temperatures = list(temperature) if isinstance(temperature, (list, tuple)) else [temperature]
        if not temperatures:
            raise ValueError("temperature=() gives no temperature to generate with; pass one, or a tuple of them.")
        chosen = {}
        for name in _THRESHOLDS:
            chosen[name] = kwargs.get(name) if kwargs.get(name) is not None else getattr(config, name, None)
        fallback = cls(temperatures, **chosen)
        if fallback.no_speech_threshold is not None and fallback.logprob_threshold is None:
            raise ValueError("no_speech_threshold skips a window when its no-speech probability is above it and its "
                             "average log-probability below logprob_threshold: set logprob_threshold too.")  # fmt: skip
        if fallback.no_speech_threshold is not None and getattr(config, "no_timestamps_token_id", None) is None:
            raise ValueError("no_speech_threshold needs no_timestamps_token_id in the generation config (the "
                             "no-speech token is the one before <|notimestamps|>).")  # fmt: skip
        if fallback.logprob_threshold is not None:
            if None in temperatures:
                raise ValueError("logprob_threshold rescales the scores by the temperature: pass temperature= (one, "
                                 "or the tuple to fall back through, e.g. (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)).")  # fmt: skip
        return fallback

    @property
    def judges(self) -> bool:
        return any(value is not None for value in (self.logprob_threshold, self.compression_ratio_threshold))


def call_config(model, kwargs: dict, return_timestamps: bool | None, long_form: bool = False
                ) -> tuple[GenerationConfig, dict]:  # fmt: skip
    """(the generation config of a Whisper generate(**kwargs) call, the keyword arguments left for each
    window's generate call). The config is marked (`_predict_timestamps`) when the call predicts timestamps:
    return_timestamps, else the config's own setting (Hub checkpoints keep it false); long-form audio (more
    than one window) needs them, and gets them when neither the call nor the config says. A config without
    no_timestamps_token_id is refused when timestamps are needed. num_return_sequences and num_beams go into
    the config; attention_mask, the temperature and thresholds (Fallback), do_sample (transformers decides it
    by the temperature) and the other options transcribe handles stay out of the options."""
    copies = {k: kwargs[k] for k in ("num_return_sequences", "num_beams") if k in kwargs}
    config = GenerationConfig.for_call(model, kwargs.get("generation_config"), **copies)
    options = {k: v for k, v in kwargs.items() if k not in ("generation_config", "num_return_sequences", "attention_mask",
                                                          *_TRANSCRIBE_OPTIONS)}  # fmt: skip
    wanted = getattr(config, "return_timestamps", False) if return_timestamps is None else return_timestamps
    if long_form:  # timestamps are needed; unset both in the call and in the config, they are switched on
        if not wanted and (return_timestamps is not None or hasattr(config, "return_timestamps")):
            raise ValueError("Audio longer than 30 s (more feature frames than one window) is transcribed window by "
                             "window with timestamps: pass return_timestamps=True, or at most one window of "
                             "features.")  # fmt: skip
        wanted = True
    if wanted and getattr(config, "no_timestamps_token_id", None) is None:
        raise ValueError("return_timestamps needs no_timestamps_token_id in the generation config (Whisper's "
                         "generation_config.json has it; the timestamp tokens follow <|notimestamps|>).")  # fmt: skip
    config._predict_timestamps = bool(wanted)
    config._decoder_prompt_as_given = True  # a prompt_ids prompt opens with <|startofprev|>, not the start token
    return config, options


def transcribe(model, features: np.ndarray, kwargs: dict, *, language, task, return_timestamps,
               first_logits: Callable[[np.ndarray, np.ndarray], np.ndarray],
               generate: Callable[[np.ndarray, np.ndarray, GenerationConfig, dict], np.ndarray],
               alignment_weights: Callable | None = None) -> np.ndarray | dict:  # fmt: skip
    """A Whisper model's generate(input_features, language, task, return_timestamps, **kwargs) for every
    backend: the call's config and prompt (a language detected from the first window:
    `first_logits(features, tokens)` -> next-token logits; prompt_ids, a text prompt, in front of it), then
    generate_in_windows over the backend's plain generate (`generate(features, prompt, config, options)` ->
    sequences as numpy, prompt included). With return_segments=True: {"sequences": ..., "segments": ...} as
    transformers returns them (generate_in_windows), in numpy for the backend to convert; with
    return_token_timestamps=True, "token_timestamps" too: each token's time in its window (seconds, float32),
    from the cross-attentions `alignment_weights(features, tokens, heads)` -> [rows, heads, tokens, encoder
    positions] of a teacher-forced decoder pass (TokenTiming)."""
    window = INPUT_STRIDE * model.config.max_source_positions
    config, options = call_config(model, kwargs, return_timestamps, long_form=features.shape[-1] > window)
    prompt = model_decoder_prompt(model, features.shape[0], kwargs, language=language, task=task,
                                  return_timestamps=config._predict_timestamps,
                                  first_logits=lambda tokens: first_logits(features[..., :window], tokens))  # fmt: skip
    condition = kwargs.get("condition_on_prev_tokens")
    condition = bool(getattr(config, "condition_on_prev_tokens", False) if condition is None else condition)
    condition_type = kwargs.get("prompt_condition_type") or "first-segment"
    text_prompt = _prompt_ids(kwargs.get("prompt_ids"), condition_type, condition)
    start_tokens = prompt
    if text_prompt is not None:  # before the start token, in every window's call, as transformers does
        prompt = np.concatenate([np.tile(text_prompt, (prompt.shape[0], 1)), prompt], axis=1)

    def check_length(length: int) -> None:
        _check_decoder_length(length, options.get("max_new_tokens", config.max_new_tokens),
                              model.config.max_target_positions)

    check_length(prompt.shape[1])
    previous = None
    if condition:
        previous = PreviousText.for_call(config, start_tokens, prompt, text_prompt, condition_type,
                                         cut_off=model.config.max_target_positions // 2 - 1, pad=config.pad_id(),
                                         check_length=check_length)  # fmt: skip
    mask = kwargs.get("attention_mask")
    segments = [] if kwargs.get("return_segments") else None
    timing = TokenTiming.for_call(kwargs, config, model.config, features.shape[0], alignment_weights)
    times = [] if timing is not None else None
    fallback = Fallback.for_call(kwargs, config)
    start = start_tokens.shape[1]  # start, language, task, ...

    def run_window(segment, segment_prompt, decoder_mask=None):
        masked = {} if decoder_mask is None else {"decoder_attention_mask": decoder_mask}
        return generate(segment, segment_prompt, config, {**options, **masked})

    tokens = generate_in_windows(features, prompt, config, vocab_size=model.config.vocab_size,
                                 max_source_positions=model.config.max_source_positions,
                                 run=run_window,
                                 attention_mask=None if mask is None else np.asarray(mask), segments=segments,
                                 time_precision=kwargs.get("time_precision", TIME_PRECISION),
                                 time_precision_features=kwargs.get("time_precision_features",
                                                                    TIME_PRECISION_FEATURES),
                                 fallback=fallback, first_logits=first_logits, start_tokens=start,
                                 previous=previous, timing=timing, times=times)  # fmt: skip
    if segments is None and times is None:
        return tokens
    result = {"sequences": tokens}
    if times is not None:
        result["token_timestamps"] = padded_times(times, tokens.shape[1])
    if segments is not None:
        result["segments"] = segments
    return result


def outputs_as(result, convert: Callable[[np.ndarray], object]):
    """transcribe's result with every numpy array (segment times, tokens, each window's sequences) converted by
    the backend's `convert`; the rest (a segment's "idxs") as it is."""
    if isinstance(result, np.ndarray):
        return convert(result)
    if isinstance(result, dict):
        return {key: outputs_as(value, convert) for key, value in result.items()}
    if isinstance(result, list):
        return [outputs_as(value, convert) for value in result]
    return result


def _prompt_ids(value, condition_type: str, condition: bool) -> np.ndarray | None:
    """generate(prompt_ids=...) as a 1-D int64 array (None without one). "all-segments" (the prompt before every
    window's previous text) needs condition_on_prev_tokens, as in transformers."""
    if condition_type not in ("first-segment", "all-segments"):
        raise ValueError(f"prompt_condition_type={condition_type!r}: use 'first-segment' or 'all-segments'.")
    if condition_type == "all-segments" and not condition:
        raise ValueError("prompt_condition_type='all-segments' puts the prompt before each window's previous text, "
                         "which needs condition_on_prev_tokens=True; set it, or use 'first-segment'.")  # fmt: skip
    if value is None:
        return None
    ids = to_numpy(value)
    if ids.ndim != 1 or not ids.size or ids.dtype.kind not in "iu":
        raise ValueError(f"prompt_ids must be one non-empty row of token ids (the tokenizer's or processor's "
                         f"get_prompt_ids(text)), got an array of shape {ids.shape} and dtype {ids.dtype}.")  # fmt: skip
    return ids.astype(np.int64)


@dataclass
class PreviousText:
    """condition_on_prev_tokens, as transformers 4.57 builds each window's prompts: while any example was
    decoded below temperature 0.5 and the first example has previous text (a "first-segment" prompt's text
    counts as the first), each example's prompt is the opening (<|startofprev|>, or the prompt_ids for
    prompt_condition_type="all-segments"), then the last `cut_off` tokens of its segments kept so far (a segment
    ending in a timestamp pair with only the first of the two; none when that example was decoded at 0.5 or
    above), then the start tokens, left-padded to one length with pad_token_id and given a decoder attention
    mask; otherwise the plain prompts. Like transformers, the temperature flags are set by position in the
    window's batch and read by example."""

    start: np.ndarray  # [batch, n]: <|startoftranscript|>, language, task, ...
    plain: np.ndarray  # [batch, m]: any prompt_ids, then the start tokens
    opening: np.ndarray  # [k]: what precedes the previous text (k may be 0)
    cut_off: int
    pad: int
    check_length: Callable[[int], None]
    history: list  # each example's kept segments
    conditioned: list

    @classmethod
    def for_call(cls, config: GenerationConfig, start: np.ndarray, plain: np.ndarray, text_prompt, condition_type: str,
                 *, cut_off: int, pad: int, check_length) -> PreviousText:  # fmt: skip
        marker = getattr(config, "prev_sot_token_id", None)
        opening = marker
        if opening is None:  # transformers' fallback: the second-to-last suppressed token
            suppressed = list(getattr(config, "suppress_tokens", None) or [])
            opening = suppressed[-2] if len(suppressed) >= 2 else None
        opening = np.zeros(0, np.int64) if opening is None else np.array([opening], np.int64)
        first = []
        if text_prompt is not None and condition_type == "all-segments":
            opening = text_prompt
        elif text_prompt is not None:
            first = [text_prompt[1:] if text_prompt[0] == marker else text_prompt]
        batch = len(start)
        return cls(start, plain, opening, cut_off, pad, check_length, [list(first) for _ in range(batch)],
                   [True] * batch)  # fmt: skip

    def prompt(self, rows: np.ndarray, begin: int) -> tuple[np.ndarray, np.ndarray | None]:
        """The next window's decoder prompts for these examples [len(rows), length] and their attention mask
        (None for the plain prompts; `begin`: the first timestamp token)."""
        if not (any(self.conditioned) and self.history[0]):
            prompt, mask = self.plain[rows], None
        else:
            texts = []
            for row in rows:
                text = self.opening
                if self.conditioned[row] and self.history[row]:
                    kept = np.concatenate([t[:-1] if len(t) > 2 and t[-2] >= begin else t for t in self.history[row]])
                    text = np.concatenate([self.opening, kept[-self.cut_off :]])
                texts.append(text.astype(np.int64))
            width = max(len(text) for text in texts)
            padded = np.stack([np.concatenate([np.full(width - len(text), self.pad, np.int64), text]) for text in texts])
            prompt = np.concatenate([padded, self.start[rows]], axis=1)
            mask = (prompt != self.pad).astype(np.int64)
        self.check_length(prompt.shape[1])
        return prompt, mask

    def repeated(self, copies: int) -> PreviousText:
        """For num_return_sequences > 1: each example repeated, as transformers repeats its rows."""
        return PreviousText(np.repeat(self.start, copies, axis=0), np.repeat(self.plain, copies, axis=0),
                            self.opening, self.cut_off, self.pad, self.check_length,
                            [list(history) for history in self.history for _ in range(copies)],
                            [flag for flag in self.conditioned for _ in range(copies)])  # fmt: skip

    def add(self, position: int, example: int, pieces: list[np.ndarray], temperature) -> None:
        """The segments a window kept for an example (none when it was skipped), at this position in the
        window's batch, and the temperature its result came from."""
        self.history[example] += pieces
        self.conditioned[position] = temperature is None or temperature < 0.5


def _check_decoder_length(prompt_length: int, max_new_tokens: int | None, max_target_positions: int) -> None:
    if (max_new_tokens or 0) + prompt_length > max_target_positions:
        raise ValueError(
            f"The decoder prompt ({prompt_length} tokens: any prompt_ids, then the start, language and task "
            f"tokens) and max_new_tokens={max_new_tokens} need {prompt_length + max_new_tokens} positions, more "
            f"than this Whisper model's max_target_positions ({max_target_positions}). Shorten the prompt or "
            "lower max_new_tokens."
        )


def generate_in_windows(features: np.ndarray, prompt: np.ndarray, config: GenerationConfig, *, vocab_size: int,
                        max_source_positions: int, run: Callable[[np.ndarray, np.ndarray], np.ndarray],
                        attention_mask: np.ndarray | None = None, segments: list | None = None,
                        time_precision: float = TIME_PRECISION, time_precision_features: float = TIME_PRECISION_FEATURES,
                        fallback: Fallback | None = None, first_logits: Callable | None = None,
                        start_tokens: int = 1, previous: PreviousText | None = None,
                        timing: TokenTiming | None = None, times: list | None = None) -> np.ndarray:  # fmt: skip
    """Transcript tokens for each example, as transformers 4.57 transcribes: window by window over the features
    (each window zero-padded to full length), each generate call (`run(features [rows, mel, frames], prompt)`
    -> sequences, prompt included) keeping the segments that a pair of timestamp tokens closed and moving on to
    the end of the last one, until every example's audio is covered; a window without such a pair is kept
    whole and moves on a full window. The kept tokens (prompt and end token left out) are concatenated per
    example and right-padded with pad_token_id. Without timestamp prediction (audio of one window) this is one
    window, unless the model emits ids from <|notimestamps|> + 1 on, which count as timestamps all the same.
    Long-form audio of several examples needs the feature extractor's attention_mask (return_attention_mask=True)
    for each example's length. `config` is the call's own (call_config): num_return_sequences is set to 1 in it
    for the windows' calls. A `segments` list gets, per example, the segments kept (window_segments). Each window
    runs through `fallback` (window_with_fallback; `first_logits(features, tokens)` gives the no-speech
    probabilities, `start_tokens` says how many tokens the prompt has from the start token on). With
    `previous`, each window's prompts come from it instead (condition_on_prev_tokens), with a decoder attention
    mask where they are left-padded (`run(features, prompt, mask)`, `first_logits(features, tokens, mask)`). With
    `timing`, a `times` list gets each example's kept tokens' times (TokenTiming), and each segment its own."""
    window = INPUT_STRIDE * max_source_positions
    batch, _, frames = features.shape
    if frames > window and batch > 1 and attention_mask is None:
        raise ValueError("Transcribing several examples longer than 30 s needs the attention_mask of their features "
                         "(the feature extractor's return_attention_mask=True, with truncation=False and "
                         "padding='longest'), which says where each example's audio ends.")  # fmt: skip
    ends = (np.asarray(attention_mask).sum(-1).astype(np.int64) if frames > window and batch > 1
            else np.full(batch, frames, dtype=np.int64))  # fmt: skip
    copies = config.num_return_sequences or 1
    if copies > 1:  # as transformers does: each example repeated, one sequence each (the same, for a search)
        features, prompt = np.repeat(features, copies, axis=0), np.repeat(prompt, copies, axis=0)
        ends, batch, config.num_return_sequences = np.repeat(ends, copies), batch * copies, 1
        if timing is not None and timing.frames is not None:
            timing.frames = np.repeat(timing.frames, copies)
        if previous is not None:
            previous = previous.repeated(copies)
    no_timestamps = getattr(config, "no_timestamps_token_id", None)
    begin = no_timestamps + 1 if no_timestamps is not None else vocab_size + 1
    eos = config.eos_ids()
    pad = config.pad_id()
    seek = np.zeros(batch, dtype=np.int64)
    kept: list[list[np.ndarray]] = [[] for _ in range(batch)]
    if segments is not None:
        segments[:] = [[] for _ in range(batch)]
    if times is not None:
        times[:] = [[] for _ in range(batch)]
    while (seek < ends).any():
        rows = np.flatnonzero(seek < ends)
        spans = np.minimum(ends[rows] - seek[rows], window)
        segment = np.zeros((len(rows), features.shape[1], window), dtype=features.dtype)
        for i, (row, span) in enumerate(zip(rows, spans)):
            segment[i, :, :span] = features[row, :, seek[row] : seek[row] + span]
        window_prompt, window_mask = previous.prompt(rows, begin) if previous is not None else (prompt[rows], None)
        timed = None
        if timing is not None:
            audio = None if timing.frames is None else timing.frames[rows] - seek[rows]
            timed = timing.for_window(segment, window_prompt.shape[1], audio, window_mask)
        sequences, skipped, temperatures, window_times = window_with_fallback(
            run, segment, window_prompt, config, fallback or Fallback([None]), first_logits=first_logits,
            start_tokens=start_tokens, vocab_size=vocab_size, pad=pad, eos=eos, token_times=timed,
            mask=window_mask)  # fmt: skip
        for i, (row, span) in enumerate(zip(rows, spans)):
            pieces = []
            if skipped[i]:  # silence: nothing kept, on to the next window
                seek[row] += span
            else:
                length = window_prompt.shape[1]
                tokens = _without_padding_and_end(sequences[i][length:], pad, eos)
                closed = _closed_segments(tokens, begin, int(span))
                pieces, advance = closed[:2]
                token_times = None if window_times is None else window_times[i]
                if times is not None:
                    times[row].append(token_times[length : length + sum(len(piece) for piece in pieces)])
                if segments is not None:
                    placed = (int(seek[row]), int(span), time_precision, time_precision_features)
                    segments[row] += window_segments(closed, tokens, begin, placed, length, sequences[i], token_times)
                kept[row] += pieces
                seek[row] += advance
            if previous is not None:
                previous.add(i, row, pieces, temperatures[i])
    if times is not None:
        times[:] = [np.concatenate([np.zeros(0, np.float32), *row]) for row in times]
    joined = [np.concatenate([np.zeros(0, np.int64), *pieces]).astype(np.int64) for pieces in kept]
    width = max(len(tokens) for tokens in joined)
    return np.stack([np.concatenate([t, np.full(width - len(t), pad, np.int64)]) for t in joined])


def window_with_fallback(run, segment: np.ndarray, prompt: np.ndarray, config: GenerationConfig, fallback: Fallback,
                         *, first_logits, start_tokens: int, vocab_size: int, pad: int, eos: list[int],
                         token_times: Callable | None = None, mask: np.ndarray | None = None,
                         ) -> tuple[list[np.ndarray], list[bool], list, list | None]:  # fmt: skip
    """One window's sequences (one per example, prompt included), which examples to skip as silence, the
    temperature each example's sequence came from and, with `token_times(examples, sequences, search log)` ->
    each row's token times, those of each example's sequence (else None), as transformers 4.57's
    generate_with_fallback decides them:
    each temperature in turn (sampling above 0, and from then on num_beams=1 for the rest of the call), the
    examples whose result fails a threshold tried again at the next one. Like transformers, the skip flags and
    (with more than the start token before the text) the no-speech probabilities are indexed by position in
    the batch being retried, not by example."""
    count = len(prompt)
    results: list = [None] * count
    used: list = [None] * count
    times: list | None = None if token_times is None else [None] * count
    skipped = [False] * count
    active = list(range(count))
    window_no_speech = None
    for temperature in fallback.temperatures:
        config.do_sample = temperature is not None and temperature > 0.0
        config.temperature = temperature if config.do_sample else 1.0
        if config.do_sample:
            config.num_beams = 1
        logged = fallback.logprob_threshold is not None or token_times is not None
        config._search_log = SearchLog() if logged else None
        sequences = np.asarray(run(segment[active], prompt[active], None if mask is None else mask[active]))
        if token_times is not None:
            for example, row_times in zip(active, token_times(active, sequences, config._search_log)):
                times[example] = row_times
        no_speech = None
        if fallback.no_speech_threshold is not None:
            if start_tokens == 1:  # the first step's own scores: this attempt's examples
                no_speech = _no_speech_probabilities(first_logits, segment[active], prompt[active], start_tokens, config,
                                                     None if mask is None else mask[active])  # fmt: skip
                # in beam search those scores have a row per beam, read (like the rest) by position in the batch
                no_speech = np.repeat(no_speech, config.num_beams)[: len(active)]
            else:  # one extra forward pass over the window's inputs, once
                if window_no_speech is None:
                    window_no_speech = _no_speech_probabilities(first_logits, segment, prompt, start_tokens, config,
                                                                mask)  # fmt: skip
                no_speech = window_no_speech
        retry = []
        for i, example in enumerate(active):
            results[example], used[example] = sequences[i], temperature
            if not fallback.judges:
                continue
            tokens = _without_padding(sequences[i, prompt.shape[1] :], pad, eos)
            scores = config._search_log.scores_of(i) if config._search_log else None
            again, skipped[i] = _judge(tokens, scores, None if no_speech is None else no_speech[i], temperature,
                                       fallback, vocab_size)  # fmt: skip
            if again:
                retry.append(example)
        active = retry
        if not active:
            break
    config._search_log = None
    return results, skipped, used, times


def _no_speech_probabilities(first_logits, segment: np.ndarray, prompt: np.ndarray, start_tokens: int,
                             config: GenerationConfig, mask: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """The probability of <|nospeech|> (the id before <|notimestamps|>) right after the start token."""
    start = prompt.shape[1] - start_tokens
    logits = first_logits(segment, prompt[:, : start + 1], None if mask is None else mask[:, : start + 1])
    logits = np.asarray(logits, dtype=np.float32)
    return softmax(logits)[:, config.no_timestamps_token_id - 1]


def _judge(tokens: np.ndarray, scores: list | None, no_speech: float | None, temperature, fallback: Fallback,
           vocab_size: int) -> tuple[bool, bool]:  # fmt: skip
    """(try again at the next temperature, skip as silence) for one example's generated tokens."""
    again = skip = False
    if fallback.compression_ratio_threshold is not None:
        again = compression_ratio(tokens, vocab_size) > fallback.compression_ratio_threshold
    if fallback.logprob_threshold is not None:
        logprob = average_logprob(scores, tokens, temperature)
        again = again or bool(logprob < fallback.logprob_threshold)
        if fallback.no_speech_threshold is not None and logprob < fallback.logprob_threshold and (
                no_speech > fallback.no_speech_threshold):  # fmt: skip
            again, skip = False, True
    return again, skip


def compression_ratio(tokens: np.ndarray, vocab_size: int) -> float:
    """How well zlib compresses the tokens (each in as few little-endian bytes as the vocabulary needs): high
    for repetitive output."""
    width = int(math.log2(vocab_size) / 8) + 1
    data = b"".join(int(token).to_bytes(width, "little") for token in tokens)
    return len(data) / len(zlib.compress(data))


def average_logprob(scores: list[np.ndarray], tokens: np.ndarray, temperature: float) -> float:
    """The mean log-probability of the tokens (the end token included) under each step's scores, the
    temperature's scaling undone; summed in float32, one token after another, as transformers sums them."""
    steps = np.stack(scores).astype(np.float32)
    if len(steps) > len(tokens):
        steps = steps[: len(tokens)]
    else:
        tokens = tokens[len(tokens) - len(steps) :]
    if not len(tokens):
        return float("nan")
    logprobs = log_softmax(steps * np.float32(temperature if temperature > 0.0 else 1))
    total = np.float32(0)
    for step, token in enumerate(tokens):
        total = np.float32(total + logprobs[step, token])
    return float(total / np.float32(len(tokens)))


def _without_padding(tokens: np.ndarray, pad: int, eos: list[int]) -> np.ndarray:
    """A generated row without its padding (every pad token counted, one kept when it is also the end token)."""
    if len(tokens) and tokens[-1] == pad:
        padding = int((tokens == pad).sum()) - (1 if pad in eos else 0)
        if padding:
            tokens = tokens[:-padding]
    return tokens


def _without_padding_and_end(tokens: np.ndarray, pad: int, eos: list[int]) -> np.ndarray:
    """A generated row without its padding and without a final end token."""
    tokens = _without_padding(tokens, pad, eos)
    if len(tokens) and tokens[-1] in eos:
        tokens = tokens[:-1]
    return tokens


def _closed_segments(tokens: np.ndarray, begin: int, span: int) -> tuple[list[np.ndarray], int, bool, bool]:
    """(the segments to keep, how many feature frames to move on, whether a timestamp pair closed any, whether
    the window ends on a single timestamp). A pair of timestamps closes a segment; a single timestamp at the
    very end means nothing more is said in the window; a window without a pair is kept whole."""
    is_time = tokens >= begin
    pairs = (np.flatnonzero(is_time[:-1] & is_time[1:]) + 1).tolist()
    single_ending = is_time[-2:].tolist() == [False, True]
    if not pairs:
        return [tokens], span, False, single_ending
    if single_ending:
        pairs.append(len(tokens))
    else:
        pairs[-1] += 1  # the last segment keeps both timestamps of its closing pair
    pieces, start = [], 0
    for end in pairs:
        pieces.append(tokens[start:end])
        start = end
    if single_ending:
        return pieces, span, True, True
    return pieces, int(tokens[start - 2] - begin) * INPUT_STRIDE, True, False


def window_segments(closed: tuple, tokens: np.ndarray, begin: int, timing: tuple, prompt_length: int,
                    result: np.ndarray, times: np.ndarray | None = None) -> list[dict]:  # fmt: skip
    """The segments of one window as transformers 4.57's return_segments gives them: "start" and "end" in
    seconds (float64), "tokens", "idxs" (where the tokens sit in the window's sequence) and "result" (that
    sequence, prompt included). `closed` is what _closed_segments said of the window's tokens; `timing` = (the
    window's first feature frame, its frames, seconds per timestamp token, seconds per feature frame). A closed
    segment ends at the first timestamp of the pair that closes it; a window without one is one segment, ending
    at its last timestamp, else at the window's end. With the window's token `times` (return_token_timestamps),
    "result" is {"sequences", "token_timestamps"} and each segment has its tokens' "token_timestamps", moved
    to the window's start (float32)."""
    pieces, _, paired, single_ending = closed
    seek, span, precision, feature_precision = timing
    offset = np.float64(seek) * precision / INPUT_STRIDE
    if not paired:
        # seconds -> timestamp positions in float32, as transformers computes them from the frame count
        last = int(np.float32(span) * np.float32(feature_precision) / np.float32(precision))
        stamps = tokens[tokens >= begin]
        end = np.float64(stamps[-1] - begin) * precision if stamps.size and stamps[-1] != begin else last * precision
        records = [{"start": np.array(offset), "end": np.array(offset + end), "tokens": tokens,
                    "idxs": (prompt_length, prompt_length + len(tokens)), "result": result}]  # fmt: skip
    else:
        records, position = [], prompt_length
        for index, piece in enumerate(pieces):
            closing = -1 if index < len(pieces) - 1 or single_ending else -2
            records.append({"start": np.array(offset + np.float64(piece[0] - begin) * precision),
                            "end": np.array(offset + np.float64(piece[closing] - begin) * precision), "tokens": piece,
                            "idxs": (position, position + len(piece)), "result": result})  # fmt: skip
            position += len(piece)
    if times is not None:
        for record in records:
            first, end = record["idxs"]
            record["token_timestamps"] = times[first:end] + np.float32(offset)
            record["result"] = {"sequences": result, "token_timestamps": times}
    return records
