"""Random configs of SpeechT5 (one config, three draws: the bare transformer, text to speech, speech to text):
every field its reference modeling code reads for inference (widths and head counts of both stacks, activation,
eps, embedding scale, the wav2vec2-style speech pre-net's convolutions, norms and positional conv, the masked
spectrogram embedding, mel bins, speaker embeddings, pre-net and post-net sizes, reduction factor, the encoder's
relative-position window, position limits, tied LM head). speech_decoder_prenet_dropout is 0, so the
frameworks' different random generators do not enter the comparison (see autoload/models/speecht5.py);
the other dropouts and layerdrop are drawn but only act in training."""

from __future__ import annotations

import numpy as np

from .harness import Draw


def _pick(rng, values):
    return values[int(rng.integers(len(values)))]


def speecht5_config(rng) -> dict:
    conv_layers = int(rng.integers(2, 4))
    prenet_layers = int(rng.integers(1, 3))
    return {
        "vocab_size": 30,
        "hidden_size": 16,
        "encoder_layers": int(rng.integers(1, 3)),
        "encoder_attention_heads": _pick(rng, [1, 2, 4]),
        "encoder_ffn_dim": int(rng.integers(8, 25)),
        "decoder_layers": int(rng.integers(1, 3)),
        "decoder_attention_heads": _pick(rng, [1, 2, 4]),
        "decoder_ffn_dim": int(rng.integers(8, 25)),
        "hidden_act": _pick(rng, ["gelu", "relu", "gelu_new"]),
        "layer_norm_eps": _pick(rng, [1e-5, 1e-3]),
        "scale_embedding": bool(rng.integers(2)),
        "positional_dropout": 0.1,
        "hidden_dropout": 0.1,
        "attention_dropout": 0.1,
        "activation_dropout": 0.1,
        "encoder_layerdrop": 0.1,
        "decoder_layerdrop": 0.1,
        "feat_extract_norm": _pick(rng, ["group", "layer"]),
        "feat_extract_activation": _pick(rng, ["gelu", "relu"]),
        "feat_proj_dropout": 0.0,
        "conv_dim": [int(rng.integers(4, 9)) for _ in range(conv_layers)],
        "conv_stride": [_pick(rng, [2, 3]) for _ in range(conv_layers)],
        "conv_kernel": [_pick(rng, [3, 4, 5]) for _ in range(conv_layers)],
        "conv_bias": bool(rng.integers(2)),
        "num_conv_pos_embeddings": _pick(rng, [3, 4]),
        "num_conv_pos_embedding_groups": _pick(rng, [1, 2]),
        "apply_spec_augment": bool(rng.integers(2)),
        "mask_time_prob": _pick(rng, [0.0, 0.05]),  # > 0 gives the model a masked_spec_embed
        "num_mel_bins": int(rng.integers(3, 7)),
        "speech_decoder_prenet_layers": prenet_layers,
        "speech_decoder_prenet_units": int(rng.integers(4, 9)),
        "speech_decoder_prenet_dropout": 0.0,
        "speaker_embedding_dim": int(rng.integers(3, 7)),
        "speech_decoder_postnet_layers": int(rng.integers(1, 4)),
        "speech_decoder_postnet_units": int(rng.integers(4, 9)),
        "speech_decoder_postnet_kernel": _pick(rng, [3, 5]),
        "speech_decoder_postnet_dropout": 0.5,
        "reduction_factor": _pick(rng, [1, 2, 3]),
        "max_speech_positions": 40,
        "max_text_positions": 20,
        "encoder_max_relative_position": int(rng.integers(2, 6)),  # short: clipped distances are exercised
        "tie_word_embeddings": bool(rng.integers(2)),
    }


def model_inputs(config, rng) -> dict:
    """Hidden states in; the second example's last two encoder positions and last decoder position padded."""
    width = config.hidden_size
    mask = np.ones((2, 6), dtype=np.int64)
    mask[1, 4:] = 0
    decoder_mask = np.ones((2, 4), dtype=np.int64)
    decoder_mask[1, 3:] = 0
    return {"input_values": rng.normal(size=(2, 6, width)).astype(np.float32), "attention_mask": mask,
            "decoder_input_values": rng.normal(size=(2, 4, width)).astype(np.float32),
            "decoder_attention_mask": decoder_mask}  # fmt: skip


def text_to_speech_inputs(config, rng) -> dict:
    """Tokens (the second row right-padded with pad_token_id and masked), log-mel frames starting with the zero
    frame, one speaker embedding per example."""
    ids = rng.integers(3, config.vocab_size, size=(2, 7))
    mask = np.ones((2, 7), dtype=np.int64)
    ids[1, 5:], mask[1, 5:] = config.pad_token_id, 0
    frames = rng.normal(size=(2, 3, config.num_mel_bins)).astype(np.float32)
    frames[:, 0] = 0.0
    return {"input_ids": ids, "attention_mask": mask, "decoder_input_values": frames,
            "speaker_embeddings": rng.normal(size=(2, config.speaker_embedding_dim)).astype(np.float32)}  # fmt: skip


def speech_to_text_inputs(config, rng) -> dict:
    """Audio for five frames (the second example shorter and masked) and decoder tokens."""
    samples = config.samples_for_frames(5)
    mask = np.ones((2, samples), dtype=np.int64)
    mask[1, samples - config.samples_for_frames(2) :] = 0
    ids = rng.integers(3, config.vocab_size, size=(2, 4))
    ids[:, 0] = config.decoder_start_token_id
    return {"input_values": rng.normal(size=(2, samples)).astype(np.float32), "attention_mask": mask,
            "decoder_input_ids": ids}  # fmt: skip


CALL = {"output_hidden_states": True, "output_attentions": True}


def speecht5_draw(rng) -> Draw:
    return Draw("speecht5", speecht5_config(rng), ("MODEL",), inputs=model_inputs, call_kwargs=CALL)


def text_to_speech_draw(rng) -> Draw:
    return Draw("speecht5", speecht5_config(rng), ("MODEL_FOR_TEXT_TO_SPECTROGRAM",), inputs=text_to_speech_inputs,
                call_kwargs=CALL)  # fmt: skip


def speech_to_text_draw(rng) -> Draw:
    return Draw("speecht5", speecht5_config(rng), ("MODEL_FOR_SPEECH_SEQ_2_SEQ",), inputs=speech_to_text_inputs,
                call_kwargs=CALL)  # fmt: skip


# One config space, three heads (each draw's inputs suit its head).
GENERATORS = {"speecht5": speecht5_draw, "speecht5-text-to-speech": text_to_speech_draw,
              "speecht5-speech-to-text": speech_to_text_draw}  # fmt: skip
