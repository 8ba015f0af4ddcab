"""TensorFlow under tf.distribute (issue #18): loading inside MirroredStrategy().scope() creates mirrored variables
and fit() runs under the strategy. Two logical CPU devices must be configured before TensorFlow starts, so the
checks (tests/distributed/tf_mirrored.py) run in their own process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import MODELS

SCRIPT = Path(__file__).parent / "distributed" / "tf_mirrored.py"


def test_mirrored_strategy_loads_and_fits_on_two_logical_devices():
    pytest.importorskip("tensorflow")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = subprocess.run([sys.executable, str(SCRIPT), str(MODELS)], env=env, capture_output=True, text=True,
                         timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-6000:]
    assert "ok llama" in run.stdout and "ok bert" in run.stdout
