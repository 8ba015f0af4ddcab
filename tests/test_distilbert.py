"""DistilBERT beyond the reference fixtures (those run in test_parity.py): config aliases and checks, and
right padding under an attention mask leaving the real tokens untouched, in every framework."""

from functools import cache

import numpy as np
import pytest
from conftest import MODELS, assert_matches_expected, read_fixture

import autoload
from autoload import AutoConfig

BASE = MODELS / "distilbert" / "DistilBertModel"


def test_config_aliases_read_and_write_distilberts_own_fields():
    config = AutoConfig.for_model("distilbert", hidden_size=64, num_attention_heads=4, num_hidden_layers=2)
    assert (config.dim, config.n_heads, config.n_layers) == (64, 4, 2)
    assert (config.hidden_size, config.num_attention_heads, config.num_hidden_layers) == (64, 4, 2)
    assert "hidden_size" not in config.to_dict() and config.to_dict()["dim"] == 64


@pytest.mark.parametrize("overrides", [{"dim": 30, "n_heads": 4}, {"hidden_size": 30, "num_attention_heads": 4}])
def test_dim_not_a_multiple_of_the_heads_is_refused(overrides):
    with pytest.raises(ValueError, match="not a multiple"):
        AutoConfig.for_model("distilbert", **overrides)


def check_every_listed_family(folder, backend: str) -> None:
    """Each Auto class the fixture lists for this backend (not only its first) builds the same class."""
    pytest.importorskip({"torch": "torch", "tf": "tensorflow", "flax": "flax"}[backend])
    meta, inputs, expected = read_fixture(folder)
    key = {"torch": "auto_class", "tf": "tf_auto_class", "flax": "flax_auto_class"}[backend]
    names = [f[key] for f in meta["families"] if f[key] and hasattr(autoload, f[key])]
    assert len(names) >= 2, names
    for name in names:
        model = getattr(autoload, name).from_pretrained(folder)
        assert type(model).__name__.removeprefix("TF").removeprefix("Flax") == meta["pt_class"], name
        if backend == "torch":
            import torch

            with torch.no_grad():
                output = model(**{k: torch.from_numpy(v) for k, v in inputs.items()}, **meta["call_kwargs"])
        else:
            output = model(**inputs, **meta["call_kwargs"])
        assert_matches_expected(output, expected, meta["atol"])


@cache
def base_model(auto_class: str):
    return getattr(autoload, auto_class).from_pretrained(BASE)


def last_hidden_state(backend: str, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    if backend == "torch":
        torch = pytest.importorskip("torch")
        model = base_model("AutoModel")
        with torch.no_grad():
            return model(torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).last_hidden_state.numpy()
    if backend == "tf":
        pytest.importorskip("tensorflow")
        model = base_model("TFAutoModel")
    else:
        pytest.importorskip("flax")
        model = base_model("FlaxAutoModel")
    return np.asarray(model(ids, attention_mask=mask).last_hidden_state)


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_masked_right_padding_leaves_real_tokens_unchanged(backend):
    ids = np.array([[36, 13, 56, 41, 18]])
    padded = np.array([[36, 13, 56, 41, 18, 0, 0, 0]])
    alone = last_hidden_state(backend, ids, np.ones_like(ids))
    right_padded = last_hidden_state(backend, padded, (padded != 0).astype(np.int64))
    np.testing.assert_allclose(right_padded[:, :5], alone, atol=1e-5, rtol=0)


@pytest.mark.parametrize("backend", ["torch", "tf"])  # transformers has no Flax pretraining class for it
def test_pretraining_auto_class_gives_the_masked_lm(backend):
    check_every_listed_family(MODELS / "distilbert" / "DistilBertForMaskedLM", backend)
