"""DistilBERT beyond the reference fixtures (those run in test_parity.py): config aliases and checks, and
right padding under an attention mask leaving the real tokens untouched, in every framework."""

import numpy as np
import pytest
from conftest import MODELS
from model_checks import check_every_listed_family, last_hidden_state

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


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_masked_right_padding_leaves_real_tokens_unchanged(backend):
    ids = np.array([[36, 13, 56, 41, 18]])
    padded = np.array([[36, 13, 56, 41, 18, 0, 0, 0]])
    alone = last_hidden_state(BASE, backend, ids, np.ones_like(ids))
    right_padded = last_hidden_state(BASE, backend, padded, (padded != 0).astype(np.int64))
    np.testing.assert_allclose(right_padded[:, :5], alone, atol=1e-5, rtol=0)


@pytest.mark.parametrize("backend", ["torch", "tf"])  # transformers has no Flax pretraining class for it
def test_pretraining_auto_class_gives_the_masked_lm(backend):
    check_every_listed_family(MODELS / "distilbert" / "DistilBertForMaskedLM", backend)
