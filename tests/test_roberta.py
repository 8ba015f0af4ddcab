"""RoBERTa beyond the reference fixtures (those run in test_parity.py): config defaults and checks, and
positions that count only real tokens, so left padding does not shift them, in every framework."""

from functools import cache

import numpy as np
import pytest
from conftest import MODELS, assert_matches_expected, read_fixture

import autoload
from autoload import AutoConfig

BASE = MODELS / "roberta" / "RobertaModel"


def test_config_uses_robertas_special_tokens():
    config = AutoConfig.for_model("roberta")
    assert type(config).__name__ == "RobertaConfig"
    assert (config.pad_token_id, config.bos_token_id, config.eos_token_id) == (1, 0, 2)


def test_hidden_size_not_a_multiple_of_the_heads_is_refused():
    with pytest.raises(ValueError, match="not a multiple"):
        AutoConfig.for_model("roberta", hidden_size=30, num_attention_heads=4)


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
def test_left_padding_does_not_shift_positions(backend):
    # Positions are counted over non-pad ids (starting after padding_idx), so the real tokens of a
    # left-padded row see exactly the positions they have unpadded.
    ids = np.array([[0, 74, 96, 21, 11, 2]])
    padded = np.array([[1, 1, 0, 74, 96, 21, 11, 2]])
    alone = last_hidden_state(backend, ids, np.ones_like(ids))
    left_padded = last_hidden_state(backend, padded, (padded != 1).astype(np.int64))
    np.testing.assert_allclose(left_padded[:, 2:], alone, atol=1e-5, rtol=0)


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_pretraining_auto_class_gives_the_masked_lm(backend):
    check_every_listed_family(MODELS / "roberta" / "RobertaForMaskedLM", backend)
