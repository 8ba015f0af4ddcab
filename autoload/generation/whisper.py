"""Whisper's decoder prompt: <|startoftranscript|>, then the language, the task and <|notimestamps|>.

The ids come from generation_config.json (lang_to_id, task_to_id, no_timestamps_token_id), as in the
checkpoints on the Hub. A multilingual checkpoint asked for no language detects it per example from the
first decoder step, restricted to the language tokens.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .config import GenerationConfig

def whisper_generation_config(model, kwargs: dict) -> GenerationConfig:
    """The config generate() will use: the one passed, the model's, or the model config's defaults,
    with the scalar keyword arguments of this call applied."""
    base = kwargs.get("generation_config") or getattr(model, "generation_config", None)
    base = base or GenerationConfig.from_model_config(model.config)
    scalars = {k: v for k, v in kwargs.items() if k != "generation_config" and isinstance(v, (int, float, str, bool))}
    return base.updated(**{k: v for k, v in scalars.items() if hasattr(base, k)})


def _token_id(table: dict, key: str, what: str) -> int:
    if key in table:
        return int(table[key])
    raise ValueError(
        f"Unknown Whisper {what} {key!r}: generation_config.json knows {', '.join(sorted(table)) or 'none'}."
    )


def language_token(language: str) -> str:
    """'en', 'EN' or '<|en|>' -> '<|en|>'."""
    return language if language.startswith("<|") else f"<|{language.lower()}|>"


def whisper_decoder_prompt(config: GenerationConfig, batch: int, *, language: str | list[str] | None = None,
                           task: str | None = None, return_timestamps: bool | None = None,
                           first_logits: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:  # fmt: skip
    """[batch, n] int64 tokens that open every transcript.

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
    lang_to_id = getattr(config, "lang_to_id", None) or {}
    task_to_id = getattr(config, "task_to_id", None) or {}
    multilingual = bool(getattr(config, "is_multilingual", False))
    if (language is not None or task is not None) and not (lang_to_id if language is not None else task_to_id):
        raise ValueError(
            "This Whisper checkpoint's generation_config.json has no "
            f"{'lang_to_id' if language is not None else 'task_to_id'} table, so language/task cannot be set; "
            "it is an English-only or incomplete checkpoint: call generate() without them."
        )
    columns = [np.full(batch, start, dtype=np.int64)]
    if language is not None:
        languages = [language] * batch if isinstance(language, str) else list(language)
        if len(languages) != batch:
            raise ValueError(f"Got {len(languages)} languages for a batch of {batch}.")
        columns.append(np.array([_token_id(lang_to_id, language_token(x), "language") for x in languages]))
    elif multilingual and lang_to_id:
        if first_logits is None:
            raise ValueError("Pass language= to generate(): this model cannot detect the language here.")
        logits = np.asarray(first_logits(columns[0][:, None]), dtype=np.float32)
        ids = np.array(sorted(int(i) for i in lang_to_id.values()))
        columns.append(ids[logits[:, ids].argmax(-1)])
    if task is not None or (multilingual and task_to_id):
        columns.append(np.full(batch, _token_id(task_to_id, task or "transcribe", "task"), dtype=np.int64))
    no_timestamps = getattr(config, "no_timestamps_token_id", None)
    if no_timestamps is not None:
        columns.append(np.full(batch, no_timestamps, dtype=np.int64))
    return np.stack(columns, axis=1)
