"""RoBERTa beyond the reference fixtures (those run in test_parity.py): config defaults and checks, and
positions that count only real tokens, so left padding does not shift them, in every framework."""

import numpy as np
import pytest
from conftest import MODELS
from model_checks import check_every_listed_family, last_hidden_state

from autoload import AutoConfig

BASE = MODELS / "roberta" / "RobertaModel"


def test_config_uses_robertas_special_tokens():
    config = AutoConfig.for_model("roberta")
    assert type(config).__name__ == "RobertaConfig"
    assert (config.pad_token_id, config.bos_token_id, config.eos_token_id) == (1, 0, 2)


def test_hidden_size_not_a_multiple_of_the_heads_is_refused():
    with pytest.raises(ValueError, match="not a multiple"):
        AutoConfig.for_model("roberta", hidden_size=30, num_attention_heads=4)


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_left_padding_does_not_shift_positions(backend):
    # Positions are counted over non-pad ids (starting after padding_idx), so the real tokens of a
    # left-padded row see exactly the positions they have unpadded.
    ids = np.array([[0, 74, 96, 21, 11, 2]])
    padded = np.array([[1, 1, 0, 74, 96, 21, 11, 2]])
    alone = last_hidden_state(BASE, backend, ids, np.ones_like(ids))
    left_padded = last_hidden_state(BASE, backend, padded, (padded != 1).astype(np.int64))
    np.testing.assert_allclose(left_padded[:, 2:], alone, atol=1e-5, rtol=0)


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_pretraining_auto_class_gives_the_masked_lm(backend):
    check_every_listed_family(MODELS / "roberta" / "RobertaForMaskedLM", backend)
