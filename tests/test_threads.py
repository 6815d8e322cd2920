"""--threads' default: $OMP_NUM_THREADS when it is a positive integer, else the cores this process may use."""

import os

import pytest
import torch

import main_grad
from fedprivacy.utils.threads import default_threads, usable_cores, use_threads


def test_usable_cores_are_the_affinity_not_the_machine() -> None:
    assert usable_cores() == len(os.sched_getaffinity(0)) >= 1


@pytest.mark.parametrize(("value", "expected"), [("3", 3), ("0", None), ("two", None), ("", None)])
def test_the_default_follows_a_valid_omp_num_threads(monkeypatch: pytest.MonkeyPatch, value: str, expected) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", value)
    assert default_threads() == (expected or usable_cores())


def test_a_run_sets_and_records_its_threads(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    try:
        assert use_threads(2) == 2 and torch.get_num_threads() == 2
        report = main_grad.main(
            ["--attack", "ig_single", "--dataset", "digits", "--model", "cnn", "--rec_epochs", "2", "--restarts", "2"]
            + ["--threads", "1", "--quiet", "--out_dir", str(tmp_path)]
        )
    finally:
        torch.set_num_threads(1)
    assert report["threads"] == 1 and torch.get_num_threads() == 1
    assert report["attack_settings"]["workers"] == 1 and report["attack_settings"]["trial_batch"] == 2
