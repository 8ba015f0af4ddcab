"""Every reference fixture, through the Auto class it names, in every framework the registry claims for
it, reproduces transformers' outputs; and every weight-format variant loads in every such framework.

This is the test behind README's feature table: a claimed (architecture, head, framework) without a
passing fixture here is a bug.
"""

import importlib.util

import pytest
from conftest import MODELS, assert_matches_expected, fixture_model_class, read_fixture

from autoload import registry

FRAMEWORK = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}
FORMAT_FLAGS = {  # which flag a framework needs for a file that is not its own format
    "tf_h5": {"torch": {"from_tf": True}, "flax": {"from_tf": True}},
    "flax_msgpack": {"torch": {"from_flax": True}, "tf": {"from_flax": True}},
    "pt_bin": {"tf": {"from_pt": True}, "flax": {"from_pt": True}},
    "sharded_bin": {"tf": {"from_pt": True}, "flax": {"from_pt": True}},
}


def cases(formats: bool):
    for type_dir in sorted(p for p in MODELS.iterdir() if p.is_dir()):
        spec = registry.arch_spec(type_dir.name)
        if spec is None:
            continue
        formats_dir = type_dir / "formats"
        if formats and not formats_dir.is_dir():
            continue
        folders = sorted(formats_dir.iterdir()) if formats else sorted(
            p for p in type_dir.iterdir() if p.is_dir() and p.name != "formats"
        )
        for folder in folders:
            for backend in spec.BACKENDS:
                yield pytest.param(folder, backend, id=f"{type_dir.name}-{folder.name}-{backend}")


def needs(backend: str) -> None:
    if importlib.util.find_spec(FRAMEWORK[backend]) is None:
        pytest.skip(f"{FRAMEWORK[backend]} is not installed")


def run(model, backend: str, inputs: dict, call_kwargs: dict):
    if backend == "torch":
        import torch

        with torch.no_grad():
            return model(**{k: torch.from_numpy(v) for k, v in inputs.items()}, **call_kwargs)
    return model(**inputs, **call_kwargs)


@pytest.mark.parametrize("folder,backend", cases(formats=False))
def test_head_matches_reference(folder, backend):
    needs(backend)
    meta, inputs, expected = read_fixture(folder)
    model = fixture_model_class(meta, backend).from_pretrained(folder)
    assert type(model).__name__.removeprefix("TF").removeprefix("Flax") == meta["pt_class"]
    assert_matches_expected(run(model, backend, inputs, meta["call_kwargs"]), expected, meta["atol"])


@pytest.mark.parametrize("folder,backend", cases(formats=True))
def test_weight_format_loads(folder, backend):
    needs(backend)
    meta, inputs, expected = read_fixture(folder)
    flags = FORMAT_FLAGS.get(folder.name, {}).get(backend, {})
    # an architecture without an AutoModel entry (vision-encoder-decoder) stores its own class's weights there
    family = "MODEL" if "MODEL" in registry.arch_spec(meta["model_type"]).ARCHITECTURES else meta["family"]
    model, info = fixture_model_class(meta, backend, family).from_pretrained(folder, output_loading_info=True, **flags)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == [], info
    assert_matches_expected(run(model, backend, inputs, meta["call_kwargs"]), expected, meta["atol"])


def test_every_fixture_architecture_is_covered():
    """A fixture folder whose architecture has no implementation at all is reported, not silently skipped."""
    missing = [p.name for p in MODELS.iterdir() if p.is_dir() and registry.arch_spec(p.name) is None]
    assert missing == [], f"fixtures without an architecture module: {missing}"
