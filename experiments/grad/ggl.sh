#!/usr/bin/env bash
# GGL: search a trained generator's latent space for the image whose gradient matches (batch 1).
# Edit BASE_DATADIR (or export it) to point at the folder holding your torchvision datasets.
# The generator checkpoints go to checkpoints/ (train once; rerunning resumes or reuses them).
set -euo pipefail
cd "$(dirname "$0")/../.."
BASE_DATADIR="${BASE_DATADIR:-../data}"
PYTHON="${PYTHON:-.venv/bin/python}"

train() {  # train (or resume) a generator checkpoint: train OUT STEPS FLAGS...
  local out="$1" steps="$2"
  shift 2
  "$PYTHON" -m attacks.train_generator --out "$out" --steps "$steps" "$@" $([ -f "$out" ] && echo --resume)
}

# The seed's setting: ResNet-18 on CIFAR-10, WGAN-GP generator (latent 128) trained on the training
# set, CMA-ES with a budget of 25000. Training is long on a CPU: --minutes bounds one sitting and
# running the script again resumes it.
train checkpoints/cifar10_wgan.pt 20000 --dataset cifar10 --base_data_dir "$BASE_DATADIR" --minutes 60
"$PYTHON" main_grad.py --attack ggl --model resnet18 --dataset cifar10 --base_data_dir "$BASE_DATADIR" \
  --normalize --num_exp 10 --generator checkpoints/cifar10_wgan.pt --budget 25000 "$@"

# CPU-fast variant on the embedded digits: a DCGAN generator (a few minutes), then LeNet, 4 images.
train checkpoints/digits_dcgan.pt 1500 --dataset digits --loss dcgan
"$PYTHON" main_grad.py --attack ggl --model lenet --dataset digits --num_exp 4 \
  --generator checkpoints/digits_dcgan.pt "$@"
