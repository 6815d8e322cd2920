#!/usr/bin/env bash
# Inverting Gradients (Geiping et al. 2020) in its three variants on the seed's ConvNet.
# Edit BASE_DATADIR (or export it) to point at the folder holding your torchvision datasets.
set -euo pipefail
cd "$(dirname "$0")/../.."
BASE_DATADIR="${BASE_DATADIR:-../data}"
PYTHON="${PYTHON:-.venv/bin/python}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"  # small models: one thread is fastest on a shared CPU
DATA=(--dataset cifar10 --base_data_dir "$BASE_DATADIR" --normalize --model cnn --num_exp 10)

# The seed's settings (hours on a CPU).
# ig_single: the gradient of one image, 4000 signed-Adam steps at lr 0.1, TV 1e-6.
"$PYTHON" main_grad.py --attack ig_single "${DATA[@]}" --rec_batch_size 1 --rec_epochs 4000 --rec_lr 0.1 --tv 1e-6 "$@"
# ig_weight: the weights after 5 full-batch SGD steps at lr 1e-4 on one image.
"$PYTHON" main_grad.py --attack ig_weight "${DATA[@]}" --rec_batch_size 1 --rec_epochs 8000 --rec_lr 0.1 --tv 1e-6 \
  --local_steps 5 --local_lr 1e-4 "$@"
# ig_multi: the weights after one epoch over 10 images in mini-batches of 2 (5 local steps) at lr 1e-4.
"$PYTHON" main_grad.py --attack ig_multi "${DATA[@]}" --rec_batch_size 10 --rec_epochs 24000 --rec_lr 1 --tv 1e-6 \
  --local_epochs 1 --local_batch_size 2 --local_lr 1e-4 --known_labels "$@"

# CPU-fast variants on the embedded sample images (no download; a few minutes in all).
FAST=(--dataset cifar10_sample --normalize --model cnn)
"$PYTHON" main_grad.py --attack ig_single "${FAST[@]}" --num_exp 2 --rec_epochs 300 "$@"
"$PYTHON" main_grad.py --attack ig_weight "${FAST[@]}" --num_exp 1 --rec_epochs 200 --local_steps 5 --local_lr 1e-4 "$@"
"$PYTHON" main_grad.py --attack ig_multi "${FAST[@]}" --num_exp 1 --rec_batch_size 4 --rec_epochs 200 --rec_lr 0.1 \
  --local_epochs 1 --local_batch_size 2 --local_lr 1e-4 --known_labels "$@"
