#!/bin/sh
# Inverting Gradients by an honest-but-curious FedAvg server on one client per round: ig_single matches the update's
# pseudo-gradient; ig_weight and ig_multi differentiate through the client's local training (the public lr, epochs,
# batch size, momentum) to match the update itself.
# Run from anywhere: sh experiments/fed/ig.sh [flags added to every run]; DRY_RUN=1 checks every command only.
# Edit BASE_DATADIR (or export it): the folder holding your torchvision datasets, relative to the repository root.
BASE_DATADIR="${BASE_DATADIR:-data_files}"
cd "$(dirname "$0")/../.." || exit 2
. experiments/lib.sh

# The original implementation's federation (see dlg.sh); per attack its preset (ig.sh's iterations and lr) and images.
section "Inverting Gradients, the original implementation's federated settings (CIFAR-10)" cifar10
run main_fed.py --strategy fedavg --preset ig_single.original --model cnn --dataset cifar10 --base_data_dir "$BASE_DATADIR" \
  --normalize --total_clients 10 --num_rounds 10 --C 1 --p_type dirichlet --beta 0.5 --client.epochs 1 \
  --client.batch_size 50 --client.lr 0.1 --lr_decay 0.95 --client.momentum 0 --attack_rounds all \
  --rec_batch_size 1 "$@"
run main_fed.py --strategy fedavg --preset ig_weight.original --model cnn --dataset cifar10 --base_data_dir "$BASE_DATADIR" \
  --normalize --total_clients 10 --num_rounds 10 --C 1 --p_type dirichlet --beta 0.5 --client.epochs 1 \
  --client.batch_size 50 --client.lr 0.1 --lr_decay 0.95 --client.momentum 0 --attack_rounds all \
  --rec_batch_size 1 "$@"
run main_fed.py --strategy fedavg --preset ig_multi.original --model cnn --dataset cifar10 --base_data_dir "$BASE_DATADIR" \
  --normalize --total_clients 10 --num_rounds 10 --C 1 --p_type dirichlet --beta 0.5 --client.epochs 1 \
  --client.batch_size 50 --client.lr 0.1 --lr_decay 0.95 --client.momentum 0 --attack_rounds all \
  --rec_batch_size 8 "$@"

section "CPU-fast: the embedded digits, 2 rounds, the server attacks a client with fresh images in round 2"
for attack in ig_single ig_weight; do
  run main_fed.py --attack "$attack" --model cnn --dataset digits --normalize --num_rounds 2 --attack_rounds 2 \
    --victim_images 1 "--$attack.iterations" 500 "$@"
done
run main_fed.py --attack ig_multi --model cnn --dataset digits --normalize --num_rounds 2 --attack_rounds 2 \
  --victim_images 4 --rec_batch_size 4 --ig_multi.iterations 1000 --ig_multi.lr 0.1 "$@"
finish
