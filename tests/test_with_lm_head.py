"""The deprecated AutoModelWithLMHead / TFAutoModelWithLMHead / FlaxAutoModelWithLMHead: each architecture we
implement that transformers 4.57.6's MODEL_WITH_LM_HEAD_MAPPING lists builds the class that mapping names,
with a FutureWarning pointing to the task-specific Auto classes."""

import importlib.util

import pytest
from conftest import MODELS, assert_matches_expected, read_fixture

import autoload
from autoload import registry, with_lm_head
from autoload.families import CLASS_PREFIX

FRAMEWORK = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}
# our architectures that transformers' mapping lists, and the family whose class the mapping chose for each
EXPECTED = {
    "albert": "MODEL_FOR_MASKED_LM", "bart": "MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM", "bert": "MODEL_FOR_MASKED_LM",
    "deberta-v2": "MODEL_FOR_MASKED_LM", "distilbert": "MODEL_FOR_MASKED_LM", "electra": "MODEL_FOR_MASKED_LM",
    "gpt2": "MODEL_FOR_CAUSAL_LM", "gpt_neox": "MODEL_FOR_CAUSAL_LM", "gptj": "MODEL_FOR_CAUSAL_LM",
    "marian": "MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM", "mpnet": "MODEL_FOR_MASKED_LM", "roberta": "MODEL_FOR_MASKED_LM",
    "t5": "MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM", "tapas": "MODEL_FOR_MASKED_LM", "wav2vec2": "MODEL_FOR_MASKED_LM",
    "whisper": "MODEL_FOR_SPEECH_SEQ_2_SEQ", "xlm-roberta": "MODEL_FOR_MASKED_LM",
}  # fmt: skip


def test_every_listed_architecture_we_have_joins_the_family():
    ours = set(registry.model_types_for_family(with_lm_head.FAMILY, "torch"))
    assert ours == {t.replace("-", "_") for t in EXPECTED}  # the registry lists module names
    assert "llama" in registry.builtin_model_types() and "llama" not in ours  # not in transformers' mapping


@pytest.mark.parametrize("model_type", sorted(EXPECTED))
@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_resolves_to_the_mapped_class_with_a_deprecation_warning(model_type, backend):
    if importlib.util.find_spec(FRAMEWORK[backend]) is None:
        pytest.skip(f"{FRAMEWORK[backend]} is not installed")
    spec = registry.arch_spec(model_type)
    assert backend in spec.BACKENDS  # every architecture here has all three frameworks
    config = spec.CONFIG_CLASS()
    auto = getattr(autoload, CLASS_PREFIX[backend] + "AutoModelWithLMHead")
    cls = auto.model_class_for(config)
    assert cls.__name__ == CLASS_PREFIX[backend] + with_lm_head.CLASS_NAMES[model_type]
    assert cls is registry.model_class_for(EXPECTED[model_type], backend, config)
    with pytest.warns(FutureWarning, match=f"{CLASS_PREFIX[backend]}AutoModelForMaskedLM"):
        with pytest.raises(ValueError, match="Unrecognized configuration class"):
            auto.from_config(autoload.AutoConfig.for_model("llama"))


@pytest.mark.parametrize("folder", ["bert/BertForMaskedLM", "gpt2/GPT2LMHeadModel", "t5/T5ForConditionalGeneration"])
def test_loads_a_checkpoint_like_the_task_class(folder):
    pytest.importorskip("torch")
    import torch

    meta, inputs, expected = read_fixture(MODELS / folder)
    with pytest.warns(FutureWarning, match="AutoModelWithLMHead is deprecated"):
        model = autoload.AutoModelWithLMHead.from_pretrained(MODELS / folder)
    assert type(model).__name__ == meta["pt_class"]
    with torch.no_grad():
        out = model(**{k: torch.from_numpy(v) for k, v in inputs.items()}, **meta["call_kwargs"])
    assert_matches_expected(out, expected, meta["atol"])


def test_register_adds_a_user_architecture():
    pytest.importorskip("torch")
    with pytest.raises(ValueError, match="already has a model in AutoModelWithLMHead"):
        autoload.AutoModelWithLMHead.register(registry.config_class_for("bert"), autoload.BertForMaskedLM)
