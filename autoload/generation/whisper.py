"""Whisper's decoder prompt: <|startoftranscript|>, then the language, the task and <|notimestamps|>.

The ids come from generation_config.json (lang_to_id, task_to_id, no_timestamps_token_id), as in the
checkpoints on the Hub (or its older forced_decoder_ids). When no language is given or forced, a
checkpoint with a lang_to_id table detects it per example from the first decoder step, restricted to the
language tokens.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .config import GenerationConfig


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
    else the forced one; then <|notimestamps|>.

    first_logits(tokens [batch, 1]) -> [batch, vocab] next-token logits after the start token; it is
    called only to detect the language.
    """
    if return_timestamps:
        raise NotImplementedError(
            "Whisper timestamp prediction (return_timestamps=True) is not implemented in autoload; "
            "generate without it to get the transcript tokens."
        )
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
        if no_timestamps is not None and row[-1] != no_timestamps:
            row.append(no_timestamps)
    return np.array([[t for t in row if t is not None] for row in rows], dtype=np.int64)
