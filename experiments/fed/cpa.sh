#!/bin/sh
# Cocktail Party Attack by an honest-but-curious FedAvg server: ICA on the first fully connected layer's update.
# Run from anywhere: sh experiments/fed/cpa.sh [flags added to every run]; DRY_RUN=1 checks every command only.
# Edit BASE_DATADIR (or export it): the folder holding your torchvision datasets, relative to the repository root.
BASE_DATADIR="${BASE_DATADIR:-data_files}"
cd "$(dirname "$0")/../.." || exit 2
. experiments/lib.sh
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

# The original implementation's settings: the federation of dlg.sh; 4 images, 25000 Adam steps at lr 1e-3;
# FC-2 with decor 1.47, T 12.4, TV 3.1 (preset cpa.paper); VGG-16 with decor 5.3, T 7.7, TV 0.1, one-sign 0.13,
# l1 5 and feature inversion (preset cpa.original_vgg16).
section "CPA, the original implementation's federated settings (CIFAR-10, FC-2 and VGG-16)" cifar10
run main_fed.py --strategy fedavg --preset cpa.paper --model fc2 --dataset cifar10 --base_data_dir "$BASE_DATADIR" \
  --normalize --total_clients 10 --num_rounds 10 --C 1 --p_type dirichlet --beta 0.5 --client.epochs 1 \
  --client.batch_size 50 --client.lr 0.1 --lr_decay 0.95 --client.momentum 0 --attack_rounds all \
  --rec_batch_size 4 "$@"
run main_fed.py --strategy fedavg --preset cpa.original_vgg16 --model vgg16 --dataset cifar10 --base_data_dir "$BASE_DATADIR" \
  --normalize --total_clients 10 --num_rounds 10 --C 1 --p_type dirichlet --beta 0.5 --client.epochs 1 \
  --client.batch_size 50 --client.lr 0.1 --lr_decay 0.95 --client.momentum 0 --attack_rounds all \
  --rec_batch_size 4 "$@"

section "CPU-fast: the embedded digits, FC-2, one round, a client with 8 fresh images in one full-batch step"
run main_fed.py --attack cpa --model fc2 --dataset digits --normalize --num_rounds 1 --victim_images 8 \
  --rec_batch_size 8 --client.batch_size 8 "$@"
finish
