#!/bin/sh
# GGL by an honest-but-curious FedAvg server: a generator trained on public data, searched by CMA-ES for the image
# whose gradient matches the attacked client's pseudo-gradient (one image).
# Run from anywhere: sh experiments/fed/ggl.sh [flags added to every run]; DRY_RUN=1 checks every command only.
# Edit BASE_DATADIR (or export it): the folder holding your torchvision datasets, relative to the repository root.
# Generator checkpoints go to checkpoints/: trained once, resumed or reused when the script runs again.
BASE_DATADIR="${BASE_DATADIR:-data_files}"
cd "$(dirname "$0")/../.." || exit 2
. experiments/lib.sh

# The original implementation's setting: ResNet-18, CIFAR-10, 10 clients, Dirichlet 0.5, 30 rounds, CMA-ES budget
# 25000, with a WGAN-GP generator (latent 128); --minutes bounds one training sitting, rerunning resumes it.
# The clients hold the training split, so the server's generator learns from the test split (the public data it
# evaluates on; a generator trained on the training split is refused).
section "GGL, the original implementation's federated settings (CIFAR-10, ResNet-18, 30 rounds)" cifar10
generator checkpoints/cifar10_test_wgan.pt 20000 --dataset cifar10 --split test --base_data_dir "$BASE_DATADIR" \
  --minutes 60
run main_fed.py --strategy fedavg --preset ggl.original --model resnet18 --dataset cifar10 --base_data_dir "$BASE_DATADIR" \
  --normalize --total_clients 10 --num_rounds 30 --C 1 --p_type dirichlet --beta 0.5 --client.epochs 1 \
  --client.batch_size 50 --client.lr 0.1 --lr_decay 0.95 --client.momentum 0 --attack_rounds all --rec_batch_size 1 \
  --ggl.generator checkpoints/cifar10_test_wgan.pt "$@"

# LeNet on unnormalised digits is still at chance after 2 rounds (the summary line warns so); the attack in round 2
# does not need a trained model.
section "CPU-fast: a DCGAN generator on the embedded digits, LeNet, 2 rounds, a client with one fresh image"
generator checkpoints/digits_test_dcgan.pt 1500 --dataset digits --split test --loss dcgan
run main_fed.py --attack ggl --model lenet --dataset digits --num_rounds 2 --attack_rounds 2 --victim_images 1 \
  --ggl.generator checkpoints/digits_test_dcgan.pt --ggl.budget 500 "$@"
finish
