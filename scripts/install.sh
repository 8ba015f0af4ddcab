#!/usr/bin/env bash
# Install autoload in editable mode with every backend and the test tools.
# torch is pinned first so pip takes the CPU build (a bare "torch" would pull a multi-GB CUDA build).
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --disable-pip-version-check "torch==2.13.0"
python -m pip install --quiet --disable-pip-version-check -e ".[all,test]"
