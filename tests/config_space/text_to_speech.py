"""Random configs of VITS: every field its reference modeling code reads for inference (relative-position window,
biases, activation, FFN kernel, stochastic or deterministic duration predictor with its flow sizes, speakers, WaveNet
and HiFi-GAN shapes, speaking rate). noise_scale and noise_scale_duration are 0 so the frameworks' different random
generators do not enter the comparison; dropouts and layerdrop are drawn but only act in training."""

from __future__ import annotations

import numpy as np

from .harness import Draw


def _pick(rng, values):
    return values[int(rng.integers(len(values)))]


def vits_config(rng) -> dict:
    heads = _pick(rng, [1, 2])
    upsample_rates = [_pick(rng, [2, 3]) for _ in range(int(rng.integers(1, 3)))]
    resblocks = int(rng.integers(1, 3))
    speakers = _pick(rng, [1, 3])
    return {
        "vocab_size": 40,
        "hidden_size": 8 * heads,
        "num_hidden_layers": int(rng.integers(1, 3)),
        "num_attention_heads": heads,
        "window_size": None if rng.random() < 0.2 else int(rng.integers(1, 4)),  # null: no relative positions
        "use_bias": bool(rng.integers(2)),
        "ffn_dim": int(rng.integers(8, 25)),
        "ffn_kernel_size": _pick(rng, [1, 2, 3]),
        "hidden_act": _pick(rng, ["relu", "gelu"]),
        "flow_size": _pick(rng, [4, 8]),
        "spectrogram_bins": int(rng.integers(3, 10)),
        "layer_norm_eps": _pick(rng, [1e-5, 1e-3]),
        "layerdrop": 0.1,
        "hidden_dropout": 0.1,
        "attention_dropout": 0.1,
        "activation_dropout": 0.1,
        "use_stochastic_duration_prediction": bool(rng.integers(2)),
        "num_speakers": speakers,
        "speaker_embedding_size": int(rng.integers(2, 7)) if speakers > 1 else 0,
        "upsample_initial_channel": 16,
        "upsample_rates": upsample_rates,
        "upsample_kernel_sizes": [rate + int(rng.integers(0, 3)) for rate in upsample_rates],
        "resblock_kernel_sizes": [_pick(rng, [3, 5]) for _ in range(resblocks)],
        "resblock_dilation_sizes": [[1, int(rng.integers(1, 4))] for _ in range(resblocks)],
        "leaky_relu_slope": float(rng.uniform(0.05, 0.3)),
        "depth_separable_channels": 2,
        "depth_separable_num_layers": int(rng.integers(1, 3)),
        "duration_predictor_flow_bins": int(rng.integers(2, 6)),
        "duration_predictor_tail_bound": float(rng.uniform(3.0, 6.0)),
        "duration_predictor_kernel_size": 3,
        "duration_predictor_dropout": 0.5,
        "duration_predictor_num_flows": int(rng.integers(1, 3)),
        "duration_predictor_filter_channels": int(rng.integers(4, 17)),
        "prior_encoder_num_flows": int(rng.integers(1, 3)),
        "prior_encoder_num_wavenet_layers": int(rng.integers(1, 3)),
        "posterior_encoder_num_wavenet_layers": int(rng.integers(1, 3)),
        "wavenet_kernel_size": _pick(rng, [3, 5]),
        "wavenet_dilation_rate": _pick(rng, [1, 2]),
        "wavenet_dropout": 0.0,
        "speaking_rate": float(rng.uniform(0.2, 1.0)),
        "noise_scale": 0.0,
        "noise_scale_duration": 0.0,
        "sampling_rate": 16000,
        "pad_token_id": 0,
    }


def vits_inputs(config, rng) -> dict:
    """Characters interleaved with the blank token 0 (as VitsTokenizer's add_blank writes them); the second row is
    right-padded and masked."""
    length = 9
    ids = np.zeros((2, length), dtype=np.int64)
    ids[:, 1::2] = rng.integers(1, config.vocab_size, size=(2, length // 2))
    mask = np.ones((2, length), dtype=np.int64)
    mask[1, 5:] = 0
    ids[1, 5:] = 0
    inputs = {"input_ids": ids, "attention_mask": mask}
    if config.num_speakers > 1:
        # one id as a [1] array: transformers looks a 0-d tensor up as an unbatched embedding
        inputs["speaker_id"] = rng.integers(config.num_speakers, size=1)
    return inputs


def vits_draw(rng) -> Draw:
    return Draw("vits", vits_config(rng), ("MODEL",), inputs=vits_inputs,
                call_kwargs={"output_hidden_states": True, "output_attentions": True})  # fmt: skip


GENERATORS = {"vits": vits_draw}
