"""Greedy search, beam search, sampling and beam sampling over any framework's model.

The model is reached through a small adapter with three methods (each backend provides one):
    start(inputs, max_length) -> state          run the encoder (if any), set up a cache for max_length tokens
    step(tokens, state) -> (logits, state)      feed new tokens [rows, n]; logits of the last position
    select(state, rows) -> state                keep / repeat / reorder rows (beams) of the state
Everything else — constraints, scoring, stopping — happens here on numpy arrays, so the three
frameworks produce the same tokens by construction.
"""

from __future__ import annotations

import numpy as np

from .processors import log_softmax, process_logits, softmax, warp_for_sampling


def generate(adapter, prompt: np.ndarray, config, *, encoder_decoder: bool, inputs: dict,
             rng: np.random.Generator | None = None) -> np.ndarray:  # fmt: skip
    """Return the token sequences [batch * num_return_sequences, length] (prompt or start token included)."""
    batch = prompt.shape[0]
    if encoder_decoder:
        inputs = dict(inputs)
        sequences = _decoder_start(config, batch, inputs.pop("decoder_input_ids", None))
        if inputs.get("decoder_attention_mask") is not None:
            inputs["decoder_attention_mask"] = _decoder_mask(inputs["decoder_attention_mask"], sequences)
    else:
        sequences = prompt.astype(np.int64)
    prompt_length = sequences.shape[1]
    max_length = prompt_length + config.max_new_tokens if config.max_new_tokens is not None else config.max_length
    if max_length <= prompt_length:
        raise ValueError(f"Nothing to generate: max_length {max_length} <= input length {prompt_length}; raise "
                         "max_new_tokens.")  # fmt: skip
    state = adapter.start(inputs, max_length)
    if config.num_beams > 1 and config.num_return_sequences > config.num_beams:
        raise ValueError(f"num_return_sequences ({config.num_return_sequences}) cannot exceed num_beams "
                         f"({config.num_beams}) in beam search.")  # fmt: skip
    if config.do_sample and rng is None:
        rng = np.random.default_rng()
    if config.num_beams > 1:
        return _beam_search(adapter, state, sequences, config, max_length, prompt_length, rng)
    if config.num_return_sequences > 1:
        rows = np.repeat(np.arange(batch), config.num_return_sequences)
        state, sequences = adapter.select(state, rows), sequences[rows]
    return _greedy_or_sample(adapter, state, sequences, config, max_length, prompt_length, rng)


def _decoder_start(config, batch: int, decoder_input_ids) -> np.ndarray:
    """The decoder's first tokens: the start token, or a given decoder prompt (prefixed with the start token
    when it does not begin with it, unless the config is marked `_decoder_prompt_as_given`: Whisper's, whose
    prompt may open with a text prompt's <|startofprev|>)."""
    start = config.decoder_start_token_id if config.decoder_start_token_id is not None else config.bos_token_id
    if start is None:
        raise ValueError("Set decoder_start_token_id (generation or model config) to generate with a seq2seq model.")
    if decoder_input_ids is None:
        return np.full((batch, 1), start, dtype=np.int64)
    given = np.asarray(decoder_input_ids, dtype=np.int64)
    if given.ndim != 2 or given.shape[0] != batch:
        raise ValueError(f"decoder_input_ids must be [batch={batch}, length]; got shape {given.shape}.")
    if given.shape[1] == 0 or not (getattr(config, "_decoder_prompt_as_given", False) or (given[:, 0] == start).all()):
        given = np.concatenate([np.full((batch, 1), start, dtype=np.int64), given], axis=1)
    return given


def _decoder_mask(mask, sequences: np.ndarray) -> np.ndarray:
    """generate(decoder_attention_mask=...) for the decoder prompt (0 at padding), with a 1 for each start
    token put in front of the given decoder_input_ids."""
    mask = np.asarray(mask).astype(np.int64)
    added = sequences.shape[1] - (mask.shape[1] if mask.ndim == 2 else 0)
    if mask.ndim != 2 or mask.shape[0] != sequences.shape[0] or added not in (0, 1):
        raise ValueError(f"decoder_attention_mask of shape {mask.shape} does not fit the decoder prompt of shape "
                         f"{sequences.shape} (the decoder_input_ids, with any start token put in front).")  # fmt: skip
    return np.concatenate([np.ones((mask.shape[0], added), np.int64), mask], axis=1)


def _greedy_or_sample(adapter, state, sequences, config, max_length, prompt_length, rng):
    eos = config.eos_ids()
    pad = config.pad_id()
    finished = np.zeros(sequences.shape[0], dtype=bool)
    fed = sequences
    while sequences.shape[1] < max_length:
        logits, state = adapter.step(fed, state)
        scores = process_logits(logits.astype(np.float32), config, sequences.shape[1] - prompt_length,
                                sequences.shape[1], max_length, sequences)  # fmt: skip
        if config.do_sample:
            scores = warp_for_sampling(scores, config.temperature, config.top_k, config.top_p)
            probs = softmax(scores.astype(np.float64))
            tokens = np.array([rng.choice(probs.shape[-1], p=p / p.sum()) for p in probs])
        else:
            tokens = scores.argmax(-1)
        if getattr(config, "_search_log", None) is not None:
            config._search_log.step_scores.append(scores)
        tokens = np.where(finished, pad, tokens)
        sequences = np.concatenate([sequences, tokens[:, None]], axis=1)
        finished |= np.isin(tokens, eos)
        if finished.all():
            break
        fed = tokens[:, None]
    return sequences


def _beam_search(adapter, state, sequences, config, max_length, prompt_length, rng=None):
    """Beam search; with do_sample, beam sampling: each step's candidates are drawn without replacement in
    proportion to their total probability instead of taken best first, and, as in transformers, an ending
    finishes a hypothesis only when drawn among the first num_beams while the best drawn continue."""
    batch, beams = sequences.shape[0], config.num_beams
    eos = config.eos_ids()
    # transformers fills a short hypothesis with `pad_token_id or eos[0]`: a pad id of 0 counts as unset here
    pad = config.pad_token_id or (eos[0] if eos else config.pad_id())
    # enough candidates that `beams` of them continue even if each end token ends one per beam
    keep = 1 + max(1, len(eos))
    state = adapter.select(state, np.repeat(np.arange(batch), beams))
    sequences = np.repeat(sequences, beams, axis=0)
    scores = np.full((batch, beams), -1e9, dtype=np.float32)
    scores[:, 0] = 0.0  # all beams start identical: only the first may expand at step one
    # (score, tokens with the end token, path): path is the row each of its tokens came from, step by step
    # (for a SearchLog)
    finished: list[list[tuple[float, np.ndarray, np.ndarray]]] = [[] for _ in range(batch)]
    paths = np.zeros((batch * beams, 0), dtype=np.int64)  # the running hypotheses' paths
    log = getattr(config, "_search_log", None)
    done = np.zeros(batch, dtype=bool)
    fed = sequences
    while sequences.shape[1] < max_length and not done.all():
        logits, state = adapter.step(fed, state)
        logprobs = process_logits(log_softmax(logits), config, sequences.shape[1] - prompt_length,
                                  sequences.shape[1], max_length, sequences)  # fmt: skip
        if config.do_sample:
            logprobs = warp_for_sampling(logprobs, config.temperature, config.top_k, config.top_p, keep)
        if log is not None:
            log.step_scores.append(logprobs)
            log.first_row.append(sequences[0])
        vocab = logprobs.shape[-1]
        totals = (logprobs.reshape(batch, beams, vocab) + scores[:, :, None]).reshape(batch, beams * vocab)
        if config.do_sample:
            candidates = _drawn_candidates(totals, keep * beams, rng)
        else:
            candidates = np.argsort(-totals, axis=-1, kind="stable")[:, : keep * beams]
        last = sequences.shape[1] + 1 == max_length
        next_rows, next_tokens, next_scores = [], [], []
        for b in range(batch):
            running = []
            for position, flat in enumerate(candidates[b]):
                beam, token, score = flat // vocab, flat % vocab, totals[b, flat]
                if token in eos:
                    if position < beams and not done[b]:  # an ending among the first candidates finishes
                        length = sequences.shape[1] + 1 - prompt_length
                        row = b * beams + beam
                        finished[b].append((score / length**config.length_penalty, np.append(sequences[row], token),
                                            np.append(paths[row], row)))  # fmt: skip
                    continue
                if last and position >= beams:  # at max_length only the first candidates become hypotheses
                    score = -np.inf
                running.append((beam, token, score))
            # the best continue (drawn candidates come in the order drawn); an example that is done keeps its
            # best running beams going (as transformers does, so that a SearchLog's first row is transformers')
            chosen = sorted(running, key=lambda c: -c[2])[:beams]
            if not done[b] and len(finished[b]) >= beams and (config.early_stopping is True or _cannot_improve(
                    finished[b], chosen, sequences.shape[1] + 1 - prompt_length, max_length - prompt_length, config)):  # fmt: skip
                done[b] = True
            for beam, token, score in chosen:
                next_rows.append(b * beams + beam)
                next_tokens.append(token)
                next_scores.append(score)
        rows = np.asarray(next_rows)
        state = adapter.select(state, rows)
        tokens = np.asarray(next_tokens, dtype=np.int64)
        sequences = np.concatenate([sequences[rows], tokens[:, None]], axis=1)
        paths = np.concatenate([paths[rows], rows[:, None]], axis=1)
        scores = np.asarray(next_scores, dtype=np.float32).reshape(batch, beams)
        fed = tokens[:, None]
    best, best_paths = [], []
    for b in range(batch):
        candidates = list(finished[b])
        if not done[b]:
            length = sequences.shape[1] - prompt_length
            candidates += [(scores[b, k] / length**config.length_penalty, sequences[b * beams + k], paths[b * beams + k])
                           for k in range(beams)]  # fmt: skip
        ranked = sorted(candidates, key=lambda c: -c[0])[: config.num_return_sequences]  # stable: ties keep their order
        best += [tokens for _, tokens, _ in ranked]
        best_paths += [path for _, _, path in ranked]
    if log is not None:
        log.beam_paths = best_paths
    return _padded(best, pad)


def _drawn_candidates(totals: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Per example, `count` flat (beam, token) indices drawn without replacement in proportion to
    exp(total score), in the order drawn (transformers' torch.multinomial over the softmax)."""
    probs = softmax(totals.astype(np.float64))
    drawn = []
    for row in probs:
        possible = np.count_nonzero(row)
        if possible < count:
            raise ValueError(f"Beam sampling draws {count} candidates per step ((1 + number of end tokens) x "
                             f"num_beams), but only {possible} have a non-zero probability after top_k / top_p; "
                             "raise top_k or top_p, or lower num_beams.")  # fmt: skip
        drawn.append(rng.choice(row.size, size=count, replace=False, p=row / row.sum()))
    return np.stack(drawn)


class SearchLog:
    """Set as a config's `_search_log`, it collects each step's scores [rows, vocab] (transformers'
    output_scores: after the logits processors and sampling warpers; in beam search, the processed
    log-probabilities of every beam) for Whisper's long-form thresholds and, in beam search, what Whisper's
    token timestamps read: each returned row's beam path and the first beam's tokens at each step. Copies of the
    config share the one log."""

    def __init__(self):
        self.step_scores: list[np.ndarray] = []
        self.beam_paths: list[np.ndarray] | None = None  # beam search: each returned row's beams, step by step
        self.first_row: list[np.ndarray] = []  # beam search: row 0's tokens as each step fed them

    def __deepcopy__(self, memo):
        return self

    def scores_of(self, row: int) -> list[np.ndarray]:
        """A returned row's scores at each step: its own row in a greedy or sampling search; in beam search, as
        transformers reads them, the row of the beam each of its tokens came from."""
        if self.beam_paths is None:
            return [step[row] for step in self.step_scores]
        return [self.step_scores[t][beam] for t, beam in enumerate(self.beam_paths[row])]


def _cannot_improve(hypotheses, chosen, length: int, longest: int, config) -> bool:
    """Whether the best running beam, at this length (early_stopping="never" with a positive length penalty: at
    the longest length allowed), scores no better than the worst of the num_beams best finished hypotheses
    (transformers keeps only those), so that no new hypothesis can be among them."""
    worst = sorted((score for score, _, _ in hypotheses), reverse=True)[config.num_beams - 1]
    if config.early_stopping == "never" and config.length_penalty > 0.0:
        length = longest
    best_running = max((score for _, _, score in chosen), default=-np.inf) / length**config.length_penalty
    return best_running <= worst


def _padded(rows: list[np.ndarray], pad: int) -> np.ndarray:
    width = max(len(row) for row in rows)
    return np.stack([np.concatenate([row, np.full(width - len(row), pad, dtype=np.int64)]) for row in rows])
