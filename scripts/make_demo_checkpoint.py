"""Write the demo checkpoint shipped in autoload/_demo/tiny-bert (config.json + model.safetensors).

A BertForMaskedLM small enough to ship (vocabulary of the bundled 2,000-token WordPiece tokenizer,
2 layers of width 64), with seeded random weights. Run once; needs torch to list the parameter shapes.
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from safetensors.numpy import save_file  # noqa: E402

from autoload import AutoConfig, AutoModelForMaskedLM  # noqa: E402

FOLDER = os.path.join(os.path.dirname(__file__), "..", "autoload", "_demo", "tiny-bert")


def main() -> None:
    config = AutoConfig.for_model(
        "bert", vocab_size=2000, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=128, max_position_embeddings=128, architectures=["BertForMaskedLM"],
    )  # fmt: skip
    model = AutoModelForMaskedLM.from_config(config)
    rng = np.random.default_rng(20261122)
    state = {}
    for name, tensor in model.state_dict().items():
        if name in model._tied_weights_keys:
            continue
        base = 1.0 if "LayerNorm.weight" in name else 0.0
        state[name] = (base + 0.05 * rng.standard_normal(tuple(tensor.shape))).astype(np.float32)
    config.save_pretrained(FOLDER)
    save_file(state, os.path.join(FOLDER, "model.safetensors"), metadata={"format": "pt"})
    print(f"wrote {FOLDER}")


if __name__ == "__main__":
    main()
