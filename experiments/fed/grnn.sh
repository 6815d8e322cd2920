#!/bin/sh
# GRNN by an honest-but-curious FedAvg server: a generator learns the attacked client's images and labels from the
# pseudo-gradient of its update.
# Run from anywhere: sh experiments/fed/grnn.sh [flags added to every run]; DRY_RUN=1 checks every command only.
# Edit BASE_DATADIR (or export it): the folder holding your torchvision datasets, relative to the repository root.
BASE_DATADIR="${BASE_DATADIR:-data_files}"
cd "$(dirname "$0")/../.." || exit 2
. experiments/lib.sh

# The original implementation's setting: the federation of dlg.sh; 1000 RMSprop iterations at lr 1e-4, 4 images,
# TV 1e-3.
section "GRNN, the original implementation's federated settings (CIFAR-10, ConvNet)" cifar10
run main_fed.py --strategy fedavg --preset grnn.original --model cnn --dataset cifar10 --base_data_dir "$BASE_DATADIR" \
  --normalize --total_clients 10 --num_rounds 10 --C 1 --p_type dirichlet --beta 0.5 --client.epochs 1 \
  --client.batch_size 50 --client.lr 0.1 --lr_decay 0.95 --client.momentum 0 --attack_rounds all \
  --rec_batch_size 4 "$@"

section "CPU-fast: the embedded digits, LeNet, 2 rounds, a client with 4 fresh images attacked in round 2"
# --client.lr 0.5: LeNet's sigmoids learn the digits in 2 rounds (at main_fed's 0.1 it stays at chance).
run main_fed.py --attack grnn --model lenet --dataset digits --normalize --num_rounds 2 --client.lr 0.5 \
  --attack_rounds 2 --victim_images 4 --rec_batch_size 4 --grnn.iterations 300 "$@"
finish
