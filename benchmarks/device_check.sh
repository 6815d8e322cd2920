#!/bin/sh
# The GPU check: every attack (and the batch label strategies, a defense and two FedAvg runs) once on CUDA with
# small budgets, in under 8 minutes on one GPU; the table goes to benchmarks/device_check.md (see docs/gpu.md).
# Run from anywhere: sh benchmarks/device_check.sh. Without a CUDA device it says so in one line and exits 0.
# The runs' reports go to $OUT when set (else a fresh temporary folder). DEVICE=cpu runs the same commands on the
# CPU to test the check itself (slower: give it DEADLINE=seconds, and write its table elsewhere with TABLE=...);
# DEVICE=cuda:N picks a GPU.
cd "$(dirname "$0")/.." || exit 2
BASE_DATADIR="${BASE_DATADIR:-../data}"
. experiments/lib.sh
DEVICE="${DEVICE:-cuda}"
TABLE="${TABLE:-benchmarks/device_check.md}"

if [ "$DEVICE" != cpu ] && ! "$PYTHON" -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
  echo "skipped: no CUDA device ($PYTHON: torch.cuda.is_available() is false or torch is missing); DEVICE=cpu runs it on the CPU"
  exit 0
fi
if [ -n "${OUT:-}" ]; then
  out="$OUT/device_check"
else
  out=$(mktemp -d "${TMPDIR:-/tmp}/device_check.XXXXXX") || exit 2
fi
mkdir -p "$out" || exit 2
"$PYTHON" -m benchmarks.device_check --device "$DEVICE" --out "$out" --table "$TABLE" --python "$PYTHON" \
  --deadline "${DEADLINE:-420}"
