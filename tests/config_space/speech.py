"""Random configs of the wav2vec2-style speech encoders (Wav2Vec2, HuBERT, WavLM): every field their reference
modeling code reads, each draw one head with inputs that fit it (a padded batch, masked time steps for the
base and pre-training models, enough frames for the x-vector statistics).

Fields read only by training code (dropouts, layerdrop, SpecAugment probabilities and lengths, the CTC and
pre-training loss settings) are drawn too so that a config carrying them is built and compared; their effect
on losses is tested in tests/test_speech.py."""

from __future__ import annotations

import numpy as np

from .harness import Draw

ACTIVATIONS = ["gelu", "relu", "gelu_new", "silu", "tanh", "gelu_pytorch_tanh"]
HEADS = {
    "wav2vec2": ("MODEL", "MODEL_FOR_CTC", "MODEL_FOR_AUDIO_CLASSIFICATION", "MODEL_FOR_AUDIO_FRAME_CLASSIFICATION",
                 "MODEL_FOR_AUDIO_XVECTOR", "MODEL_FOR_PRETRAINING", "MODEL_FOR_MASKED_LM"),
    "hubert": ("MODEL", "MODEL_FOR_CTC", "MODEL_FOR_AUDIO_CLASSIFICATION"),
    "wavlm": ("MODEL", "MODEL_FOR_CTC", "MODEL_FOR_AUDIO_CLASSIFICATION", "MODEL_FOR_AUDIO_FRAME_CLASSIFICATION",
              "MODEL_FOR_AUDIO_XVECTOR"),
}  # fmt: skip
ADAPTER_HEADS = ("MODEL", "MODEL_FOR_CTC", "MODEL_FOR_AUDIO_XVECTOR")  # the heads transformers allows it with


def _pick(rng, values):
    return values[int(rng.integers(len(values)))]


def speech_config(rng, model_type: str, family: str) -> dict:
    hidden = _pick(rng, [16, 24, 32])
    conv_layers = int(rng.integers(1, 4))
    config = {
        "hidden_size": hidden,
        "num_hidden_layers": int(rng.integers(1, 4)),
        "num_attention_heads": _pick(rng, [h for h in (1, 2, 4, 8) if hidden % h == 0]),
        "intermediate_size": int(rng.integers(8, 48)),
        "hidden_act": _pick(rng, ACTIVATIONS),
        "feat_extract_activation": _pick(rng, ACTIVATIONS),
        "feat_extract_norm": _pick(rng, ["group", "layer"]),
        "conv_dim": [_pick(rng, [8, 12, 16]) for _ in range(conv_layers)],
        "conv_kernel": [int(rng.integers(2, 7)) for _ in range(conv_layers)],
        "conv_stride": [int(rng.integers(1, 5)) for _ in range(conv_layers)],
        "conv_bias": bool(rng.integers(2)),
        "num_conv_pos_embeddings": int(rng.integers(2, 10)),
        "num_conv_pos_embedding_groups": _pick(rng, [g for g in (1, 2, 4, 8) if hidden % g == 0]),
        "do_stable_layer_norm": bool(rng.integers(2)),
        "layer_norm_eps": float(_pick(rng, [1e-5, 1e-3])),
        "vocab_size": int(rng.integers(5, 40)),
        "num_labels": int(rng.integers(2, 6)),
        "classifier_proj_size": int(rng.integers(4, 24)),
        "use_weighted_layer_sum": bool(rng.integers(2)),
        "apply_spec_augment": bool(rng.integers(2)),
        "mask_time_prob": float(_pick(rng, [0.0, 0.05])),
        "mask_time_length": int(rng.integers(1, 5)),
        "mask_time_min_masks": int(rng.integers(0, 3)),
        "mask_feature_prob": float(_pick(rng, [0.0, 0.1])),
        "mask_feature_length": int(rng.integers(1, 5)),
        "hidden_dropout": float(rng.uniform(0, 0.2)),
        "activation_dropout": float(rng.uniform(0, 0.2)),
        "attention_dropout": float(rng.uniform(0, 0.2)),
        "feat_proj_dropout": float(rng.uniform(0, 0.2)),
        "final_dropout": float(rng.uniform(0, 0.2)),
        "layerdrop": float(rng.uniform(0, 0.2)),
        "ctc_loss_reduction": _pick(rng, ["sum", "mean"]),
        "ctc_zero_infinity": bool(rng.integers(2)),
        "pad_token_id": 0,
        "initializer_range": float(rng.uniform(0.01, 0.05)),
    }
    if model_type != "hubert":
        config["mask_feature_min_masks"] = int(rng.integers(0, 2))
        tdnn_layers = int(rng.integers(1, 4))
        config.update({
            "tdnn_dim": [int(rng.integers(4, 16)) for _ in range(tdnn_layers)],
            "tdnn_kernel": [int(rng.integers(1, 4)) for _ in range(tdnn_layers)],
            "tdnn_dilation": [int(rng.integers(1, 3)) for _ in range(tdnn_layers)],
            "xvector_output_dim": int(rng.integers(4, 16)),
            "num_codevector_groups": _pick(rng, [1, 2]),
            "num_codevectors_per_group": int(rng.integers(2, 8)),
            "proj_codevector_dim": int(rng.integers(4, 16)),
            "feat_quantizer_dropout": float(rng.uniform(0, 0.2)),
            "contrastive_logits_temperature": float(rng.uniform(0.05, 1.0)),
            "num_negatives": int(rng.integers(1, 10)),
            "diversity_loss_weight": float(rng.uniform(0, 0.5)),
        })  # fmt: skip
        config["codevector_dim"] = config["num_codevector_groups"] * int(rng.integers(2, 8))
        if family in ADAPTER_HEADS and rng.integers(2):
            config.update({
                "add_adapter": True,
                "adapter_kernel_size": int(rng.integers(1, 4)),
                "adapter_stride": int(rng.integers(1, 3)),
                "num_adapter_layers": int(rng.integers(1, 3)),
                # the x-vector projector reads hidden_size, so its adapter keeps the width
                "output_hidden_size": hidden if family == "MODEL_FOR_AUDIO_XVECTOR" else _pick(rng, [hidden, 12]),
            })  # fmt: skip
    if model_type == "hubert":
        config["feat_proj_layer_norm"] = bool(rng.integers(2))
        config["conv_pos_batch_norm"] = bool(rng.integers(2))
    if model_type == "wavlm":
        config["num_buckets"] = int(rng.integers(4, 24))
        config["max_bucket_distance"] = int(rng.integers(config["num_buckets"] // 4 + 1, 40))
    else:
        config["adapter_attn_dim"] = _pick(rng, [None, int(rng.integers(2, 9))])
    return config


def audio_inputs(config, rng, family: str) -> dict:
    """Two examples, the second padded (zeros, attention_mask 0) after a random share of its samples; long
    enough that the shorter one still has frames for every head."""
    frames = 4
    if family == "MODEL_FOR_AUDIO_XVECTOR":  # the TDNN layers are valid convolutions; the std needs 2 frames
        frames += sum((k - 1) * d for k, d in zip(config.tdnn_kernel, config.tdnn_dilation))
    if getattr(config, "add_adapter", False):
        frames = frames * config.adapter_stride**config.num_adapter_layers + config.adapter_kernel_size
    short = config.samples_for_frames(frames)
    samples = short + int(rng.integers(0, 3 * config.inputs_to_logits_ratio + 8))
    values = rng.standard_normal((2, samples)).astype(np.float32)
    mask = np.ones((2, samples), dtype=np.int64)
    mask[1, short:] = 0
    values[1, short:] = 0.0
    inputs = {"input_values": values, "attention_mask": mask}
    if family in ("MODEL", "MODEL_FOR_PRETRAINING") and config.mask_time_prob + config.mask_feature_prob > 0:
        steps = config.conv_output_lengths(samples, add_adapter=False)
        inputs["mask_time_indices"] = rng.random((2, steps)) < 0.3
    if family == "MODEL_FOR_MASKED_LM":  # the deprecated head ignores the mask; give it unpadded audio
        inputs.pop("attention_mask")
    return inputs


def speech_draw(rng, model_type: str) -> Draw:
    family = _pick(rng, HEADS[model_type])
    config = speech_config(rng, model_type, family)
    return Draw(model_type, config, (family,), inputs=lambda c, r: audio_inputs(c, r, family),
                call_kwargs={"output_hidden_states": True, "output_attentions": True}, jit_flax=True)  # fmt: skip


GENERATORS = {
    "wav2vec2": lambda rng: speech_draw(rng, "wav2vec2"),
    "hubert": lambda rng: speech_draw(rng, "hubert"),
    "wavlm": lambda rng: speech_draw(rng, "wavlm"),
}
