"""DLG and iDLG trials run in worker processes give the sequential answer bit for bit, stop the trials a
sequential run would not start, raise a worker's exception here, and leave no process behind."""

import multiprocessing
from dataclasses import replace

import pytest
import torch

from fedprivacy.attacks import get_attack
from fedprivacy.attacks.dlg import match_gradient
from fedprivacy.data import Normalization, load_split
from fedprivacy.fl.exchange import share_gradient
from fedprivacy.fl.observation import Observation
from fedprivacy.models import build_model


@pytest.fixture(scope="module")
def two_digits() -> Observation:
    """A LeNet gradient of two 8x8 digits: a few L-BFGS steps do not always reach it."""
    split = load_split("digits", "test")
    info = split.info
    torch.manual_seed(0)
    model = build_model("lenet", info.channels, info.image_size, info.num_classes)
    images, labels = split.batch([0, 1])
    return share_gradient(model, images, labels, Normalization.identity(info.channels), "train")


def sequential_and_parallel(attack: str, obs: Observation, **settings: int) -> tuple:
    config = get_attack(attack).configure(seed=0, progress=False, **settings)
    sequential = get_attack(attack).run(obs, config)
    parallel = get_attack(attack).run(obs, replace(config, workers=2))
    assert multiprocessing.active_children() == []
    return sequential, parallel


@pytest.mark.parametrize("attack", ["dlg", "idlg"])
def test_parallel_trials_give_the_sequential_answer(two_digits: Observation, attack: str) -> None:
    # Two steps reach no trial's convergence: all three trials run and the lowest distance is kept.
    sequential, parallel = sequential_and_parallel(attack, two_digits, steps=2, restarts=3)
    assert sequential.stats["trials"] == 3
    assert torch.equal(parallel.images, sequential.images)
    assert torch.equal(parallel.labels, sequential.labels)
    assert parallel.stats == sequential.stats


def test_a_converged_trial_cancels_the_later_ones_and_counts_as_sequential(two_digits: Observation) -> None:
    # Trial 0 ends short of convergence, trial 1 converges: trials 2 and 3 are not needed.
    sequential, parallel = sequential_and_parallel("dlg", two_digits, steps=4, restarts=4)
    assert sequential.stats["trials"] == 2
    assert torch.equal(parallel.images, sequential.images)
    assert parallel.stats == sequential.stats


def test_a_worker_error_is_raised_in_the_parent(two_digits: Observation) -> None:
    config = get_attack("idlg").configure(steps=2, restarts=2, progress=False, workers=2)
    with pytest.raises(IndexError, match="out of bounds"):
        match_gradient(two_digits, config, labels=torch.tensor([99, 99]), name="idlg")
    assert multiprocessing.active_children() == []
