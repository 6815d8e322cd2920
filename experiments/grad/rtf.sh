#!/usr/bin/env bash
# Robbing the Fed (Fowl et al. 2022): the server's imprint block before the seed's ConvNet, closed-form recovery.
# Edit BASE_DATADIR (or export it) to point at the folder holding your torchvision datasets.
set -euo pipefail
cd "$(dirname "$0")/../.."
BASE_DATADIR="${BASE_DATADIR:-../data}"
PYTHON="${PYTHON:-.venv/bin/python}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

# The seed's settings: ConvNet behind an imprint block of 100 bins, CIFAR-10, normalised (seconds per batch).
"$PYTHON" main_grad.py --attack rtf --model cnn --imprint --bins 100 --dataset cifar10 --base_data_dir "$BASE_DATADIR" \
  --normalize --rec_batch_size 64 --num_exp 10 "$@"
# The issue's target: batch 64 with 128 bins.
"$PYTHON" main_grad.py --attack rtf --model cnn --imprint --bins 128 --dataset cifar10 --base_data_dir "$BASE_DATADIR" \
  --normalize --rec_batch_size 64 --num_exp 10 "$@"

# CPU-fast variant on the embedded sample images (no download; bins from the Gaussian assumption).
"$PYTHON" main_grad.py --attack rtf --model cnn --imprint --bins 64 --dataset cifar10_sample --normalize \
  --rec_batch_size 16 "$@"
