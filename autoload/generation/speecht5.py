"""SpeechT5's spectrogram generation (transformers' generate_speech), once for every framework.

The framework supplies a `steps` object: `encode(input_ids, attention_mask)` -> encoder states,
`step(frames, speaker_embeddings, encoded, encoder_mask, past, output_attentions)` -> (spectrum
[batch, reduction * mel], stop logits [batch, reduction], past, cross attentions [layers * batch, heads, 1, source]
or None), `postnet(spectrogram)`, `tensor(array)`, `numpy(tensor)`, `finish()`. The loop keeps the frames in
numpy and hands the framework the whole output sequence each step (the decoder pre-net runs over all of it, as
in transformers, so its dropout draws are made in the same order).

Loop and return values follow transformers 4.57.6: step i feeds the decoder the last pre-net frame; an example
stops at the first step (not before minlen = int(source * minlenratio / reduction_factor)) whose summed stop
probabilities reach `threshold`, every example stops at maxlen = int(source * maxlenratio / reduction_factor);
a finished example keeps the post-net output computed over all steps made so far.
"""

from __future__ import annotations

import numpy as np


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _pad(rows: list[np.ndarray]) -> np.ndarray:
    length = max(r.shape[0] for r in rows)
    out = np.zeros((len(rows), length, *rows[0].shape[1:]), dtype=rows[0].dtype)
    for i, r in enumerate(rows):
        out[i, : r.shape[0]] = r
    return out


def speaker_rows(speaker_embeddings, batch: int, numpy_of) -> np.ndarray | None:
    """One speaker embedding per example: a single row is repeated for the batch."""
    if speaker_embeddings is None:
        return None
    rows = np.asarray(numpy_of(speaker_embeddings), dtype=np.float32)
    if rows.ndim == 1:
        rows = rows[None]
    if rows.shape[0] != batch:
        if rows.shape[0] != 1:
            raise ValueError("The first dimension of speaker_embeddings must be either 1 or the same as batch_size.")
        rows = np.repeat(rows, batch, axis=0)
    return rows


def generate_speech(steps, input_ids, attention_mask=None, speaker_embeddings=None, threshold: float = 0.5,
                    minlenratio: float = 0.0, maxlenratio: float = 20.0, vocoder=None, output_cross_attentions=False,
                    return_output_lengths=False):  # fmt: skip
    config = steps.model.config
    ids = np.asarray(steps.numpy(input_ids)).astype(np.int64)
    batch = ids.shape[0]
    speakers = speaker_rows(speaker_embeddings, batch, steps.numpy)
    if speakers is None:
        raise ValueError(
            "speaker_embeddings must be given to generate speech with SpeechT5: a [batch or 1, "
            f"{config.speaker_embedding_dim}] x-vector per speaker (e.g. from the CMU ARCTIC x-vectors data set)."
        )
    if attention_mask is None:
        mask = (ids != config.pad_token_id).astype(np.int64)
    else:
        mask = np.asarray(steps.numpy(attention_mask)).astype(np.int64)
    mask_tensor = steps.tensor(mask)
    try:
        encoded = steps.encode(steps.tensor(ids), mask_tensor)
        source = int(encoded.shape[1])
        reduction, mel = config.reduction_factor, config.num_mel_bins
        maxlen = int(source * maxlenratio / reduction)
        minlen = int(source * minlenratio / reduction)
        frames = np.zeros((batch, 1, mel), np.float32)
        speaker_tensor = steps.tensor(speakers)
        spectrum_steps, cross_steps, results, past, idx = [], [], {}, None, 0
        while True:
            idx += 1
            spectrum, stop, past, cross = steps.step(steps.tensor(frames), speaker_tensor, encoded, mask_tensor, past,
                                                     output_cross_attentions)  # fmt: skip
            spectrum = np.asarray(steps.numpy(spectrum), np.float32).reshape(batch, reduction, mel)
            spectrum_steps.append(spectrum)
            if output_cross_attentions:
                cross_steps.append(np.asarray(steps.numpy(cross), np.float32))
            frames = np.concatenate([frames, spectrum[:, -1:]], axis=1)
            prob = _sigmoid(np.asarray(steps.numpy(stop), np.float32))
            if idx < minlen:
                continue
            if idx < maxlen:
                met = [int(i) for i in np.nonzero(prob.sum(-1) >= threshold)[0]]
            else:
                met = list(range(batch))
            met = [i for i in met if i not in results]
            if met:
                so_far = np.stack(spectrum_steps, axis=1).reshape(batch, -1, mel)
                post = np.asarray(steps.numpy(steps.postnet(steps.tensor(so_far))), np.float32)
                for i in met:
                    results[i] = post[i]
            if len(results) >= batch:
                break
    finally:
        steps.finish()
    spectrograms = [results[i] for i in range(batch)]
    cross = None
    if output_cross_attentions:
        cross = np.concatenate(cross_steps, axis=2)
        if batch > 1 or return_output_lengths:
            cross = cross.reshape(batch, cross.shape[0] // batch, *cross.shape[1:])
        cross = steps.tensor(cross)
    if not return_output_lengths:
        spectrogram = steps.tensor(spectrograms[0] if batch == 1 else _pad(spectrograms))
        outputs = vocoder(spectrogram) if vocoder is not None else spectrogram
        return (outputs, cross) if output_cross_attentions else outputs
    lengths = [int(s.shape[0]) for s in spectrograms]
    padded = steps.tensor(_pad(spectrograms))
    if vocoder is None:
        outputs = (padded, lengths)
    else:
        waveforms = vocoder(padded)
        per_frame = int(int(waveforms.shape[1]) / max(lengths))
        outputs = (waveforms, [per_frame * n for n in lengths])
    return (*outputs, cross) if output_cross_attentions else outputs
