#!/bin/sh
# Robbing the Fed (Fowl et al. 2022): the server's imprint block before the ConvNet, closed-form recovery.
# Run from anywhere: sh experiments/grad/rtf.sh [flags added to every run]; DRY_RUN=1 checks every command only.
# Edit BASE_DATADIR (or export it): the folder holding your torchvision datasets, relative to the repository root.
BASE_DATADIR="${BASE_DATADIR:-data_files}"
cd "$(dirname "$0")/../.." || exit 2
. experiments/lib.sh
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

section "Robbing the Fed, the original implementation's settings (CIFAR-10, 100 bins; seconds per batch)" cifar10
run main_grad.py --attack rtf --model cnn --imprint --bins 100 --dataset cifar10 --base_data_dir "$BASE_DATADIR" \
  --normalize --rec_batch_size 64 --num_exp 10 "$@"
# The paper's headline case: batch 64 with 128 bins.
run main_grad.py --attack rtf --model cnn --imprint --bins 128 --dataset cifar10 --base_data_dir "$BASE_DATADIR" \
  --normalize --rec_batch_size 64 --num_exp 10 "$@"

section "CPU-fast: the embedded CIFAR-10 sample images (bins from published statistics)"
run main_grad.py --attack rtf --model cnn --imprint --bins 64 --dataset cifar10_sample --normalize \
  --rec_batch_size 16 "$@"
finish
