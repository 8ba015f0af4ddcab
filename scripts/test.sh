#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite: core, PyTorch, TensorFlow and Flax.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export HF_HUB_OFFLINE=1 TF_CPP_MIN_LOG_LEVEL=3 KERAS_BACKEND=tensorflow
# One worker per core (pytest-xdist): the suite is mostly CPU-bound model runs.
python -m pytest -q -p no:cacheprovider -n auto "$@"
