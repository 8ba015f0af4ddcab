import os

# Tests never touch the network: set before huggingface_hub is imported anywhere.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import json  # noqa: E402
import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
MODELS = FIXTURES / "models"


def read_fixture(folder: Path) -> tuple[dict, dict, dict]:
    """(fixture.json, inputs, expected outputs) of one reference folder."""
    meta = json.loads((folder / "fixture.json").read_text())
    inputs = dict(np.load(folder / "inputs.npz"))
    expected = dict(np.load(folder / "expected.npz"))
    return meta, inputs, expected


def fixture_model_class(meta: dict, backend: str, family: str | None = None):
    """The class a fixture is loaded with: the Auto class of its family, or, for a class no Auto family builds
    (family null, e.g. SpeechT5HifiGan), that class by name."""
    import autoload
    from autoload.families import CLASS_PREFIX, auto_class_name

    family = family or meta["family"]
    if family is None:
        return getattr(autoload, CLASS_PREFIX[backend] + meta["pt_class"])
    return getattr(autoload, auto_class_name(family, backend))


def flatten_output(output) -> dict[str, np.ndarray]:
    """A model output flattened the way expected.npz is (tuples get _i suffixes, nested outputs prefixes; a bare
    tensor, as SpeechT5HifiGan returns, is "output")."""
    if not hasattr(output, "items"):
        return {"output": np.asarray(output)}
    flat = {}
    for key, value in output.items():
        if value is None or key == "past_key_values":  # not part of the reference outputs
            continue
        if isinstance(value, (tuple, list)):
            for i, item in enumerate(value):
                flat[f"{key}_{i}"] = np.asarray(item)
        elif hasattr(value, "items"):
            for sub, item in flatten_output(value).items():
                flat[f"{key}_{sub}"] = item
        else:
            flat[key] = np.asarray(value)
    return flat


def assert_matches_expected(output, expected: dict, atol: float = 1e-4) -> None:
    flat = flatten_output(output)
    missing = sorted(set(expected) - set(flat))
    assert not missing, f"output lacks fields {missing}; it has {sorted(flat)}"
    for key, want in expected.items():
        got = flat[key]
        assert got.shape == want.shape, f"{key}: shape {got.shape} != expected {want.shape}"
        np.testing.assert_allclose(got, want, atol=atol, rtol=0, err_msg=key)


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """Build a Hub cache folder and return a function that adds a repo to it: add(repo_id, folder, revision)."""
    import huggingface_hub
    import huggingface_hub.constants

    cache = tmp_path / "hub-cache"
    cache.mkdir()
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)

    def add(repo_id: str, source: Path, revision: str = "main", commit: str = "a" * 40, files=None) -> Path:
        repo = cache / ("models--" + repo_id.replace("/", "--"))
        snapshot = repo / "snapshots" / commit
        snapshot.mkdir(parents=True, exist_ok=True)
        for path in sorted(Path(source).rglob("*")):
            rel = path.relative_to(source)
            if path.is_file() and (files is None or str(rel) in files):
                (snapshot / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, snapshot / rel)
        (repo / "refs").mkdir(exist_ok=True)
        (repo / "refs" / revision).write_text(commit)
        return cache

    add.cache_dir = str(cache)
    return add
