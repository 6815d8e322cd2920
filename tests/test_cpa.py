"""Cocktail Party Attack: ICA separates a mixture of real images and a real FC-2 gradient;
a model without a linear layer, or a batch larger than the layer, is a one-line error."""

import pytest
import torch
from torch import nn

import main_grad
from fedprivacy.attacks import AttackConfig, get_attack
from fedprivacy.attacks.cpa import sees_images, unmix_gradient
from fedprivacy.attacks.fits import first_linear
from fedprivacy.data import Normalization
from fedprivacy.evaluation.metrics import flat_psnr, psnr, recognisable, ssim
from fedprivacy.evaluation.pairing import pair_by_mse
from fedprivacy.fl.exchange import share_gradient
from fedprivacy.models import BUILDERS, FULLY_CONNECTED, build_model
from fedprivacy.utils.errors import UsageError

HALF = Normalization((0.5,) * 3, (0.5,) * 3)


def config(**options: float) -> AttackConfig:
    return get_attack("cpa").configure(iterations=50, progress=False, **options)


def paired(reconstructed: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    return reconstructed[pair_by_mse(reconstructed, truth)]


def test_separates_a_synthetic_mixture_of_8_real_images(cifar_sample) -> None:
    images, _ = cifar_sample.batch(list(range(8)))
    sources = HALF.normalize(images).flatten(1).double()
    mixing = torch.randn(32, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    recovered = unmix_gradient(mixing @ sources, mixing.sum(dim=1), 8, (3, 32, 32), config())
    pixels = paired(HALF.denormalize(HALF.clamp(recovered.float().view(8, 3, 32, 32))).clamp(0, 1), images)
    assert psnr(pixels, images).min() > 25
    assert float(psnr(images.roll(1, dims=0), images).max()) < 20  # another image is far from it


def test_recovers_a_real_fc2_batch_of_8(cifar_sample) -> None:
    torch.manual_seed(0)
    images, labels = cifar_sample.batch(list(range(8, 16)))
    model = build_model("fc2", 3, (32, 32), 10)
    observation = share_gradient(model, HALF.normalize(images), labels, HALF, "train")
    result = get_attack("cpa").run(observation, config())
    pixels = paired(HALF.denormalize(result.images).clamp(0, 1), images)
    assert recognisable(psnr(pixels, images), ssim(pixels, images), flat_psnr(images)).float().mean() >= 0.75
    assert result.stats["sources"] == "images" and result.stats["layer"] == "1"


def test_model_without_a_linear_layer_is_a_one_line_error(cifar_sample) -> None:
    images, labels = cifar_sample.batch([0, 1])
    convolutional = nn.Sequential(nn.Conv2d(3, 10, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    observation = share_gradient(convolutional, HALF.normalize(images), labels, HALF, "train")
    with pytest.raises(UsageError) as error:
        get_attack("cpa").run(observation, config())
    assert "no nn.Linear" in str(error.value) and "\n" not in str(error.value)


def test_batch_beyond_the_layer_is_a_one_line_error(tmp_path) -> None:
    flags = ["--attack", "cpa", "--model", "lenet", "--rec_batch_size", "16", "--quiet", "--out_dir", str(tmp_path)]
    with pytest.raises(UsageError) as error:
        main_grad.main(flags)
    assert "at most 10" in str(error.value) and "\n" not in str(error.value)


def test_a_single_image_is_refused_before_any_work_with_the_flag_that_works(tmp_path) -> None:
    """The README's `--attack cpa --model fc2` at the default batch of 1: nothing to separate."""
    with pytest.raises(UsageError, match=r"--rec_batch_size 1: cpa needs at least 2 images") as error:
        main_grad.main(["--attack", "cpa", "--model", "fc2", "--quiet", "--out_dir", str(tmp_path)])
    written = [path for path in tmp_path.iterdir() if not path.name.startswith(".")]  # a name's claim is hidden
    assert "pass --rec_batch_size 2 or more" in str(error.value) and not written


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_the_registrys_fully_connected_models_are_those_whose_first_linear_layer_sees_the_image(name: str) -> None:
    """--cpa.fi_* is refused by name (models.FULLY_CONNECTED, known before any model is built); the attack decides
    at run time from the model itself (sees_images). The two must agree for every registry model."""
    torch.manual_seed(0)
    model = build_model(name, 3, (32, 32), 10)
    images, labels = torch.rand(2, 3, 32, 32), torch.tensor([0, 1])
    observation = share_gradient(model, HALF.normalize(images), labels, HALF, "train")
    assert sees_images(observation, first_linear(observation.model)[1]) == (name in FULLY_CONNECTED)
