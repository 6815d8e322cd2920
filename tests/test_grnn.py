"""GRNN: trains its generator towards a real image, its loss is the official code's, any model works."""

import numpy as np
import pytest
import torch

from fedprivacy.attacks import get_attack
from fedprivacy.attacks.grnn import run_trials, squared_total_variation
from fedprivacy.data import Normalization
from fedprivacy.evaluation.metrics import psnr
from fedprivacy.fl.exchange import share_gradient, share_update
from fedprivacy.fl.observation import LocalTraining
from fedprivacy.models import MODELS, build_model
from fedprivacy.utils.progress import loss_bar

HALF = Normalization((0.5,) * 3, (0.5,) * 3)


def observe(split, indices: list[int], model_name: str = "lenet", normalization: Normalization = HALF):
    torch.manual_seed(0)
    info = split.info
    model = build_model(model_name, info.channels, info.image_size, info.num_classes)
    images, labels = split.batch(indices)
    return model, share_gradient(model, normalization.normalize(images), labels, normalization, "train"), images


def test_lowers_its_loss_and_beats_a_random_image(cifar_sample) -> None:
    _, observation, images = observe(cifar_sample, [3])
    config = get_attack("grnn").configure(iterations=400, seed=0, progress=False)
    result = get_attack("grnn").run(observation, config)
    recovered = observation.normalization.denormalize(result.images).clamp(0, 1)
    assert result.stats["loss"] < 0.05 * result.stats["first_loss"]
    random_psnr = float(psnr(torch.rand_like(images), images))
    assert float(psnr(recovered, images)) > random_psnr + 8
    assert result.labels.tolist() == [int(cifar_sample.batch([3])[1])]


def test_loss_is_the_official_codes(cifar_sample) -> None:
    """||g' - g||^2 + ||g' - g|| + tv * TV2: the official code's "Wasserstein" term is the L2 norm of the gradient
    difference, its TVLoss twice the mean squared neighbour differences (the fidelity ledger's GRNN row)."""
    _, observation, images = observe(cifar_sample, [3, 5])
    config = get_attack("grnn").configure(iterations=3, lr=1e-4, tv=1e-3, seed=0, progress=False)
    stats = get_attack("grnn").run(observation, config).stats
    assert stats["gradient_norm"] == pytest.approx(stats["gradient_distance"] ** 0.5, rel=1e-5)
    h, w = images.shape[-2:]
    count_h, count_w = images[0, :, 1:, :].numel(), images[0, :, :, 1:].numel()
    h_tv = ((images[:, :, 1:, :] - images[:, :, : h - 1, :]) ** 2).sum()
    w_tv = ((images[:, :, :, 1:] - images[:, :, :, : w - 1]) ** 2).sum()
    official = 2 * (h_tv / count_h + w_tv / count_w) / len(images)  # its TVLoss, as written there
    assert float(squared_total_variation(images)) == pytest.approx(float(official), rel=1e-5)


def test_every_registry_model_and_the_output_fills_the_pixel_box(cifar_sample) -> None:
    """One step on each model, alternating raw and normalised data (and a pseudo-gradient of local
    training for LeNet): images lie in the data space's box and use most of it."""
    config = get_attack("grnn").configure(iterations=1, seed=0, progress=False)
    for index, name in enumerate(MODELS):
        normalization = HALF if index % 2 == 0 else Normalization.identity(3)
        low, high = normalization.box(torch.zeros(1))
        model, observation, images = observe(cifar_sample, [0, 1], name, normalization)
        if name == "lenet":
            labels = cifar_sample.batch([0, 1])[1]
            local = LocalTraining(epochs=1, batch_size=1, lr=0.01)
            observation = share_update(model, normalization.normalize(images), labels, normalization, "train", local)
        result = get_attack("grnn").run(observation, config)
        assert result.images.shape == images.shape and len(result.labels) == 2
        assert np.isfinite(result.stats["loss"]), name
        assert bool((result.images >= low).all() and (result.images <= high).all())
        pixels = normalization.denormalize(result.images)
        assert float(pixels.max() - pixels.min()) > 0.5, name


def test_batched_generators_end_where_each_would_alone(cifar_sample) -> None:
    _, observation, _ = observe(cifar_sample, [3, 5])
    config = get_attack("grnn").configure(iterations=15, progress=False)
    seeds = [4, 5, 6]
    with loss_bar(1, "grnn", False) as bar:
        together = run_trials(observation, config, seeds, bar)
        alone = [run_trials(observation, config, [seed], bar)[0] for seed in seeds]
    for batched, single in zip(together, alone, strict=True):
        assert batched.first_loss == pytest.approx(single.first_loss, rel=1e-5)
        # RMSprop's first steps are nearly sign steps (g / sqrt(g^2)), which lift float rounding to ~1e-4
        assert batched.loss == pytest.approx(single.loss, rel=1e-3)
        assert batched.loss < batched.first_loss
        assert batched.terms == pytest.approx(single.terms, rel=1e-3)
        gap = (batched.images - single.images).abs()  # the norm term's gradient is scale-free too: ~1e-4 on average
        assert float(gap.mean()) < 3e-4 and float(gap.max()) < 1e-2
        assert torch.equal(batched.labels, single.labels)
    assert len({round(trial.first_loss, 4) for trial in together}) == 3  # three different generators


def test_batched_restarts_keep_the_trial_sequential_restarts_keep(cifar_sample) -> None:
    _, observation, _ = observe(cifar_sample, [3])
    results = [
        get_attack("grnn").run(
            observation,
            get_attack("grnn").configure(iterations=10, restarts=3, trial_batch=batch, progress=False),
        )
        for batch in (1, 3)
    ]
    one, together = (result.stats for result in results)
    assert one["trials"] == together["trials"] == 3
    assert together["loss"] == pytest.approx(one["loss"], rel=1e-3)
    assert float((results[1].images - results[0].images).abs().mean()) < 1e-4
