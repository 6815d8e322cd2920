#!/usr/bin/env bash
# The privacy audit: every attack against every client-side defense at three strengths, plus the FedAvg
# accuracy each defense costs. Writes benchmarks/audit/audit.md, audit.json and audit.png.
# Edit BASE_DATADIR (or export it) to point at the folder holding cifar10_subset.npz and mnist_test.npz.
# The GGL row needs checkpoints/mnist_dcgan.pt (see the README, GGL section); without it its cells say so.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE_DATADIR="${BASE_DATADIR:-../shared/data}"
PYTHON="${PYTHON:-.venv/bin/python}"

# Cells already computed are kept (the audit resumes); pass --fresh to recompute them.
"$PYTHON" -m benchmarks.audit --data_dir "$BASE_DATADIR" "$@"
