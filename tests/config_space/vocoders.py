"""Random configs of SpeechT5's HiFi-GAN vocoder (SpeechT5HifiGan, a class no Auto family builds): every field its
reference modeling code reads (input width, initial channels, one to three upsampling stages with kernels longer
than their rates by an even or odd amount, one to three residual kernels with their dilations, leaky ReLU slope,
normalize_before), on batched spectrograms of a random frame count."""

from __future__ import annotations

import numpy as np

from .harness import Draw


def hifigan_config(rng) -> dict:
    stages = int(rng.integers(1, 4))
    rates = [int(rng.integers(1, 4)) for _ in range(stages)]
    resblocks = int(rng.integers(1, 4))
    return {
        "model_in_dim": int(rng.integers(2, 10)),
        "upsample_initial_channel": 8 * int(rng.integers(1, 3)) * 2**stages,
        "upsample_rates": rates,
        "upsample_kernel_sizes": [rate + int(rng.integers(0, 4)) for rate in rates],
        "resblock_kernel_sizes": [int(rng.choice([1, 3, 5])) for _ in range(resblocks)],
        "resblock_dilation_sizes": [[int(d) for d in rng.integers(1, 4, size=int(rng.integers(1, 4)))]
                                    for _ in range(resblocks)],  # fmt: skip
        "leaky_relu_slope": float(rng.uniform(0.01, 0.4)),
        "normalize_before": bool(rng.integers(2)),
        "initializer_range": 0.01,
        "sampling_rate": 16000,
    }


def hifigan_inputs(config, rng) -> dict:
    frames = int(rng.integers(1, 9))
    return {"spectrogram": rng.normal(size=(2, frames, config.model_in_dim)).astype(np.float32)}


def hifigan_draw(rng) -> Draw:
    return Draw("hifigan", hifigan_config(rng), families=(), classes=("SpeechT5HifiGan",), inputs=hifigan_inputs,
                call_kwargs={})  # fmt: skip


GENERATORS = {"hifigan": hifigan_draw}
