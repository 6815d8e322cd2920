#!/bin/sh
# Inverting Gradients (Geiping et al. 2020) in its three variants on the original implementation's ConvNet.
# Run from anywhere: sh experiments/grad/ig.sh [flags added to every run]; DRY_RUN=1 checks every command only.
# Edit BASE_DATADIR (or export it): the folder holding your torchvision datasets, relative to the repository root.
BASE_DATADIR="${BASE_DATADIR:-data_files}"
cd "$(dirname "$0")/../.." || exit 2
. experiments/lib.sh
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"  # small models: one thread is fastest on a shared CPU

section "Inverting Gradients, the original implementation's settings (CIFAR-10; hours on a CPU)" cifar10
# ig_single: the gradient of one image, 4000 signed-Adam steps at lr 0.1, TV 1e-6.
run main_grad.py --attack ig_single --dataset cifar10 --base_data_dir "$BASE_DATADIR" --normalize --model cnn \
  --num_exp 10 --rec_batch_size 1 --rec_epochs 4000 --rec_lr 0.1 --tv 1e-6 "$@"
# ig_weight: the weights after 5 full-batch SGD steps at lr 1e-4 on one image.
run main_grad.py --attack ig_weight --dataset cifar10 --base_data_dir "$BASE_DATADIR" --normalize --model cnn \
  --num_exp 10 --rec_batch_size 1 --rec_epochs 8000 --rec_lr 0.1 --tv 1e-6 --local_steps 5 --local_lr 1e-4 "$@"
# ig_multi: the weights after one epoch over 10 images in mini-batches of 2 (5 local steps) at lr 1e-4.
run main_grad.py --attack ig_multi --dataset cifar10 --base_data_dir "$BASE_DATADIR" --normalize --model cnn \
  --num_exp 10 --rec_batch_size 10 --rec_epochs 24000 --rec_lr 1 --tv 1e-6 --local_epochs 1 --local_batch_size 2 \
  --local_lr 1e-4 --known_labels "$@"

section "CPU-fast: the three variants on the embedded CIFAR-10 sample images (a few minutes in all)"
run main_grad.py --attack ig_single --dataset cifar10_sample --normalize --model cnn --num_exp 2 --rec_epochs 300 "$@"
run main_grad.py --attack ig_weight --dataset cifar10_sample --normalize --model cnn --num_exp 1 --rec_epochs 200 \
  --local_steps 5 --local_lr 1e-4 "$@"
run main_grad.py --attack ig_multi --dataset cifar10_sample --normalize --model cnn --num_exp 1 --rec_batch_size 4 \
  --rec_epochs 200 --rec_lr 0.1 --local_epochs 1 --local_batch_size 2 --local_lr 1e-4 --known_labels "$@"
finish
