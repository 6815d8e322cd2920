#!/bin/sh
# Robbing the Fed by a malicious FedAvg server: it puts the imprint block before the model it broadcasts and
# recovers the attacked client's images in closed form from its update.
# Run from anywhere: sh experiments/fed/rtf.sh [flags added to every run]; DRY_RUN=1 checks every command only.
# Edit BASE_DATADIR (or export it): the folder holding your torchvision datasets, relative to the repository root.
BASE_DATADIR="${BASE_DATADIR:-data_files}"
cd "$(dirname "$0")/../.." || exit 2
. experiments/lib.sh
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

# The original implementation's setting: ResNet-18 behind an imprint block of 100 bins, one round, CIFAR-10, 10 clients,
# 1 local epoch at batch 50, lr 0.1; a Dirichlet 0.5 split, then an iid one.
section "Robbing the Fed, the original implementation's federated settings (CIFAR-10, ResNet-18)" cifar10
run main_fed.py --strategy fedavg --attack rtf --model resnet18 --imprint --bins 100 --dataset cifar10 \
  --base_data_dir "$BASE_DATADIR" --normalize --total_clients 10 --num_rounds 1 --C 1 --p_type dirichlet --beta 0.5 \
  --client.epochs 1 --client.batch_size 50 --client.lr 0.1 --lr_decay 0.95 --client.momentum 0 --rec_batch_size 100 "$@"
run main_fed.py --strategy fedavg --attack rtf --model resnet18 --imprint --bins 100 --dataset cifar10 \
  --base_data_dir "$BASE_DATADIR" --normalize --total_clients 10 --num_rounds 1 --C 1 --iid \
  --client.epochs 1 --client.batch_size 50 --client.lr 0.1 --lr_decay 0.95 --client.momentum 0 --rec_batch_size 100 "$@"

section "CPU-fast: the embedded digits, ConvNet behind 64 bins, one round, a client holding 16 fresh images"
run main_fed.py --attack rtf --model cnn --imprint --bins 64 --dataset digits --normalize --num_rounds 1 \
  --victim_images 16 --rec_batch_size 16 "$@"
finish
