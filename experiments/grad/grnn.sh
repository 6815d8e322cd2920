#!/bin/sh
# GRNN (Ren et al. 2022): a generator learns the whole batch (images and labels) from one observed gradient.
# Run from anywhere: sh experiments/grad/grnn.sh [flags added to every run]; DRY_RUN=1 checks every command only.
# Edit BASE_DATADIR (or export it): the folder holding your torchvision datasets, relative to the repository root.
BASE_DATADIR="${BASE_DATADIR:-data_files}"
cd "$(dirname "$0")/../.." || exit 2
. experiments/lib.sh

section "GRNN, the original implementation's settings (CIFAR-100, ConvNet, normalised and not)" cifar100
run main_grad.py --preset grnn.original --model cnn --dataset cifar100 --base_data_dir "$BASE_DATADIR" --normalize \
  --num_exp 10 --rec_batch_size 1 "$@"
run main_grad.py --preset grnn.original --model cnn --dataset cifar100 --base_data_dir "$BASE_DATADIR" \
  --num_exp 10 --rec_batch_size 1 "$@"

section "CPU-fast: LeNet, one normalised batch of 4 embedded CIFAR-10 sample images (about a minute)"
run main_grad.py --attack grnn --model lenet --dataset cifar10_sample --normalize --rec_batch_size 4 "$@"
finish
