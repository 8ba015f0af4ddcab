"""Whisper's token-level timestamps (generate(return_token_timestamps=True)), as transformers 4.57 computes them:
the cross-attention weights of the generation config's alignment heads over each token, normalised per audio
frame across the tokens, smoothed over time with a median filter and averaged over the heads, then aligned to
the audio frames by dynamic time warping; a token's time is the frame at which the alignment reaches it.

The weights come from the backend: one teacher-forced decoder pass over a window's sequences gives every
position's cross-attentions, the same weights the decoding steps computed one position at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..postprocessing.arrays import to_numpy
from .positions import widened_mask

# transformers reads each token's time at this precision (seconds per encoder position), whatever the call's
# time_precision.
SECONDS_PER_POSITION = 0.02


def alignment_heads(config, decoder_layers: int, decoder_heads: int) -> list[tuple[int, int]]:
    """The generation config's alignment_heads as (layer, head) pairs, checked against the decoder's size."""
    heads = getattr(config, "alignment_heads", None)
    if heads is None:
        raise ValueError("return_token_timestamps needs alignment_heads in the generation config: the (layer, head) "
                         "pairs of decoder cross-attention that follow the audio (Hub Whisper checkpoints' "
                         "generation_config.json lists them).")  # fmt: skip
    pairs = []
    for pair in heads:
        integers = isinstance(pair, (list, tuple)) and all(isinstance(i, (int, np.integer)) for i in pair)
        if not integers or len(pair) != 2:
            raise ValueError(f"alignment_heads must be [layer, head] pairs of integers; got {pair!r} in {heads!r}.")
        layer, head = int(pair[0]), int(pair[1])
        if not (-decoder_layers <= layer < decoder_layers and -decoder_heads <= head < decoder_heads):
            raise ValueError(f"alignment_heads names layer {layer}, head {head}, but the decoder has {decoder_layers} "
                             f"layers of {decoder_heads} cross-attention heads.")  # fmt: skip
        pairs.append((layer, head))
    if not pairs:
        raise ValueError("alignment_heads is empty: return_token_timestamps needs at least one (layer, head) pair.")
    return pairs


def check_filter_width(width) -> int:
    if not isinstance(width, (int, np.integer)) or width <= 0 or width % 2 != 1:
        raise ValueError(f"median_filter_width must be a positive odd number, got {width!r} (the model config's "
                         "median_filter_width, 7 in Hub Whisper checkpoints).")  # fmt: skip
    return int(width)


def median_filter(values: np.ndarray, width: int) -> np.ndarray:
    """Each value replaced by the median of the `width` values centred on it along the last axis, the edges
    mirrored (without repeating the edge value); unchanged when that axis is not longer than width // 2."""
    check_filter_width(width)
    half = width // 2
    if values.shape[-1] <= half:
        return values
    padded = np.pad(values, [(0, 0)] * (values.ndim - 1) + [(half, half)], mode="reflect")
    windows = np.lib.stride_tricks.sliding_window_view(padded, width, axis=-1)
    return np.sort(windows, axis=-1)[..., half]


def dynamic_time_warping(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(token indices, frame indices) of the cheapest monotonic path through cost [tokens, frames], from the
    first cell to the last. The cumulative cost is kept in float32 and a cell's ties go to the left neighbour,
    then the upper one, as in transformers. Cells are filled one anti-diagonal at a time (each depends only on
    the two before it)."""
    tokens, frames = cost.shape
    total = np.full((tokens + 1, frames + 1), np.inf, dtype=np.float32)
    total[0, 0] = 0
    trace = np.full((tokens + 1, frames + 1), -1, dtype=np.int8)
    cost = np.asarray(cost, dtype=np.float64)
    for diagonal in range(2, tokens + frames + 1):
        i = np.arange(max(1, diagonal - frames), min(tokens, diagonal - 1) + 1)
        j = diagonal - i
        diag, up, left = total[i - 1, j - 1], total[i - 1, j], total[i, j - 1]
        step = np.where((diag < up) & (diag < left), 0, np.where((up < diag) & (up < left), 1, 2))
        best = np.choose(step, (diag, up, left))
        total[i, j] = cost[i - 1, j - 1] + best.astype(np.float64)
        trace[i, j] = step
    trace[0, :] = 2
    trace[:, 0] = 1
    i, j = tokens, frames
    path_tokens, path_frames = [], []
    while i > 0 or j > 0:
        path_tokens.append(i - 1)
        path_frames.append(j - 1)
        move = trace[i, j]
        if move == 0:
            i, j = i - 1, j - 1
        elif move == 1:
            i -= 1
        else:
            j -= 1
    return np.array(path_tokens[::-1]), np.array(path_frames[::-1])


def token_timestamps(weights: np.ndarray, *, prompt_length: int, frames: np.ndarray | None,
                     median_filter_width: int) -> np.ndarray:  # fmt: skip
    """[rows, positions + 1] float32 seconds for each token of a window's sequences (prompt included: its tokens
    get 0.0). `weights` [rows, alignment heads, positions, encoder positions] are the cross-attentions of every
    position but the last (whose token was never fed), `frames` each row's feature frames in the window (None:
    the whole window; an encoder position covers two frames). The last token gets the time of the one before."""
    rows, _, positions, _ = weights.shape
    times = np.zeros((rows, positions + 1), dtype=np.float32)
    if positions <= prompt_length:  # only the prompt was fed: nothing to align
        return times
    for row in range(rows):
        matrix = weights[row, :, prompt_length:, :]
        if frames is not None:
            matrix = matrix[..., : int(frames[row]) // 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            matrix = (matrix - matrix.mean(axis=-2, keepdims=True)) / matrix.std(axis=-2, keepdims=True)
        matrix = median_filter(matrix, median_filter_width).mean(axis=0)
        text, time = dynamic_time_warping(-matrix.astype(np.float64))
        jumps = np.concatenate([[True], np.diff(text) != 0])
        seconds = time[jumps] * SECONDS_PER_POSITION
        times[row, prompt_length:] = np.concatenate([seconds, seconds[-1:]])
    return times


@dataclass
class TokenTiming:
    """return_token_timestamps for one generate call: `weights(features [1, mel, frames], tokens [1, n], heads,
    mask)` -> [1, len(heads), n, encoder positions] is the backend's teacher-forced decoder pass (`mask`: the
    decoder attention mask of a left-padded prompt, or None); `frames` are each example's feature frames (the
    call's attention_mask, or its deprecated num_frames; None: no cropping)."""

    weights: Callable
    heads: list
    frames: np.ndarray | None
    median_filter_width: int

    @classmethod
    def for_call(cls, kwargs: dict, config, model_config, batch: int, weights: Callable) -> TokenTiming | None:
        """None unless the call asks for token timestamps (transformers reads only the call's
        return_token_timestamps, not the generation config's)."""
        if not kwargs.get("return_token_timestamps"):
            return None
        heads = alignment_heads(config, model_config.decoder_layers, model_config.decoder_attention_heads)
        frames = kwargs.get("num_frames")
        if frames is None and kwargs.get("attention_mask") is not None:
            frames = to_numpy(kwargs["attention_mask"]).sum(-1)
        if frames is not None:
            frames = np.broadcast_to(to_numpy(frames).astype(np.int64), (batch,)).copy()
        return cls(weights, heads, frames, check_filter_width(model_config.median_filter_width))

    def for_window(self, features: np.ndarray, prompt_length: int, frames: np.ndarray | None,
                   mask: np.ndarray | None = None) -> Callable:  # fmt: skip
        """window_with_fallback's token_times for one window: (the examples of an attempt, their sequences, the
        attempt's SearchLog) -> each one's times (window_times)."""

        def times(examples, sequences, log):
            return self.window_times(features[examples], sequences, prompt_length,
                                     None if frames is None else frames[examples], log,
                                     None if mask is None else mask[examples])  # fmt: skip

        return times

    def window_times(self, features: np.ndarray, sequences: np.ndarray, prompt_length: int,
                     frames: np.ndarray | None, log=None, mask: np.ndarray | None = None) -> list[np.ndarray]:  # fmt: skip
        """[width] float32 seconds for each row of one generate call's `sequences` [rows, width] (prompt
        included), from `features` [rows, mel, frames], each row's feature `frames` of audio (None: all) and the
        prompts' decoder attention `mask` (None: no padding). After a beam search (`log`, a SearchLog with its
        beam paths), a row shorter than the longest is read, past its end, from the first beam's
        cross-attentions at those steps, as transformers reads them."""
        masks = [None] * len(sequences) if mask is None else list(mask)
        weights = [self._weights(features[i], sequences[i, :-1], masks[i]) for i in range(len(sequences))]
        paths = getattr(log, "beam_paths", None)
        if paths is not None:
            lengths = [len(path) for path in paths]
            steps = range(min(lengths), max(lengths))
            borrowed = self._first_row_weights(features[0], log.first_row, steps, masks[0]) if steps else {}
            for row, length in enumerate(lengths):
                for step in range(length, max(lengths)):
                    weights[row][:, prompt_length - 1 + step] = borrowed[step]
        return [token_timestamps(row_weights[None], prompt_length=prompt_length,
                                 frames=None if frames is None else frames[i : i + 1],
                                 median_filter_width=self.median_filter_width)[0]
                for i, row_weights in enumerate(weights)]  # fmt: skip

    def _weights(self, features: np.ndarray, tokens: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        """[heads, len(tokens), encoder positions]: the alignment heads' cross-attentions of each token (`mask`:
        its prompt's decoder attention mask, the tokens after it real)."""
        mask = None if mask is None else widened_mask(mask[None], len(tokens))
        return np.asarray(self.weights(features[None], tokens[None], self.heads, mask), dtype=np.float32)[0].copy()

    def _first_row_weights(self, features: np.ndarray, fed: list[np.ndarray], steps: range,
                           mask: np.ndarray | None) -> dict:  # fmt: skip
        """{step: [heads, encoder positions]}: the first beam's cross-attentions for the token it fed at each
        step. One decoder pass covers every step whose tokens are a prefix of a later step's."""
        found = {}
        covering = None
        for step in reversed(steps):
            tokens = fed[step]
            if covering is None or not np.array_equal(covering[: len(tokens)], tokens):
                covering, weights = tokens, self._weights(features, tokens, mask)
            found[step] = weights[:, len(tokens) - 1]
        return found


def padded_times(rows: list[np.ndarray], width: int) -> np.ndarray:
    """Each example's token times right-padded to `width` with its last time (0.0 for none), as transformers
    pads them beside the padded tokens."""
    padded = [np.concatenate([t, np.full(width - len(t), t[-1] if len(t) else 0.0, np.float32)]) for t in rows]
    return np.stack(padded).astype(np.float32) if padded else np.zeros((0, width), np.float32)
