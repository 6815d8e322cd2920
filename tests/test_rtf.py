"""Robbing the Fed: exact recovery of images alone in their bin, on a gradient and on a FedAvg update;
the imprinted model trains a local epoch like the plain one; wrong use is a one-line error."""

from dataclasses import replace

import pytest
import torch

import main_grad
from fedprivacy.attacks import get_attack
from fedprivacy.data import Normalization, load_split
from fedprivacy.evaluation.metrics import psnr
from fedprivacy.evaluation.runner import attack_cases
from fedprivacy.fl.case import Case
from fedprivacy.fl.client import train_locally
from fedprivacy.fl.exchange import share_gradient, share_update
from fedprivacy.fl.observation import LocalTraining
from fedprivacy.models import build_model
from fedprivacy.models.imprint import brightness, find_imprint, imprint_model
from fedprivacy.utils.errors import UsageError

CONFIG = get_attack("rtf").configure(progress=False)
HALF = Normalization((0.5,) * 3, (0.5,) * 3)


def imprinted(model_name: str, info, bins: int, public: torch.Tensor | None = None):
    torch.manual_seed(0)
    model = build_model(model_name, info.channels, info.image_size, info.num_classes)
    return imprint_model(model, (info.channels, *info.image_size), bins, HALF, public, info)


def bins_of(model, images: torch.Tensor) -> torch.Tensor:
    """The bin of each normalised image (scoring side: this uses the private batch)."""
    with torch.no_grad():
        return (find_imprint(model)[1].imprint(images.flatten(1)) > 0).sum(dim=1) - 1


def alone_in_bin(model, images: torch.Tensor) -> torch.Tensor:
    """Which normalised images are the only one in their bin."""
    bins = bins_of(model, images)
    return torch.bincount(bins)[bins] == 1


def nearest_psnr(reconstructed: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """Each true image's PSNR against its nearest reconstruction (both in [0, 1])."""
    return torch.stack([psnr(reconstructed, image.expand_as(reconstructed)).max() for image in truth])


def test_recovers_alone_images_exactly_from_a_gradient(cifar_sample) -> None:
    images, labels = cifar_sample.batch(list(range(16)))
    model = imprinted("mlp", cifar_sample.info, bins=64)
    observation = share_gradient(model, HALF.normalize(images), labels, HALF, "train")
    result = get_attack("rtf").run(observation, CONFIG)
    alone = alone_in_bin(model, HALF.normalize(images))
    assert alone.sum() >= 8
    recovered = result.images  # normalised space, clamped
    for index in torch.nonzero(alone).flatten():
        error = (recovered - HALF.normalize(images[index : index + 1])).flatten(1).abs().max(dim=1).values.min()
        assert error < 1e-4  # float32 rounding only
    assert result.stats["nonempty_bins"] == len(bins_of(model, HALF.normalize(images)).unique())


def test_recovers_alone_images_from_a_local_epoch_update(cifar_sample) -> None:
    images, labels = cifar_sample.batch(list(range(20)))
    model = imprinted("cnn", cifar_sample.info, bins=64)
    local = LocalTraining(epochs=1, batch_size=10, lr=0.1, momentum=0.9)  # 2 SGD steps
    observation = share_update(model, HALF.normalize(images), labels, HALF, "train", local)
    result = get_attack("rtf").run(observation, CONFIG)
    alone = alone_in_bin(model, HALF.normalize(images))
    quality = nearest_psnr(HALF.denormalize(result.images).clamp(0, 1), images)
    assert result.stats["source"] == "update"
    assert (quality[alone] > 40).float().mean() >= 0.75
    assert float(psnr(torch.rand_like(images), images).max()) < 15


def test_imprinted_model_trains_a_local_epoch_like_the_plain_one() -> None:
    train, test = load_split("digits", "train"), load_split("digits", "test")
    images, labels = train.batch(list(range(600)))
    test_images, test_labels = test.batch(list(range(len(test))))
    normalization = Normalization((0.5,), (0.5,))
    info = train.info
    torch.manual_seed(0)
    plain = build_model("cnn", info.channels, info.image_size, info.num_classes)
    public = normalization.normalize(images)
    model = imprint_model(plain, (info.channels, *info.image_size), 128, normalization, public)
    local = LocalTraining(epochs=1, batch_size=50, lr=0.1, momentum=0.9)  # 12 steps
    accuracies = []
    for start in (plain, model):
        trained = train_locally(start, normalization.normalize(images), labels, local, "train")
        assert all(torch.isfinite(p).all() for p in trained.parameters())
        with torch.no_grad():
            predicted = trained.eval()(normalization.normalize(test_images)).argmax(dim=1)
        accuracies.append(float((predicted == test_labels).float().mean()))
    assert accuracies[0] > 0.5  # the plain model learns in one epoch
    assert accuracies[1] > accuracies[0] - 0.1


def test_bins_hold_equal_mass_of_the_public_brightness() -> None:
    public = torch.randn(4000, 3, 4, 4) * 0.3
    info = load_split("cifar10_sample").info
    linear = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(48, 10))
    model = imprint_model(linear, (3, 4, 4), 16, HALF, public, info)
    fresh = torch.randn(4000, 3, 4, 4) * 0.3
    bins = bins_of(model, fresh)
    counts = torch.bincount(bins, minlength=16).float()
    assert counts.min() > 0.6 * len(fresh) / 16 and counts.max() < 1.4 * len(fresh) / 16
    assert brightness(fresh).shape == (4000,)


def test_rtf_without_imprint_is_a_one_line_error(tmp_path) -> None:
    with pytest.raises(UsageError) as error:
        main_grad.main(["--attack", "rtf", "--model", "mlp", "--quiet", "--out_dir", str(tmp_path)])
    assert "needs --imprint" in str(error.value) and "\n" not in str(error.value)


def test_nan_in_the_shared_update_is_reported_and_other_batches_kept(cifar_sample) -> None:
    images, labels = cifar_sample.batch(list(range(8)))
    model = imprinted("mlp", cifar_sample.info, bins=32)
    good = share_gradient(model, HALF.normalize(images), labels, HALF, "train")
    broken = replace(good, gradient=tuple(torch.full_like(g, float("nan")) for g in good.gradient))
    result = attack_cases(get_attack("rtf"), CONFIG, [Case(broken, images, labels), Case(good, images, labels)])
    assert [e["status"] for e in result.experiments] == ["diverged", "ok"]
    assert "NaN" in result.experiments[0]["error"] and "\n" not in result.experiments[0]["error"]
