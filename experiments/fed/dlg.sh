#!/usr/bin/env bash
# DLG then iDLG by an honest-but-curious FedAvg server on one client per round (pseudo-gradient of its update).
# Edit BASE_DATADIR (or export it) to point at the folder holding your torchvision datasets.
set -euo pipefail
cd "$(dirname "$0")/../.."
BASE_DATADIR="${BASE_DATADIR:-../data}"
PYTHON="${PYTHON:-.venv/bin/python}"

# The seed's setting: CIFAR-10, ConvNet, 10 clients, Dirichlet 0.5, 10 rounds, 1 local epoch, batch 50,
# lr 0.1 decayed 0.95 per round, no momentum; every round one client holding 1 image is attacked
# with 300 L-BFGS steps at lr 1.0.
for attack in dlg idlg; do
  "$PYTHON" main_fed.py --strategy fedavg --attack "$attack" --model cnn --dataset cifar10 --base_data_dir "$BASE_DATADIR" \
    --normalize --total_clients 10 --num_rounds 10 --C 1 --p_type dirichlet --beta 0.5 --local_epochs 1 \
    --batch_size 50 --lr 0.1 --lr_decay 0.95 --client_momentum 0 --rec_epochs 300 --rec_batch_size 1 --rec_lr 1.0 "$@"
done

# CPU-fast variant on the embedded digits (no download): LeNet, 3 rounds, attacked in rounds 1 and 3.
for attack in dlg idlg; do
  "$PYTHON" main_fed.py --attack "$attack" --model lenet --dataset digits --normalize --num_rounds 3 \
    --attack_rounds 1,3 --restarts 3 "$@"
done
