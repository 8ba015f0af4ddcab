"""Random configs of the models made of whole models: VisionEncoderDecoder (a ViT or DeiT encoder with a GPT-2 or
BERT decoder, widths equal or projected), LLaVA (a CLIP tower, a Llama / Mistral / Qwen2 language model, one or two
feature layers, either strategy) and BLIP (BlipModel and captioning). The parts' own fields are drawn by their own generators'
rules elsewhere; here the fields the composites read."""

from __future__ import annotations

import numpy as np

from .harness import Draw


def pick(rng, values):
    return values[int(rng.integers(len(values)))]


def vision_encoder_decoder(rng) -> Draw:
    width, decoder_width = pick(rng, [16, 24]), pick(rng, [16, 24])
    encoder = {"model_type": pick(rng, ["vit", "deit"]), "hidden_size": width, "num_hidden_layers": 1,
               "num_attention_heads": 2, "intermediate_size": 20, "image_size": 16, "patch_size": 8,
               "hidden_act": pick(rng, ["gelu", "relu"])}  # fmt: skip
    if rng.integers(2):
        decoder = {"model_type": "gpt2", "n_embd": decoder_width, "n_layer": 1, "n_head": 2, "n_positions": 16,
                   "vocab_size": 40, "activation_function": pick(rng, ["gelu_new", "relu"])}  # fmt: skip
    else:
        decoder = {"model_type": "bert", "hidden_size": decoder_width, "num_hidden_layers": 1,
                   "num_attention_heads": 2, "intermediate_size": 20, "vocab_size": 40, "max_position_embeddings": 16}  # fmt: skip
    decoder.update(is_decoder=True, add_cross_attention=True)
    config = {"encoder": encoder, "decoder": decoder, "decoder_start_token_id": 1, "pad_token_id": 0}

    def inputs(config, rng):
        mask = np.ones((2, 5), np.int64)
        mask[1, -2:] = 0
        return {"pixel_values": rng.standard_normal((2, 3, 16, 16)).astype(np.float32),
                "decoder_input_ids": rng.integers(1, 40, (2, 5)), "decoder_attention_mask": mask}  # fmt: skip

    return Draw("vision-encoder-decoder", config, families=("MODEL_FOR_VISION_2_SEQ",), inputs=inputs)


def llava(rng) -> Draw:
    layers = pick(rng, [-2, -1, [-3, -1]])
    strategy = pick(rng, ["default", "full"])
    vision = {"model_type": "clip_vision_model", "hidden_size": 16, "intermediate_size": 20, "num_hidden_layers": 2,
              "num_attention_heads": 2, "image_size": 8, "patch_size": 4, "hidden_act": pick(rng, ["quick_gelu", "gelu"])}  # fmt: skip
    text = {"model_type": pick(rng, ["llama", "mistral", "qwen2"]), "hidden_size": 16, "intermediate_size": 24,
            "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": pick(rng, [1, 2]),
            "vocab_size": 40, "max_position_embeddings": 32}  # fmt: skip
    config = {"vision_config": vision, "text_config": text, "image_token_index": 39, "vision_feature_layer": layers,
              "vision_feature_select_strategy": strategy, "projector_hidden_act": pick(rng, ["gelu", "relu"]),
              "multimodal_projector_bias": bool(rng.integers(2)), "image_seq_length": 4 + (strategy == "full")}  # fmt: skip
    count = 4 + (strategy == "full")

    def inputs(config, rng):
        ids = np.concatenate([rng.integers(1, 39, (2, 2)), np.full((2, count), 39), rng.integers(1, 39, (2, 3))], 1)
        mask = np.ones_like(ids)
        mask[1, -2:] = 0
        return {"input_ids": ids, "attention_mask": mask,
                "pixel_values": rng.standard_normal((2, 3, 8, 8)).astype(np.float32)}  # fmt: skip

    return Draw("llava", config, families=("MODEL", "MODEL_FOR_IMAGE_TEXT_TO_TEXT"), inputs=inputs)


def blip(rng) -> Draw:
    width = pick(rng, [16, 24])
    text = {"vocab_size": 40, "hidden_size": 16, "intermediate_size": 20, "num_hidden_layers": 1,
            "num_attention_heads": 2, "max_position_embeddings": 16, "bos_token_id": 38, "sep_token_id": 2,
            "hidden_act": pick(rng, ["gelu", "relu"]), "label_smoothing": pick(rng, [0.0, 0.1])}  # fmt: skip
    vision = {"hidden_size": width, "intermediate_size": 20, "num_hidden_layers": 1, "num_attention_heads": 2,
              "image_size": 8, "patch_size": 4, "hidden_act": pick(rng, ["gelu", "quick_gelu"])}  # fmt: skip
    config = {"text_config": text, "vision_config": vision, "projection_dim": 8}

    def inputs(config, rng):
        mask = np.ones((2, 6), np.int64)
        mask[1, -2:] = 0
        ids = rng.integers(3, 38, (2, 6))
        return {"input_ids": ids, "attention_mask": mask,
                "pixel_values": rng.standard_normal((2, 3, 8, 8)).astype(np.float32)}  # fmt: skip

    # BlipForQuestionAnswering needs decoder_input_ids, which transformers' BlipModel refuses: one draw feeds one set
    # of inputs to every head, so VQA is left to its fixtures (tests/test_parity.py, tests/test_generation.py)
    return Draw("blip", config, families=("MODEL", "MODEL_FOR_VISION_2_SEQ"), inputs=inputs)


GENERATORS = {"vision-encoder-decoder": vision_encoder_decoder, "llava": llava, "blip": blip}
