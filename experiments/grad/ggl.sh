#!/bin/sh
# GGL (Li et al. 2022): search a trained generator's latent space for the image whose gradient matches (batch 1).
# Run from anywhere: sh experiments/grad/ggl.sh [flags added to every run]; DRY_RUN=1 checks every command only.
# Edit BASE_DATADIR (or export it): the folder holding your torchvision datasets, relative to the repository root.
# Generator checkpoints go to checkpoints/: trained once, resumed or reused when the script runs again.
BASE_DATADIR="${BASE_DATADIR:-data_files}"
cd "$(dirname "$0")/../.." || exit 2
. experiments/lib.sh

section "GGL, the original implementation's settings (CIFAR-10, ResNet-18, CMA-ES budget 25000)" cifar10
# A WGAN-GP generator (latent 128) on the training set; --minutes bounds one sitting, rerunning resumes it.
generator checkpoints/cifar10_wgan.pt 20000 --dataset cifar10 --base_data_dir "$BASE_DATADIR" --minutes 60
run main_grad.py --preset ggl.original --model resnet18 --dataset cifar10 --base_data_dir "$BASE_DATADIR" --normalize \
  --num_exp 10 --ggl.generator checkpoints/cifar10_wgan.pt "$@"

section "CPU-fast: a DCGAN generator on the embedded digits (a few minutes), then LeNet on 4 images"
generator checkpoints/digits_dcgan.pt 1500 --dataset digits --loss dcgan
run main_grad.py --attack ggl --model lenet --dataset digits --num_exp 4 --ggl.generator checkpoints/digits_dcgan.pt "$@"
finish
