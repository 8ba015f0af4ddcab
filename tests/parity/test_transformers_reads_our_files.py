"""Files autoload writes load in transformers 4.57.6 itself (run by `nox -s parity`, which installs it).

Skipped when transformers is not installed: it is never a dependency of autoload.
"""

import numpy as np
import pytest
from conftest import MODELS, read_fixture

transformers = pytest.importorskip("transformers")

FOLDER = MODELS / "bert" / "BertForMaskedLM"


def _expected():
    meta, inputs, expected = read_fixture(FOLDER)
    return inputs, expected["logits"]


def test_torch_safetensors_load_in_transformers(tmp_path):
    torch = pytest.importorskip("torch")
    import autoload

    autoload.AutoModelForMaskedLM.from_pretrained(FOLDER).save_pretrained(tmp_path)
    inputs, logits = _expected()
    model = transformers.BertForMaskedLM.from_pretrained(tmp_path)
    with torch.no_grad():
        got = model(**{k: torch.from_numpy(v) for k, v in inputs.items()}).logits.numpy()
    np.testing.assert_allclose(got, logits, atol=1e-4)


def test_tf_h5_loads_in_transformers(tmp_path):
    pytest.importorskip("tensorflow")
    import autoload

    autoload.TFAutoModelForMaskedLM.from_pretrained(FOLDER).save_pretrained(tmp_path)
    inputs, logits = _expected()
    model = transformers.TFBertForMaskedLM.from_pretrained(tmp_path)
    np.testing.assert_allclose(model(inputs).logits.numpy(), logits, atol=1e-4)


def test_flax_msgpack_loads_in_transformers(tmp_path):
    pytest.importorskip("flax")
    import autoload

    autoload.FlaxAutoModelForMaskedLM.from_pretrained(FOLDER).save_pretrained(tmp_path)
    inputs, logits = _expected()
    model = transformers.FlaxBertForMaskedLM.from_pretrained(tmp_path)
    np.testing.assert_allclose(np.asarray(model(**inputs).logits), logits, atol=1e-4)


def test_saved_tokenizer_loads_in_transformers(tmp_path):
    import autoload

    source = MODELS.parent / "tokenizers" / "bert-uncased"
    if not source.exists():
        pytest.skip("tokenizer fixtures not present")
    ours = autoload.AutoTokenizer.from_pretrained(source)
    ours.save_pretrained(tmp_path)
    theirs = transformers.AutoTokenizer.from_pretrained(tmp_path)
    text = "In a hole in the ground there lived a hobbit."
    assert theirs(text)["input_ids"] == ours(text)["input_ids"]


def test_sharded_tf_h5_loads_in_transformers(tmp_path):
    pytest.importorskip("tensorflow")
    import autoload

    autoload.TFAutoModelForMaskedLM.from_pretrained(FOLDER).save_pretrained(tmp_path, max_shard_size="30KB")
    assert (tmp_path / "tf_model.h5.index.json").exists()
    inputs, logits = _expected()
    model = transformers.TFBertForMaskedLM.from_pretrained(tmp_path)
    np.testing.assert_allclose(model(inputs).logits.numpy(), logits, atol=1e-4)
