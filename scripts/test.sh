#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite: core, PyTorch, TensorFlow and Flax.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export HF_HUB_OFFLINE=1 TF_CPP_MIN_LOG_LEVEL=3 KERAS_BACKEND=tensorflow
# One worker per core (pytest-xdist): the suite is mostly CPU-bound model runs. worksteal: a worker that runs
# out takes tests queued for the other, so a few slow tests at the end do not leave a core idle. The slowest
# tests are listed at the end, for whoever shortens the suite next.
python -m pytest -q -p no:cacheprovider -n auto --dist worksteal --durations=25 "$@"
