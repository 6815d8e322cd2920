#!/bin/sh
# DLG (Zhu et al. 2019) then iDLG (Zhao et al. 2020) on one observed gradient per image.
# Run from anywhere: sh experiments/grad/dlg.sh [flags added to every run]; DRY_RUN=1 checks every command only.
# Edit BASE_DATADIR (or export it): the folder holding your torchvision datasets, relative to the repository root.
BASE_DATADIR="${BASE_DATADIR:-data_files}"
cd "$(dirname "$0")/../.." || exit 2
. experiments/lib.sh

section "DLG and iDLG, the original implementation's settings (CIFAR-10, ConvNet)" cifar10
for attack in dlg idlg; do
  run main_grad.py --preset "$attack.original" --model cnn --dataset cifar10 --base_data_dir "$BASE_DATADIR" \
    --normalize --num_exp 10 --rec_batch_size 1 "$@"
done

section "DLG and iDLG on the DLG paper's LeNet (CIFAR-10)" cifar10
for attack in dlg idlg; do
  run main_grad.py --preset "$attack.paper" --model lenet --dataset cifar10 --base_data_dir "$BASE_DATADIR" \
    --normalize --num_exp 10 --rec_batch_size 1 "--$attack.restarts" 4 "$@"
done

# (make demo runs the same attacks on the CIFAR-10 sample; this section takes other images.)
section "CPU-fast: DLG and iDLG on 2 embedded CIFAR-100 sample images (no download)"
for attack in dlg idlg; do
  run main_grad.py --attack "$attack" --model lenet --dataset cifar100_sample --num_exp 2 "--$attack.restarts" 3 "$@"
done
finish
