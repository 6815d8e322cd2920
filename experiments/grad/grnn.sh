#!/usr/bin/env bash
# GRNN: a generator learns the whole batch (images and labels) from one observed gradient.
# Edit BASE_DATADIR (or export it) to point at the folder holding your torchvision datasets.
set -euo pipefail
cd "$(dirname "$0")/../.."
BASE_DATADIR="${BASE_DATADIR:-../data}"
PYTHON="${PYTHON:-.venv/bin/python}"

# The seed's setting: CNN on CIFAR-100, normalised and not, 1000 RMSprop iterations at 1e-4, tv 1e-3.
for space in --normalize ""; do
  "$PYTHON" main_grad.py --attack grnn --model cnn --dataset cifar100 --base_data_dir "$BASE_DATADIR" \
    ${space:+"$space"} --num_exp 10 --rec_batch_size 1 --rec_epochs 1000 --rec_lr 1e-4 --tv 1e-3 "$@"
done

# CPU-fast variant on the embedded sample images: LeNet, one normalised batch of 4 (about a minute).
"$PYTHON" main_grad.py --attack grnn --model lenet --dataset cifar10_sample --normalize --rec_batch_size 4 "$@"
