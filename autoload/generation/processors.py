"""Logits processors and warpers, in numpy, applied in the order transformers applies them."""

from __future__ import annotations

import numpy as np

NEG_INF = -np.inf


def process_logits(scores: np.ndarray, config, new_tokens: int, length: int, max_length: int,
                   sequences: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """Constraints on the next token's log-probabilities (or logits) for every row.

    `new_tokens` is how many tokens were generated so far, `length` the current sequence length, `sequences`
    the tokens so far per row (prompt or decoder start included), which repetition_penalty,
    no_repeat_ngram_size and bad_words_ids look at.
    """
    scores = scores.copy()
    eos = config.eos_ids()
    if sequences is not None:
        _penalise_repetitions(scores, sequences, getattr(config, "repetition_penalty", 1.0))
        _ban_repeated_ngrams(scores, sequences, getattr(config, "no_repeat_ngram_size", 0))
        _ban_bad_words(scores, sequences, getattr(config, "bad_words_ids", None), eos)
    if eos and ((config.min_new_tokens and new_tokens < config.min_new_tokens) or length < (config.min_length or 0)):
        scores[:, [i for i in eos if 0 <= i < scores.shape[1]]] = NEG_INF  # (an id past the vocabulary never comes)
    if config.suppress_tokens:
        scores[:, list(config.suppress_tokens)] = NEG_INF
    if config.begin_suppress_tokens and new_tokens == 0:
        scores[:, list(config.begin_suppress_tokens)] = NEG_INF
    if config.forced_bos_token_id is not None and length == 1:
        scores[:] = NEG_INF
        scores[:, config.forced_bos_token_id] = 0
    if config.forced_eos_token_id is not None and length == max_length - 1:
        forced = config.forced_eos_token_id
        scores[:] = NEG_INF
        scores[:, [forced] if isinstance(forced, int) else list(forced)] = 0
    if getattr(config, "_predict_timestamps", False) and sequences is not None:  # set by Whisper's generate
        scores = apply_timestamp_rules(scores, sequences[:, sequences.shape[1] - new_tokens :], config)
    return scores


def apply_timestamp_rules(scores: np.ndarray, generated: np.ndarray, config) -> np.ndarray:
    """Whisper's timestamp grammar on the next token's scores, per row of generated tokens (after the prompt):
    never <|notimestamps|>; the first token a timestamp (at most max_initial_timestamp_index); timestamps
    come in pairs (a lone one may only close the transcript) and never go back; and when the timestamps
    together are likelier than the best text token, a timestamp comes next."""
    begin = config.no_timestamps_token_id + 1
    eos = config.eos_token_id if config.eos_token_id is not None else config.bos_token_id
    eos = eos[0] if isinstance(eos, (list, tuple)) else eos
    scores = scores.copy()
    scores[:, config.no_timestamps_token_id] = -np.inf
    for row, tokens in enumerate(generated.tolist()):
        last_is_time = len(tokens) >= 1 and tokens[-1] >= begin
        before_is_time = len(tokens) < 2 or tokens[-2] >= begin
        if last_is_time:
            if before_is_time:  # a pair just closed: text (or the end) next
                scores[row, begin:] = -np.inf
            else:  # an opening timestamp: its closing one (or the end) next
                scores[row, :eos] = -np.inf
        times = [token for token in tokens if token >= begin]
        if times:
            lowest = times[-1] if last_is_time and not before_is_time else times[-1] + 1
            scores[row, begin:lowest] = -np.inf
    if generated.shape[1] == 0:
        scores[:, :begin] = -np.inf
        initial = getattr(config, "max_initial_timestamp_index", None)
        if initial is not None:
            scores[:, begin + initial + 1 :] = -np.inf
    if getattr(config, "_detect_timestamp_from_logprob", True):
        logprobs = log_softmax(scores)
        for row in range(scores.shape[0]):
            with np.errstate(divide="ignore"):
                time_mass = np.logaddexp.reduce(logprobs[row, begin:])
            if time_mass > logprobs[row, :begin].max():
                scores[row, :begin] = -np.inf
    return scores


def _penalise_repetitions(scores: np.ndarray, sequences: np.ndarray, penalty) -> None:
    """Tokens already in a row: negative scores multiplied by the penalty, positive ones divided by it."""
    if penalty is None or penalty == 1.0:
        return
    if penalty <= 0:
        raise ValueError(f"repetition_penalty must be a positive float, got {penalty}.")
    for row, tokens in enumerate(sequences):
        seen = np.unique(tokens)
        values = scores[row, seen]
        scores[row, seen] = np.where(values < 0, values * penalty, values / penalty)


def _ban_repeated_ngrams(scores: np.ndarray, sequences: np.ndarray, size) -> None:
    """No n-gram of `size` tokens may occur twice in a row's sequence."""
    if not size:
        return
    if sequences.shape[1] + 1 < size:
        return
    for row, tokens in enumerate(sequences.tolist()):
        prefix = tuple(tokens[len(tokens) - size + 1 :]) if size > 1 else ()
        banned = {tokens[i + size - 1] for i in range(len(tokens) - size + 1) if tuple(tokens[i : i + size - 1]) == prefix}
        if banned:
            scores[row, sorted(banned)] = NEG_INF


def _ban_bad_words(scores: np.ndarray, sequences: np.ndarray, bad_words_ids, eos: list[int]) -> None:
    """A bad word's last token is banned where the row ends with the rest of it (always, for one-token words);
    a bad word that is just an end-of-sequence token is ignored, as transformers ignores it."""
    if not bad_words_ids:
        return
    words = [list(word) for word in bad_words_ids if list(word) not in [[e] for e in eos]]
    for row, tokens in enumerate(sequences.tolist()):
        banned = [word[-1] for word in words if len(word) == 1 or tokens[len(tokens) - len(word) + 1 :] == word[:-1]]
        if banned:
            scores[row, banned] = NEG_INF


def warp_for_sampling(logits: np.ndarray, temperature: float, top_k: int | None, top_p: float | None,
                      min_tokens_to_keep: int = 1) -> np.ndarray:
    """Temperature, then top-k, then nucleus (top-p) filtering; removed tokens get -inf. Both filters keep at
    least min_tokens_to_keep tokens (beam sampling keeps enough for every beam and end token)."""
    if temperature is not None and temperature <= 0:
        raise ValueError(f"temperature must be > 0 for sampling, got {temperature}.")
    logits = logits / (temperature or 1.0)
    if top_k:
        k = min(max(top_k, min_tokens_to_keep), logits.shape[-1])
        kth = np.sort(logits, axis=-1)[:, -k][:, None]
        logits = np.where(logits < kth, NEG_INF, logits)
    if top_p is not None and top_p < 1.0:
        order = np.argsort(logits, axis=-1)  # ascending, as the cumulative mass is taken from the low end
        sorted_logits = np.take_along_axis(logits, order, axis=-1)
        cumulative = np.cumsum(softmax(sorted_logits), axis=-1)
        remove_sorted = cumulative <= 1 - top_p
        remove_sorted[:, -min_tokens_to_keep:] = False  # always keep the most likely tokens
        remove = np.zeros_like(remove_sorted)
        np.put_along_axis(remove, order, remove_sorted, axis=-1)
        logits = np.where(remove, NEG_INF, logits)
    return logits


def softmax(x: np.ndarray) -> np.ndarray:
    x = x - np.max(x, axis=-1, keepdims=True)
    e = np.exp(x)
    return e / np.sum(e, axis=-1, keepdims=True)


def log_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float32) - np.max(x, axis=-1, keepdims=True)
    return x - np.log(np.sum(np.exp(x), axis=-1, keepdims=True))
