"""autoload's AutoModelWithLMHead table is transformers 4.57.6's MODEL_WITH_LM_HEAD_MAPPING, and the TF mapping
names the same classes with the TF prefix (run by `nox -s parity`; skipped when transformers is not installed)."""

import pytest

transformers = pytest.importorskip("transformers")

from transformers.models.auto import modeling_auto, modeling_tf_auto  # noqa: E402

from autoload import with_lm_head  # noqa: E402


def test_table_is_transformers_mapping():
    assert with_lm_head.CLASS_NAMES == dict(modeling_auto.MODEL_WITH_LM_HEAD_MAPPING_NAMES)
    tf_names = modeling_tf_auto.TF_MODEL_WITH_LM_HEAD_MAPPING_NAMES
    assert {t: "TF" + with_lm_head.CLASS_NAMES[t] for t in tf_names} == dict(tf_names)
