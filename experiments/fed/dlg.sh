#!/bin/sh
# DLG then iDLG by an honest-but-curious FedAvg server on one client per round (pseudo-gradient of its update).
# Run from anywhere: sh experiments/fed/dlg.sh [flags added to every run]; DRY_RUN=1 checks every command only.
# Edit BASE_DATADIR (or export it): the folder holding your torchvision datasets, relative to the repository root.
BASE_DATADIR="${BASE_DATADIR:-data_files}"
cd "$(dirname "$0")/../.." || exit 2
. experiments/lib.sh

# The original implementation's federation: CIFAR-10, ConvNet, 10 clients, Dirichlet 0.5, 10 rounds, 1 local epoch,
# batch 50, lr 0.1 decayed 0.95 per round, no momentum; every round one client is attacked, 300 L-BFGS steps at lr 1.
section "DLG and iDLG, the original implementation's federated settings (CIFAR-10)" cifar10
for attack in dlg idlg; do
  run main_fed.py --strategy fedavg --preset "$attack.original" --model cnn --dataset cifar10 --base_data_dir "$BASE_DATADIR" \
    --normalize --total_clients 10 --num_rounds 10 --C 1 --p_type dirichlet --beta 0.5 --client.epochs 1 \
    --client.batch_size 50 --client.lr 0.1 --lr_decay 0.95 --client.momentum 0 --attack_rounds all \
    --rec_batch_size 1 "$@"
done

# lr 0.5: LeNet's sigmoids learn the digits in 3 rounds (at main_fed's lr 0.1 it stays at chance).
section "CPU-fast: the embedded digits, LeNet, 3 rounds, a client with one fresh image attacked in rounds 1 and 3"
for attack in dlg idlg; do
  run main_fed.py --attack "$attack" --model lenet --dataset digits --normalize --num_rounds 3 --client.lr 0.5 \
    --attack_rounds 1,3 --victim_images 1 "--$attack.restarts" 3 "$@"
done
finish
