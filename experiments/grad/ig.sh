#!/bin/sh
# Inverting Gradients (Geiping et al. 2020) in its three variants on the original implementation's ConvNet.
# Run from anywhere: sh experiments/grad/ig.sh [flags added to every run]; DRY_RUN=1 checks every command only.
# Edit BASE_DATADIR (or export it): the folder holding your torchvision datasets, relative to the repository root.
BASE_DATADIR="${BASE_DATADIR:-data_files}"
cd "$(dirname "$0")/../.." || exit 2
. experiments/lib.sh
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"  # small models: one thread is fastest on a shared CPU

section "Inverting Gradients, the original implementation's settings (CIFAR-10; hours on a CPU)" cifar10
# ig_single (preset ig_single.original): the gradient of one image, 4000 signed-Adam steps at lr 0.1, TV 1e-6.
run main_grad.py --preset ig_single.original --dataset cifar10 --base_data_dir "$BASE_DATADIR" --normalize \
  --model cnn --num_exp 10 --rec_batch_size 1 "$@"
# ig_weight (8000 steps at lr 0.1): the weights after 5 full-batch SGD steps at lr 1e-4 on one image.
run main_grad.py --preset ig_weight.original --dataset cifar10 --base_data_dir "$BASE_DATADIR" --normalize \
  --model cnn --num_exp 10 --rec_batch_size 1 --client.epochs 5 --client.lr 1e-4 "$@"
# ig_multi (24000 steps at lr 1): the weights after one epoch over 10 images in mini-batches of 2 (5 local steps)
# at lr 1e-4.
run main_grad.py --preset ig_multi.original --dataset cifar10 --base_data_dir "$BASE_DATADIR" --normalize \
  --model cnn --num_exp 10 --rec_batch_size 10 --client.epochs 1 --client.batch_size 2 --client.lr 1e-4 \
  --known_labels "$@"

section "CPU-fast: the three variants on the embedded CIFAR-10 sample images (a few minutes in all)"
run main_grad.py --attack ig_single --dataset cifar10_sample --normalize --model cnn --num_exp 2 \
  --ig_single.iterations 300 "$@"
run main_grad.py --attack ig_weight --dataset cifar10_sample --normalize --model cnn --num_exp 1 \
  --ig_weight.iterations 200 --client.epochs 5 --client.lr 1e-4 "$@"
run main_grad.py --attack ig_multi --dataset cifar10_sample --normalize --model cnn --num_exp 1 --rec_batch_size 4 \
  --ig_multi.iterations 200 --ig_multi.lr 0.1 --client.epochs 1 --client.batch_size 2 --client.lr 1e-4 \
  --known_labels "$@"
finish
