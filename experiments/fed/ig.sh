#!/bin/sh
# Inverting Gradients by an honest-but-curious FedAvg server on one client per round: ig_single matches the update's
# pseudo-gradient; ig_weight and ig_multi differentiate through the client's local training (the public lr, epochs,
# batch size, momentum) to match the update itself.
# Run from anywhere: sh experiments/fed/ig.sh [flags added to every run]; DRY_RUN=1 checks every command only.
# Edit BASE_DATADIR (or export it): the folder holding your torchvision datasets, relative to the repository root.
BASE_DATADIR="${BASE_DATADIR:-data_files}"
cd "$(dirname "$0")/../.." || exit 2
. experiments/lib.sh

# The original implementation's federation (see dlg.sh); per attack rec_epochs / images / rec_lr as its ig.sh.
section "Inverting Gradients, the original implementation's federated settings (CIFAR-10)" cifar10
run main_fed.py --strategy fedavg --attack ig_single --model cnn --dataset cifar10 --base_data_dir "$BASE_DATADIR" \
  --normalize --total_clients 10 --num_rounds 10 --C 1 --p_type dirichlet --beta 0.5 --local_epochs 1 \
  --batch_size 50 --lr 0.1 --lr_decay 0.95 --client_momentum 0 --attack_rounds all --tv 1e-6 \
  --rec_epochs 4000 --rec_batch_size 1 --rec_lr 0.1 "$@"
run main_fed.py --strategy fedavg --attack ig_weight --model cnn --dataset cifar10 --base_data_dir "$BASE_DATADIR" \
  --normalize --total_clients 10 --num_rounds 10 --C 1 --p_type dirichlet --beta 0.5 --local_epochs 1 \
  --batch_size 50 --lr 0.1 --lr_decay 0.95 --client_momentum 0 --attack_rounds all --tv 1e-6 \
  --rec_epochs 8000 --rec_batch_size 1 --rec_lr 0.1 "$@"
run main_fed.py --strategy fedavg --attack ig_multi --model cnn --dataset cifar10 --base_data_dir "$BASE_DATADIR" \
  --normalize --total_clients 10 --num_rounds 10 --C 1 --p_type dirichlet --beta 0.5 --local_epochs 1 \
  --batch_size 50 --lr 0.1 --lr_decay 0.95 --client_momentum 0 --attack_rounds all --tv 1e-6 \
  --rec_epochs 24000 --rec_batch_size 8 --rec_lr 1.0 "$@"

section "CPU-fast: the embedded digits, 2 rounds, the server attacks a client with fresh images in round 2"
for attack in ig_single ig_weight; do
  run main_fed.py --attack "$attack" --model cnn --dataset digits --normalize --num_rounds 2 --attack_rounds 2 \
    --victim_images 1 --rec_epochs 500 "$@"
done
run main_fed.py --attack ig_multi --model cnn --dataset digits --normalize --num_rounds 2 --attack_rounds 2 \
  --victim_images 4 --rec_batch_size 4 --rec_epochs 1000 --rec_lr 0.1 "$@"
finish
