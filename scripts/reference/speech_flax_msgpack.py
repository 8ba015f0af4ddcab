"""A Wav2Vec2 CTC checkpoint written by transformers 4.57.6's own Flax class (FlaxWav2Vec2ForCTC), so that the
Flax parameter names can be checked against the checkpoints transformers' Flax models write. Its Flax classes
only support feat_extract_norm="layer" with do_stable_layer_norm=True (the large checkpoints' layout), so the
config is that one; the shared fixtures' group-norm Wav2Vec2 has no flax_model.msgpack for that reason.

Run in the side environment that has transformers and flax: `python scripts/reference/speech_flax_msgpack.py`.
Writes tests/fixtures/speech_preprocessing/wav2vec2_flax_ctc/: config.json, flax_model.msgpack, inputs.npz and
expected.npz (the PyTorch class's logits and hidden states for those inputs, random weights with noise).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
from transformers import FlaxWav2Vec2ForCTC, Wav2Vec2Config, Wav2Vec2ForCTC

OUT = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "speech_preprocessing" / "wav2vec2_flax_ctc"


def main() -> None:
    config = Wav2Vec2Config(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=24,
                            conv_dim=(8, 8), conv_kernel=(5, 3), conv_stride=(3, 2), conv_bias=True,
                            num_conv_pos_embeddings=6, num_conv_pos_embedding_groups=2, feat_extract_norm="layer",
                            do_stable_layer_norm=True, vocab_size=12)  # fmt: skip
    torch.manual_seed(0)
    model = Wav2Vec2ForCTC(config).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.1)
    rng = np.random.default_rng(0)
    values = rng.standard_normal((2, 600)).astype(np.float32)
    mask = (np.arange(600)[None] < np.array([[600], [430]])).astype(np.int64)
    values[1, 430:] = 0.0
    with torch.no_grad():
        output = model(input_values=torch.from_numpy(values), attention_mask=torch.from_numpy(mask),
                       output_hidden_states=True)  # fmt: skip
    expected = {"logits": output.logits.numpy()}
    expected.update({f"hidden_states_{i}": h.numpy() for i, h in enumerate(output.hidden_states)})
    shutil.rmtree(OUT, ignore_errors=True)
    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder)
        FlaxWav2Vec2ForCTC.from_pretrained(folder, from_pt=True).save_pretrained(OUT)
    np.savez_compressed(OUT / "inputs.npz", input_values=values, attention_mask=mask)
    np.savez_compressed(OUT / "expected.npz", **expected)


if __name__ == "__main__":
    main()
