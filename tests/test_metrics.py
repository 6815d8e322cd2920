"""Metrics are right on known pairs; pairing undoes a shuffled batch; labels count as a multiset."""

import math

import torch

from fedprivacy.evaluation.metrics import PSNR_CAP, label_accuracy, mse, psnr, ssim
from fedprivacy.evaluation.pairing import pair_by_mse
from fedprivacy.evaluation.scoring import score_batch


def test_psnr_of_known_error() -> None:
    truth = torch.zeros(2, 3, 8, 8)
    noisy = truth + 0.1  # MSE 0.01 -> 20 dB
    assert torch.allclose(mse(noisy, truth), torch.full((2,), 0.01))
    assert torch.allclose(psnr(noisy, truth), torch.full((2,), 20.0), atol=1e-4)
    assert float(psnr(truth, truth)[0]) == PSNR_CAP


def test_ssim_identity_and_degradation(cifar_sample) -> None:
    images, _ = cifar_sample.batch([0, 1])
    assert torch.allclose(ssim(images, images), torch.ones(2), atol=1e-6)
    noisy = (images + 0.2 * torch.randn_like(images)).clamp(0, 1)
    scores = ssim(noisy, images)
    assert (scores < 0.8).all() and (scores > 0).all()
    assert float(ssim(torch.rand(1, 3, 32, 32), images[:1])) < 0.1


def test_ssim_handles_images_smaller_than_the_window() -> None:
    small = torch.rand(1, 1, 8, 8)
    assert math.isclose(float(ssim(small, small)), 1.0, abs_tol=1e-6)


def test_pairing_undoes_a_shuffle(cifar_sample) -> None:
    images, labels = cifar_sample.batch(list(range(6)))
    order = torch.tensor([3, 0, 5, 1, 4, 2])
    shuffled = images[order] + 0.01 * torch.randn_like(images)
    paired, rows = score_batch(images, labels, shuffled.clamp(0, 1), labels[order])
    assert torch.allclose(paired, shuffled.clamp(0, 1)[order.argsort()])
    assert all(row["label_ok"] and row["psnr"] > 35 for row in rows)
    assert pair_by_mse(images[order], images).tolist() == order.argsort().tolist()


def test_label_accuracy_is_a_multiset_overlap() -> None:
    assert label_accuracy(torch.tensor([1, 1, 2, 3]), torch.tensor([3, 1, 2, 2])) == 0.75
    assert label_accuracy(torch.tensor([0, 1]), torch.tensor([1, 0])) == 1.0
    assert label_accuracy(torch.tensor([], dtype=torch.long), torch.tensor([1])) == 0.0
