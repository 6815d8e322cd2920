"""Metrics are right on known pairs; a recognisable image beats its flat image; pairing undoes a shuffled batch;
labels count as a multiset."""

import math

import torch

from fedprivacy.data import load_split
from fedprivacy.evaluation.metrics import PSNR_CAP, flat_psnr, label_accuracy, mse, psnr, recognisable, ssim
from fedprivacy.evaluation.pairing import pair_by_mse
from fedprivacy.evaluation.scoring import score_batch
from fedprivacy.evaluation.verdict import truth_evidence


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


def test_the_flat_image_is_the_truths_mean_colour_and_no_constant_beats_it(cifar_sample) -> None:
    images, _ = cifar_sample.batch([0, 1])
    flat = flat_psnr(images)
    assert torch.allclose(flat, psnr(images.mean(dim=(2, 3), keepdim=True).expand_as(images), images))
    for value in (0.0, 0.3, 0.5, 0.7, 1.0):
        assert (psnr(torch.full_like(images, value), images) <= flat).all()


def test_a_flat_grey_image_is_not_recognisable_even_when_its_ssim_is_gamed() -> None:
    """8x8 digits: SSIM's 7-pixel window fits only at the centre, so grey with the truth's central 4x4 pixels
    reaches SSIM 0.95-0.98 at the flat image's PSNR (8-9 dB); a near copy (noise 0.03, 29-35 dB) is recognisable."""
    images, labels = load_split("digits", "test").batch(list(range(8)))
    gamed = torch.full_like(images, 0.5)
    gamed[..., 2:6, 2:6] = images[..., 2:6, 2:6]
    near = (images + 0.03 * torch.randn(images.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    flat = flat_psnr(images)
    assert (ssim(gamed, images) > 0.9).all() and (psnr(gamed, images) < flat + 1).all()
    assert not recognisable(psnr(gamed, images), ssim(gamed, images), flat).any()
    assert recognisable(psnr(near, images), ssim(near, images), flat).all()
    for pixels, count in ((gamed, 0), (near, 8)):
        _, rows = score_batch(images, labels, pixels, labels)
        assert sum(row["recognisable"] for row in rows) == truth_evidence(rows)["recognisable"] == count
    assert recognisable(PSNR_CAP, 1.0, PSNR_CAP)  # an exact copy of a flat image: nothing beats its flat PSNR


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
