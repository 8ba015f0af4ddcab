"""Random configs of every architecture give the same outputs in PyTorch, TensorFlow and Flax (and keep
them through a save and reload). A fixed-seed sample runs here; `nox -s fuzz` runs many more draws
(AUTOLOAD_FUZZ_DRAWS, AUTOLOAD_FUZZ_SEED) and prints the seed of any failure so it can be replayed with
AUTOLOAD_FUZZ_SEED=<seed> AUTOLOAD_FUZZ_DRAWS=1."""

from __future__ import annotations

import os

import numpy as np
import pytest
from config_space import generators
from config_space.harness import check_draw

pytest.importorskip("torch")

DRAWS = int(os.environ.get("AUTOLOAD_FUZZ_DRAWS", "1"))
FIRST_SEED = int(os.environ.get("AUTOLOAD_FUZZ_SEED", "0"))


@pytest.mark.parametrize("model_type", list(generators()))
def test_frameworks_agree_on_random_configs(model_type, tmp_path):
    draw = generators()[model_type]
    failures = []
    for seed in range(FIRST_SEED, FIRST_SEED + DRAWS):
        problems = check_draw(draw(np.random.default_rng(seed)), seed, tmp_path / str(seed))
        if problems:
            failures.append(f"seed {seed}:\n  " + "\n  ".join(problems))
    assert not failures, f"{model_type}: replay with AUTOLOAD_FUZZ_SEED=<seed> AUTOLOAD_FUZZ_DRAWS=1\n" + "\n".join(failures)
