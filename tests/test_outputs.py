import copy
import pickle

import numpy as np
import pytest

from autoload import outputs as out


def test_fields_by_position_or_name_and_only_given_ones_are_items():
    hidden = np.ones((1, 2, 3))
    result = out.SequenceClassifierOutput(None, hidden, attentions=(hidden,))
    assert list(result.keys()) == ["logits", "attentions"]
    assert result.loss is None and result.hidden_states is None
    assert result[0] is hidden and result["logits"] is hidden and result.logits is hidden
    assert result[1:] == ((hidden,),) and result.to_tuple() == (hidden, (hidden,))
    assert type(result).__name__ == "SequenceClassifierOutput"


def test_setting_a_field_updates_the_item():
    result = out.BaseModelOutput(last_hidden_state=1)
    result.last_hidden_state = 2
    result["attentions"] = 3
    assert result.to_tuple() == (2, 3) and result.attentions == 3


def test_a_dict_as_the_only_argument_gives_the_fields():
    result = out.CausalLMOutputWithPast({"logits": 1, "past_key_values": 2})
    assert list(result.items()) == [("logits", 1), ("past_key_values", 2)] and result.loss is None


@pytest.mark.parametrize(
    "args, kwargs, message",
    [((1, 2, 3, 4), {}, "at most 3 fields"), ((), {"logits": 1}, "no field 'logits'"),
     ((1,), {"last_hidden_state": 2}, "twice")],
)  # fmt: skip
def test_wrong_fields_are_refused(args, kwargs, message):
    with pytest.raises(TypeError, match=message):
        out.BaseModelOutput(*args, **kwargs)


def test_outputs_pickle_and_copy():
    result = out.MaskedLMOutput(logits=np.arange(3), hidden_states=(np.zeros(1),))
    for again in (pickle.loads(pickle.dumps(result)), copy.deepcopy(result)):
        assert type(again) is out.MaskedLMOutput and list(again.keys()) == ["logits", "hidden_states"]
        np.testing.assert_array_equal(again.logits, result.logits)


def test_from_encoded_carries_the_base_outputs_the_head_output_has():
    base = out.BaseModelOutputWithPast(last_hidden_state=0, past_key_values="cache", hidden_states="states")
    head = out.from_encoded(out.CausalLMOutputWithPast, base, logits=1)
    assert head.to_tuple() == (1, "cache", "states")
    assert out.from_encoded(out.ImageClassifierOutputWithNoAttention, base, logits=1).to_tuple() == (1, "states")
