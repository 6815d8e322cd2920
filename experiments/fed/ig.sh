#!/usr/bin/env bash
# Inverting Gradients by an honest-but-curious FedAvg server on one client per round:
# ig_single matches the update's pseudo-gradient; ig_weight and ig_multi differentiate through the
# client's local training (the public lr, epochs, batch size, momentum) to match the update itself.
# Edit BASE_DATADIR (or export it) to point at the folder holding your torchvision datasets.
set -euo pipefail
cd "$(dirname "$0")/../.."
BASE_DATADIR="${BASE_DATADIR:-../data}"
PYTHON="${PYTHON:-.venv/bin/python}"

# The seed's setting: CIFAR-10, ConvNet, 10 clients, Dirichlet 0.5, 10 rounds, 1 local epoch, batch 50,
# lr 0.1 decayed 0.95 per round, no momentum. Per attack: rec_epochs / images / rec_lr as the seed's ig.sh.
FED=(--strategy fedavg --model cnn --dataset cifar10 --base_data_dir "$BASE_DATADIR" --normalize
  --total_clients 10 --num_rounds 10 --C 1 --p_type dirichlet --beta 0.5 --local_epochs 1 --batch_size 50
  --lr 0.1 --lr_decay 0.95 --client_momentum 0 --tv 1e-6)
"$PYTHON" main_fed.py "${FED[@]}" --attack ig_single --rec_epochs 4000 --rec_batch_size 1 --rec_lr 0.1 "$@"
"$PYTHON" main_fed.py "${FED[@]}" --attack ig_weight --rec_epochs 8000 --rec_batch_size 1 --rec_lr 0.1 "$@"
"$PYTHON" main_fed.py "${FED[@]}" --attack ig_multi --rec_epochs 24000 --rec_batch_size 8 --rec_lr 1.0 "$@"

# CPU-fast variant on the embedded digits (no download): 2 rounds, the server attacks in round 2.
for attack in ig_single ig_weight; do
  "$PYTHON" main_fed.py --attack "$attack" --model cnn --dataset digits --normalize --num_rounds 2 \
    --attack_rounds 2 --rec_epochs 500 "$@"
done
"$PYTHON" main_fed.py --attack ig_multi --model cnn --dataset digits --normalize --num_rounds 2 \
  --attack_rounds 2 --rec_batch_size 4 --rec_epochs 1000 --rec_lr 0.1 "$@"
