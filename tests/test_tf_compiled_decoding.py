"""TF decoding steps with a cache run as one traced graph: traced once for every step of several generate()
calls (different prompt lengths, padding), giving the tokens of the eager steps."""

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from conftest import MODELS, read_fixture  # noqa: E402

import autoload  # noqa: E402
from autoload.families import auto_class_name  # noqa: E402

# soft-capping and sliding windows (Gemma 2), experts (their traced routing), learned positions with an offset
# counted from the mask (OPT, a GPT-style decoder)
FOLDERS = ["gemma2/Gemma2ForCausalLM", "mixtral/MixtralForCausalLM", "opt/OPTForCausalLM"]


@pytest.mark.parametrize("folder", FOLDERS)
def test_decoding_steps_are_traced_once(folder):
    meta, inputs, _ = read_fixture(MODELS / folder)
    # (Mixtral's config asks for router logits: generate() turns them off, so its steps compile too)
    model = getattr(autoload, auto_class_name(meta["family"], "tf")).from_pretrained(MODELS / folder)
    traces = []
    step = model._step_function

    def counted(*args):
        traces.append(args[0].shape)  # runs only while TF traces
        return step(*args)

    model._step_function = counted
    ids, mask = inputs["input_ids"], inputs.get("attention_mask")
    mask = np.ones_like(ids) if mask is None else mask
    mask[0, 0] = 0  # a left-padded row
    calls = [(ids, mask), (ids[:, 1:], np.ones_like(ids[:, 1:]))]
    options = {"max_new_tokens": 4, "do_sample": False}
    compiled = [np.asarray(model.generate(p, attention_mask=m, **options)) for p, m in calls]
    assert len(traces) == 1 and compiled[0].shape[1] == ids.shape[1] + 4
    model._compiles = lambda kwargs: False  # every step eager
    eager = [np.asarray(model.generate(p, attention_mask=m, **options)) for p, m in calls]
    np.testing.assert_array_equal(compiled[0], eager[0])
    np.testing.assert_array_equal(compiled[1], eager[1])
