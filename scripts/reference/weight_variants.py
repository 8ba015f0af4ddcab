"""Reference for weights variants: the files transformers 4.57.6 writes for save_pretrained(variant=...).

Saves the tiny BertModel fixture with variant="fp16" (the variant only names the files; the weights stay
float32), once as sharded safetensors and once as sharded pytorch_model.bin, and records every file name it
wrote. Run with the side environment that has transformers 4.57.6:

    python scripts/reference/weight_variants.py tests/fixtures/models/bert/BertModel tests/fixtures/loading
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile


def main(fixture: str, out: str) -> None:
    import transformers
    from transformers import BertModel

    model = BertModel.from_pretrained(fixture)
    names = {"transformers": transformers.__version__}
    for label, safe in (("safetensors", True), ("pt", False)):
        for shard_size in (None, "40KB"):
            with tempfile.TemporaryDirectory() as folder:
                kwargs = {"max_shard_size": shard_size} if shard_size else {}
                model.save_pretrained(folder, variant="fp16", safe_serialization=safe, **kwargs)
                key = f"{label}{'-sharded' if shard_size else ''}"
                names[key] = sorted(os.listdir(folder))
                if key == "safetensors-sharded":  # kept as a folder to load
                    target = os.path.join(out, "bert-variant-fp16")
                    shutil.rmtree(target, ignore_errors=True)
                    shutil.copytree(folder, target)
    with open(os.path.join(out, "variant_names.json"), "w") as f:
        json.dump(names, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
