"""DLG and iDLG recover real images from a LeNet gradient; iDLG labels are exact at batch 1."""

import pytest
import torch

from fedprivacy.attacks import get_attack
from fedprivacy.attacks.labels import restore_labels
from fedprivacy.data import Normalization
from fedprivacy.evaluation.metrics import psnr
from fedprivacy.fl.exchange import share_gradient
from fedprivacy.models import build_model


def observe(split, indices: list[int], normalize: bool = False, model_name: str = "lenet"):
    torch.manual_seed(0)
    info = split.info
    normalization = Normalization((0.5,) * 3, (0.5,) * 3) if normalize else Normalization.identity(3)
    model = build_model(model_name, info.channels, info.image_size, info.num_classes)
    images, labels = split.batch(indices)
    return share_gradient(model, normalization.normalize(images), labels, normalization, "train"), images, labels


@pytest.mark.parametrize("attack", ["dlg", "idlg"])
def test_recovers_real_image_above_30db(cifar_sample, attack: str) -> None:
    observation, images, labels = observe(cifar_sample, [0], normalize=True)
    config = get_attack(attack).configure(steps=300, restarts=3, seed=1, progress=False)
    result = get_attack(attack).run(observation, config)
    recovered = observation.normalization.denormalize(result.images).clamp(0, 1)
    assert float(psnr(recovered, images)) > 30
    assert float(psnr(torch.rand_like(images), images)) < 12
    assert result.labels.tolist() == labels.tolist()


def test_a_trial_stalled_above_the_float32_floor_polishes_with_plain_steps(cifar_sample) -> None:
    # CIFAR-10 sample image 2, LeNet, one trial: the strong-Wolfe line search stalls after 170 steps at a relative
    # distance of 5e-9 (46.5 dB, where the trial used to end); plain steps for the rest of its 300 reach 57.9 dB.
    observation, images, _ = observe(cifar_sample, [2])
    config = get_attack("dlg").configure(steps=300, seed=0, progress=False)
    result = get_attack("dlg").run(observation, config)
    assert result.stats["iterations"] == 300
    assert float(psnr(result.images.clamp(0, 1), images)) > 54


def test_idlg_labels_exact_at_batch_one(cifar_sample) -> None:
    for index in range(10):
        observation, _, labels = observe(cifar_sample, [index])
        assert restore_labels(observation).tolist() == labels.tolist()


@pytest.mark.parametrize("model_name", ["lenet", "cnn"])
def test_batch_label_counts_mostly_right(cifar_sample, model_name: str) -> None:
    observation, _, labels = observe(cifar_sample, list(range(8)), model_name=model_name)
    restored = restore_labels(observation, torch.Generator().manual_seed(0))
    overlap = sum(min(restored.tolist().count(c), labels.tolist().count(c)) for c in set(labels.tolist()))
    assert len(restored) == 8
    assert overlap >= 6


def test_a_diverged_case_is_reported_and_the_others_kept(cifar_sample) -> None:
    from dataclasses import replace

    from fedprivacy.evaluation.runner import attack_cases
    from fedprivacy.fl.case import Case

    good, images, labels = observe(cifar_sample, [0])
    corrupted = replace(good, gradient=tuple(torch.full_like(g, float("nan")) for g in good.gradient))
    cases = [Case(corrupted, images, labels), Case(good, images, labels)]
    config = get_attack("idlg").configure(steps=150, restarts=2, seed=0, progress=False)
    result = attack_cases(get_attack("idlg"), config, cases)
    assert [e["status"] for e in result.experiments] == ["diverged", "ok"]
    assert result.summary["failed"] == 1 and result.per_image[0]["psnr"] is None
    assert result.per_image[1]["psnr"] > 30


def test_dlg_no_longer_stalls_where_the_model_predicts_the_true_class(cifar_sample) -> None:
    # Embedded image 16 is a dog, the class the untrained LeNet predicts for most images; plain
    # L-BFGS stalled there in every trial (relative distance 1 to 24 after 100 steps).
    observation, _, labels = observe(cifar_sample, [16])
    config = get_attack("dlg").configure(steps=40, restarts=1, seed=0, progress=False)
    result = get_attack("dlg").run(observation, config)
    assert result.stats["stalled_trials"] == 0 and result.stats["relative_distance"] < 1e-2
    assert result.labels.tolist() == labels.tolist()


def test_a_stalled_trial_is_abandoned_early(cifar_sample) -> None:
    from dataclasses import replace

    from fedprivacy.attacks.dlg import STALL_STEPS

    # No image and soft label give a gradient ten times the shared one: every trial stays far from it.
    observation, _, _ = observe(cifar_sample, [0])
    unreachable = replace(observation, gradient=tuple(10 * g for g in observation.gradient))
    config = get_attack("dlg").configure(steps=300, restarts=2, seed=0, progress=False)
    stats = get_attack("dlg").run(unreachable, config).stats
    assert stats["stalled_trials"] == 2 and stats["iterations"] == 2 * STALL_STEPS


def test_dlg_goes_on_with_plain_steps_where_the_line_search_stalls(cifar_sample) -> None:
    # On GRNN's LeNet-5 (max-pooling) the strong-Wolfe line search found no decrease after 5 steps here,
    # at a relative distance of 0.009, and the trial ended; plain L-BFGS steps go on (0.002 after 30).
    observation, _, _ = observe(cifar_sample, [0], model_name="lenet5")
    config = get_attack("dlg").configure(steps=30, restarts=1, seed=0, progress=False)
    stats = get_attack("dlg").run(observation, config).stats
    assert stats["iterations"] == 30 and stats["stalled_trials"] == 0
    assert stats["relative_distance"] < 4e-3


def test_float64_matching_recovers_the_image_and_answers_in_float32(cifar_sample) -> None:
    observation, images, labels = observe(cifar_sample, [0], normalize=True)
    config = get_attack("dlg").configure(steps=300, float64=True, seed=1, progress=False)
    result = get_attack("dlg").run(observation, config)
    recovered = observation.normalization.denormalize(result.images).clamp(0, 1)
    assert result.images.dtype == torch.float32 and observation.gradient[0].dtype == torch.float32
    assert float(psnr(recovered, images)) > 30 and result.stats["relative_distance"] < 1e-8
    assert result.labels.tolist() == labels.tolist()
