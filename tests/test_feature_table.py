"""README's feature table is generated from the registry, and every class it claims really exists."""

import importlib.util
from pathlib import Path

import pytest

from autoload import registry
from autoload.commands.feature_table import readme_section
from autoload.families import CLASS_PREFIX

README = Path(__file__).parent.parent / "README.md"
BASES = {"torch": ("autoload.backends.torch.modeling", "PreTrainedModel"), "tf": ("autoload.backends.tf.modeling", "TFPreTrainedModel"),
         "flax": ("autoload.backends.flax.modeling", "FlaxPreTrainedModel")}  # fmt: skip
FRAMEWORK = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}


def test_readme_table_is_current():
    assert readme_section() in README.read_text(), "run: python -m autoload.commands.feature_table --write README.md"


def claimed():
    for model_type, families in registry.architectures_table().items():
        spec = registry.arch_spec(model_type)
        for family, backends in families.items():
            for backend in backends:
                yield backend, model_type, CLASS_PREFIX[backend] + registry.architectures(spec)[family]


@pytest.mark.parametrize("backend,model_type,name", sorted(set(claimed())))
def test_every_claimed_class_exists(backend, model_type, name):
    if importlib.util.find_spec(FRAMEWORK[backend]) is None:
        pytest.skip(f"{FRAMEWORK[backend]} is not installed")
    module, base = BASES[backend]
    cls = registry.import_model_class(backend, model_type, name)
    assert issubclass(cls, getattr(importlib.import_module(module), base))
    assert cls.config_class is registry.config_class_for(model_type)
