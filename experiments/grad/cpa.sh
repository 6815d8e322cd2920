#!/bin/sh
# Cocktail Party Attack (Kariyappa et al. 2023): ICA on the first fully connected layer's gradient.
# Run from anywhere: sh experiments/grad/cpa.sh [flags added to every run]; DRY_RUN=1 checks every command only.
# Edit BASE_DATADIR (or export it): the folder holding your datasets, relative to the repository root.
BASE_DATADIR="${BASE_DATADIR:-data_files}"
cd "$(dirname "$0")/../.." || exit 2
. experiments/lib.sh
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

section "CPA, the paper's and the original implementation's settings (Tiny-ImageNet)" tiny_imagenet
# FC-2, preset cpa.paper: 25,000 Adam steps at lr 1e-3, decor 1.47, T 12.4, TV 3.1 (the paper's FC-2 settings at
# batch 128; the original ran batch 4). Tiny-ImageNet images are 64x64: FC-2's 256 units cap the batch.
run main_grad.py --preset cpa.paper --model fc2 --dataset tiny_imagenet --base_data_dir "$BASE_DATADIR" --normalize \
  --rec_batch_size 128 "$@"
# VGG-16: embeddings at its first linear layer, then feature inversion (preset cpa.original_vgg16: the original's
# VGG settings, decor 5.3, T 7.7, TV 0.1, one-sign 0.13, l1 5).
run main_grad.py --preset cpa.original_vgg16 --model vgg16 --dataset tiny_imagenet --base_data_dir "$BASE_DATADIR" \
  --normalize --rec_batch_size 32 "$@"

section "CPU-fast: the embedded CIFAR-10 sample images (under a minute each)"
run main_grad.py --attack cpa --model fc2 --dataset cifar10_sample --normalize --rec_batch_size 16 "$@"
run main_grad.py --preset cpa.original_vgg16 --model vgg16 --dataset cifar10_sample --normalize --rec_batch_size 8 \
  --cpa.iterations 300 --cpa.fi_iterations 300 "$@"
finish
