"""GPT-2 with add_cross_attention=True (the decoder of a VisionEncoderDecoder) from transformers 4.57.6 (run
with the side environment's Python: python scripts/reference/gpt2_cross_attention.py).

Writes tests/fixtures/decoder_extras/gpt2_cross/: a random tiny GPT2LMHeadModel (transformers' init plus
Gaussian noise, std 0.05, on every tensor, so the cross-attention weights matter), inputs.npz (input_ids,
attention_mask with a left-padded row, encoder_hidden_states, encoder_attention_mask with a padded row) and
expected.npz (logits, cross_attentions_<layer>, and the logits of a cached run: a 4-token prefix, then one
token at a time, as generate() feeds them) and greedy generate() tokens (6 new).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import transformers

OUT = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "decoder_extras" / "gpt2_cross"


def main():
    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=50, n_positions=32, n_embd=16, n_layer=2, n_head=2,
                                     add_cross_attention=True, pad_token_id=0)  # fmt: skip
    config._attn_implementation = "eager"  # (sdpa returns no attention probabilities)
    model = transformers.GPT2LMHeadModel(config).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
    rng = np.random.default_rng(0)
    inputs = {
        "input_ids": np.array([[0, 17, 3, 44, 9, 12], [8, 2, 31, 33, 40, 4]], np.int64),
        "attention_mask": np.array([[0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]], np.int64),
        "encoder_hidden_states": rng.standard_normal((2, 5, 16)).astype(np.float32),
        "encoder_attention_mask": np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], np.int64),
    }
    tensors = {k: torch.from_numpy(v) for k, v in inputs.items()}
    with torch.no_grad():
        full = model(**tensors, output_attentions=True)
        step = model(**{**tensors, "input_ids": tensors["input_ids"][:, :4], "attention_mask": tensors["attention_mask"][:, :4]},
                     use_cache=True)  # fmt: skip
        cached, past = [step.logits], step.past_key_values
        for i in (4, 5):
            step = model(input_ids=tensors["input_ids"][:, i : i + 1], attention_mask=tensors["attention_mask"][:, : i + 1],
                         encoder_hidden_states=tensors["encoder_hidden_states"],
                         encoder_attention_mask=tensors["encoder_attention_mask"], past_key_values=past, use_cache=True)  # fmt: skip
            cached.append(step.logits)
            past = step.past_key_values
        generated = model.generate(**tensors, do_sample=False, max_new_tokens=6, min_new_tokens=6, pad_token_id=0)
    expected = {"logits": full.logits.numpy(), "cached_logits": torch.cat(cached, dim=1).numpy(),
                "generated": generated.numpy()}  # fmt: skip
    for i, probs in enumerate(full.cross_attentions):
        expected[f"cross_attentions_{i}"] = probs.numpy()
    OUT.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(OUT, safe_serialization=True)
    (OUT / "generation_config.json").unlink(missing_ok=True)
    np.savez_compressed(OUT / "inputs.npz", **inputs)
    np.savez_compressed(OUT / "expected.npz", **expected)


if __name__ == "__main__":
    main()
