#!/usr/bin/env bash
# DLG then iDLG on one observed gradient per image (LeNet, as in the DLG paper).
# Edit BASE_DATADIR (or export it) to point at the folder holding your torchvision datasets.
set -euo pipefail
cd "$(dirname "$0")/../.."
BASE_DATADIR="${BASE_DATADIR:-../data}"
PYTHON="${PYTHON:-.venv/bin/python}"

# The seed's setting: 10 CIFAR-10 test images, normalised, batch 1, 300 L-BFGS steps.
for attack in dlg idlg; do
  "$PYTHON" main_grad.py --attack "$attack" --model lenet --dataset cifar10 --base_data_dir "$BASE_DATADIR" \
    --normalize --num_exp 10 --rec_batch_size 1 --rec_epochs 300 --rec_lr 1.0 --restarts 4 "$@"
done

# CPU-fast variant on the embedded sample images (no download needed).
for attack in dlg idlg; do
  "$PYTHON" main_grad.py --attack "$attack" --model lenet --dataset cifar10_sample --num_exp 4 --restarts 3 "$@"
done
