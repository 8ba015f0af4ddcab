"""TensorFlow under tf.distribute (issue #18): loading inside MirroredStrategy().scope() creates mirrored variables
and fit() runs under the strategy; MultiWorkerMirroredStrategy over two local worker processes; TPUStrategy where a
TPU is attached. Two logical CPU devices must be configured before TensorFlow starts, so the checks
(tests/distributed/tf_*.py) run in their own processes."""

from __future__ import annotations

import json
import os
import socket
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_multi_worker_mirrored_strategy_with_two_local_workers(tmp_path):
    """Two worker processes (TF_CONFIG on localhost ports) each load the checkpoint inside
    MultiWorkerMirroredStrategy().scope(), give the reference logits and take three all-reduced training steps;
    both end with the same weights (tests/distributed/tf_multi_worker.py)."""
    pytest.importorskip("tensorflow")
    cluster = {"worker": [f"localhost:{_free_port()}", f"localhost:{_free_port()}"]}
    script = Path(__file__).parent / "distributed" / "tf_multi_worker.py"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3",
           "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1", "WORKERS_FINISHED_DIR": str(tmp_path)}  # fmt: skip
    workers = [subprocess.Popen([sys.executable, str(script), str(MODELS)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                env={**env, "TF_CONFIG": json.dumps({"cluster": cluster,
                                                                     "task": {"type": "worker", "index": i}})})
               for i in range(2)]  # fmt: skip
    outputs = []
    try:
        for worker in workers:
            outputs.append(worker.communicate(timeout=300))
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    for i, (worker, (out, err)) in enumerate(zip(workers, outputs)):
        assert worker.returncode == 0, f"worker {i}:\n{out[-2000:]}\n{err[-6000:]}"
        assert "ok worker" in out
    checksums = [line for out, _ in outputs for line in out.splitlines() if line.startswith("checksum")]
    assert len(checksums) == 2 and checksums[0] == checksums[1], checksums

