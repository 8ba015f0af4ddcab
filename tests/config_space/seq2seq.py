"""Random configs of the encoder-decoders (BART, mBART, Marian, Pegasus, Whisper, T5, mT5): every field
transformers 4.57.6's modeling code reads for them — sizes per stack, head counts, activations, embedding
scale, tied / untied embeddings, Marian's separate vocabularies, T5's relative-attention buckets and gated
feed-forward variants, Whisper's audio sizes and weighted layer sum, the token ids that build decoder inputs,
dropout and LayerDrop rates (inert in eval: they must not change outputs), is_encoder_decoder. One head per
draw, with inputs it takes: each row ends with one end-of-sequence token (the classifiers pool it), the second
is right-padded with the pad token; decoder inputs are left out where the model builds them (BART's and
mBART's shifts, the classifier and QA heads)."""

from __future__ import annotations

import numpy as np

from .harness import Draw

WITH_ATTENTIONS = {"output_hidden_states": True, "output_attentions": True}
ACTIVATIONS = ["gelu", "relu", "silu", "swish", "gelu_new", "tanh", "quick_gelu"]
BART_HEADS = ("MODEL", "MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM", "MODEL_FOR_SEQUENCE_CLASSIFICATION",
              "MODEL_FOR_QUESTION_ANSWERING", "MODEL_FOR_CAUSAL_LM")  # fmt: skip
TRANSLATION_HEADS = ("MODEL", "MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM", "MODEL_FOR_CAUSAL_LM")
T5_HEADS = ("MODEL", "MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM", "MODEL_FOR_TEXT_ENCODING", "MODEL_FOR_SEQUENCE_CLASSIFICATION",
            "MODEL_FOR_TOKEN_CLASSIFICATION", "MODEL_FOR_QUESTION_ANSWERING")  # fmt: skip
WHISPER_HEADS = ("MODEL", "MODEL_FOR_SPEECH_SEQ_2_SEQ", "MODEL_FOR_CAUSAL_LM", "MODEL_FOR_AUDIO_CLASSIFICATION")
# Heads whose model builds its decoder inputs from input_ids (a shift right).
SHIFTING = {"MODEL_FOR_SEQUENCE_CLASSIFICATION", "MODEL_FOR_QUESTION_ANSWERING"}


def _pick(rng, values):
    return values[int(rng.integers(len(values)))]


def token_inputs(config, rng, family: str, decoder_inputs: str) -> dict:
    """decoder_inputs: "always" (the model needs them), "maybe" (it can build them) or "never"."""
    specials = {config.pad_token_id, config.eos_token_id, getattr(config, "bos_token_id", None),
                getattr(config, "decoder_start_token_id", None)}  # fmt: skip
    ordinary = np.array([t for t in range(config.vocab_size) if t not in specials])
    length = int(rng.integers(5, 8))
    ids = rng.choice(ordinary, size=(2, length))
    ids[:, -1] = config.eos_token_id
    ids[1, -3] = config.eos_token_id  # the second row: one token shorter, eos, then two pads
    ids[1, -2:] = config.pad_token_id
    mask = np.ones_like(ids)
    mask[1, -2:] = 0
    inputs = {"input_ids": ids.astype(np.int64), "attention_mask": mask.astype(np.int64)}
    if family == "MODEL_FOR_CAUSAL_LM":
        return inputs
    if family in SHIFTING or family in ("MODEL_FOR_TEXT_ENCODING", "MODEL_FOR_TOKEN_CLASSIFICATION"):
        return inputs
    if decoder_inputs == "always" or (decoder_inputs == "maybe" and rng.integers(2)):
        start = config.decoder_start_token_id if config.decoder_start_token_id is not None else config.eos_token_id
        decoder = rng.choice(ordinary, size=(2, int(rng.integers(2, 5))))
        decoder[:, 0] = start
        inputs["decoder_input_ids"] = decoder.astype(np.int64)
    return inputs


def _stacks(rng, d_model: int) -> dict:
    heads = [h for h in (1, 2, 4) if d_model % h == 0]
    return {
        "d_model": d_model,
        "encoder_layers": int(rng.integers(1, 3)),
        "decoder_layers": int(rng.integers(1, 3)),
        "encoder_attention_heads": int(_pick(rng, heads)),
        "decoder_attention_heads": int(_pick(rng, heads)),
        "encoder_ffn_dim": int(rng.integers(8, 40)),
        "decoder_ffn_dim": int(rng.integers(8, 40)),
        "activation_function": str(_pick(rng, ACTIVATIONS)),
        # Inert in eval: a backend reading them at inference would change the outputs.
        "dropout": float(_pick(rng, [0.0, 0.1])),
        "attention_dropout": float(_pick(rng, [0.0, 0.1])),
        "activation_dropout": float(_pick(rng, [0.0, 0.1])),
        "encoder_layerdrop": float(_pick(rng, [0.0, 0.2])),
        "decoder_layerdrop": float(_pick(rng, [0.0, 0.2])),
        "init_std": float(_pick(rng, [0.02, 0.1])),
        "use_cache": bool(rng.integers(2)),
        "scale_embedding": bool(rng.integers(2)),
        "tie_word_embeddings": bool(rng.integers(2)),
        "is_encoder_decoder": bool(rng.integers(4)),  # forward passes do not read it
        # Keys older Hub configs (Marian, Pegasus, mBART-50) still carry from the BART of transformers 3; 4.57.6
        # reads none of them (the architecture fixes the norms and positions), so neither may we.
        **({} if rng.integers(2) else {
            "normalize_before": bool(rng.integers(2)), "add_final_layer_norm": bool(rng.integers(2)),
            "normalize_embedding": bool(rng.integers(2)), "static_position_embeddings": bool(rng.integers(2)),
            "add_bias_logits": False, "extra_pos_embeddings": 2,
        }),
    }  # fmt: skip


def bart_like(rng, model_type: str, heads: tuple[str, ...], ids: dict, decoder_inputs: str) -> Draw:
    config = {
        **_stacks(rng, int(_pick(rng, [16, 24, 32]))),
        "vocab_size": int(rng.integers(40, 90)),
        "max_position_embeddings": int(_pick(rng, [16, 24, 40])),
        "num_labels": int(rng.integers(1, 5)),
        **ids,
    }
    family = str(_pick(rng, heads))
    if family == "MODEL_FOR_QUESTION_ANSWERING":
        config["num_labels"] = 2
    if "MODEL_FOR_SEQUENCE_CLASSIFICATION" in heads:
        config["classifier_dropout"] = float(_pick(rng, [0.0, 0.3]))
    return Draw(model_type, config, (family,), inputs=lambda c, r: token_inputs(c, r, family, decoder_inputs),
                call_kwargs=dict(WITH_ATTENTIONS))  # fmt: skip


def bart(rng) -> Draw:
    ids = {"pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2, "decoder_start_token_id": int(_pick(rng, [2, 0])),
           "forced_eos_token_id": 2}  # fmt: skip
    return bart_like(rng, "bart", BART_HEADS, ids, "maybe")


def mbart(rng) -> Draw:
    ids = {"pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2, "forced_eos_token_id": 2}
    return bart_like(rng, "mbart", BART_HEADS, ids, "maybe")


def marian(rng) -> Draw:
    draw = bart_like(rng, "marian", TRANSLATION_HEADS, {"eos_token_id": 0, "forced_eos_token_id": 0}, "always")
    vocab = draw.config["vocab_size"]
    draw.config.update(pad_token_id=vocab - 1, decoder_start_token_id=vocab - 1)
    if rng.integers(2):  # separate source and target vocabularies (opus-mt checkpoints with two SentencePieces)
        draw.config["share_encoder_decoder_embeddings"] = False
        if not draw.config["tie_word_embeddings"]:
            draw.config["decoder_vocab_size"] = int(rng.integers(vocab, vocab + 20))
    return draw


def pegasus(rng) -> Draw:
    ids = {"pad_token_id": 0, "eos_token_id": 1, "decoder_start_token_id": 0, "forced_eos_token_id": 1}
    return bart_like(rng, "pegasus", TRANSLATION_HEADS, ids, "always")


def whisper(rng) -> Draw:
    config = {
        **_stacks(rng, int(_pick(rng, [16, 24]))),
        "vocab_size": int(rng.integers(40, 90)),
        "num_mel_bins": int(_pick(rng, [4, 6, 8])),
        "max_source_positions": int(_pick(rng, [4, 6, 8])),
        "max_target_positions": int(_pick(rng, [8, 12])),
        "pad_token_id": 1, "bos_token_id": 1, "eos_token_id": 2, "decoder_start_token_id": 3,
        "suppress_tokens": [], "begin_suppress_tokens": [5],
        "use_weighted_layer_sum": bool(rng.integers(2)),
        "classifier_proj_size": int(rng.integers(4, 16)),
        "num_labels": int(rng.integers(1, 5)),
        # SpecAugment only masks while training: inert here.
        "apply_spec_augment": bool(rng.integers(2)), "mask_time_prob": 0.05, "mask_feature_prob": 0.1,
        "median_filter_width": 7,
    }  # fmt: skip
    family = str(_pick(rng, WHISPER_HEADS))
    return Draw("whisper", config, (family,), inputs=lambda c, r: audio_inputs(c, r, family),
                call_kwargs=dict(WITH_ATTENTIONS))  # fmt: skip


def audio_inputs(config, rng, family: str) -> dict:
    if family == "MODEL_FOR_CAUSAL_LM":
        ids = rng.integers(4, config.vocab_size, size=(2, 4))
        return {"input_ids": ids.astype(np.int64), "attention_mask": np.ones_like(ids, dtype=np.int64)}
    frames = 2 * config.max_source_positions
    inputs = {"input_features": rng.standard_normal((2, config.num_mel_bins, frames), dtype=np.float32)}
    if family != "MODEL_FOR_AUDIO_CLASSIFICATION":
        decoder = rng.integers(4, config.vocab_size, size=(2, int(rng.integers(2, 5))))
        decoder[:, 0] = config.decoder_start_token_id
        inputs["decoder_input_ids"] = decoder.astype(np.int64)
    return inputs


def t5_like(rng, model_type: str) -> Draw:
    num_heads = int(_pick(rng, [1, 2, 4]))
    config = {
        "vocab_size": int(rng.integers(40, 90)),
        "d_model": int(_pick(rng, [16, 24])),
        "d_kv": int(_pick(rng, [4, 6, 8])),
        "d_ff": int(rng.integers(8, 40)),
        "num_layers": int(rng.integers(1, 3)),
        "num_decoder_layers": _pick(rng, [None, 1, 3]),
        "num_heads": num_heads,
        "relative_attention_num_buckets": int(_pick(rng, [4, 8, 32])),
        "relative_attention_max_distance": int(_pick(rng, [8, 16, 128])),
        "dropout_rate": float(_pick(rng, [0.0, 0.1])),  # inert in eval
        "layer_norm_epsilon": float(_pick(rng, [1e-6, 1e-3])),
        "initializer_factor": float(_pick(rng, [1.0, 0.5])),
        "feed_forward_proj": str(_pick(rng, ["relu", "gelu", "gated-gelu", "gated-silu", "gelu_new", "gated-relu"])),
        "tie_word_embeddings": bool(rng.integers(2)),
        "use_cache": bool(rng.integers(2)),
        "pad_token_id": 0, "eos_token_id": 1, "decoder_start_token_id": 0,
        "num_labels": int(rng.integers(1, 5)),
        "classifier_dropout": float(_pick(rng, [0.0, 0.3])),
        "is_encoder_decoder": bool(rng.integers(4)),
    }  # fmt: skip
    family = str(_pick(rng, T5_HEADS))
    if family == "MODEL_FOR_QUESTION_ANSWERING":
        config["num_labels"] = 2
    return Draw(model_type, config, (family,), inputs=lambda c, r: token_inputs(c, r, family, "always"),
                call_kwargs=dict(WITH_ATTENTIONS))  # fmt: skip


GENERATORS = {
    "bart": bart,
    "mbart": mbart,
    "marian": marian,
    "pegasus": pegasus,
    "whisper": whisper,
    "t5": lambda rng: t5_like(rng, "t5"),
    "mt5": lambda rng: t5_like(rng, "mt5"),
}
