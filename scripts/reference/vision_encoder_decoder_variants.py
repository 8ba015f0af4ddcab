"""A VisionEncoderDecoder pairing the Auto fixture does not cover: a DeiT encoder 16 wide with a BERT decoder 24
wide (is_decoder, add_cross_attention), so `enc_to_dec_proj` maps the image states to the decoder's width. Writes
tests/fixtures/multimodal_extras/ved_deit_bert/: config.json, model.safetensors (transformers' init, seeded),
inputs.npz, expected.npz (logits, encoder_last_hidden_state), greedy_tokens.npy (generate(), 5 new tokens).

    python scripts/reference/vision_encoder_decoder_variants.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import transformers

assert transformers.__version__ == "4.57.6", transformers.__version__

OUT = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "multimodal_extras" / "ved_deit_bert"


def main() -> None:
    encoder = transformers.DeiTConfig(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=20,
                                      image_size=16, patch_size=4)  # fmt: skip
    decoder = transformers.BertConfig(vocab_size=50, hidden_size=24, num_hidden_layers=2, num_attention_heads=4,
                                      intermediate_size=30, max_position_embeddings=16, is_decoder=True,
                                      add_cross_attention=True)  # fmt: skip
    config = transformers.VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    config.decoder_start_token_id, config.pad_token_id = 2, 0
    torch.manual_seed(0)
    model = transformers.VisionEncoderDecoderModel(config=config).eval()
    rng = np.random.default_rng(0)
    feeds = {"pixel_values": rng.standard_normal((2, 3, 16, 16)).astype(np.float32),
             "decoder_input_ids": np.array([[2, 7, 9, 11, 4], [2, 5, 8, 0, 0]]),
             "decoder_attention_mask": np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])}  # fmt: skip
    with torch.no_grad():
        output = model(**{k: torch.from_numpy(v) for k, v in feeds.items()})
    OUT.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(OUT)
    (OUT / "generation_config.json").unlink(missing_ok=True)
    np.savez_compressed(OUT / "inputs.npz", **feeds)
    with torch.no_grad():  # greedy tokens (BERT as a decoder caches keys and values in transformers)
        tokens = model.generate(torch.from_numpy(feeds["pixel_values"]), max_new_tokens=5, min_new_tokens=5,
                                do_sample=False, num_beams=1)  # fmt: skip
    np.savez_compressed(OUT / "expected.npz", logits=output.logits.numpy(),
                        encoder_last_hidden_state=output.encoder_last_hidden_state.numpy())  # fmt: skip
    np.save(OUT / "greedy_tokens.npy", tokens.numpy())
    print("wrote", OUT)


if __name__ == "__main__":
    main()
