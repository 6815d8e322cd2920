#!/bin/sh
# The privacy audit: every attack against every client-side defense at three strengths, plus the FedAvg accuracy each
# defense costs. Writes benchmarks/audit/audit.md, audit.json and audit.png. Cells already computed are kept (the
# audit resumes); pass --fresh to recompute them.
# Edit BASE_DATADIR (or export it): the folder holding cifar10_subset.npz and mnist_test.npz, relative to the
# repository root. The GGL row needs checkpoints/mnist_dcgan.pt (see docs); without it its cells say so.
BASE_DATADIR="${BASE_DATADIR:-../shared/data}"
cd "$(dirname "$0")/.." || exit 2
. experiments/lib.sh

section "The privacy audit (the CIFAR-10 subset and the MNIST test set as npz files)" npz "$BASE_DATADIR/cifar10_subset.npz"
run -m benchmarks.audit --data_dir "$BASE_DATADIR" "$@"
finish
