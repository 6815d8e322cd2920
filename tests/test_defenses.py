"""Each defense does what it says on known tensors, does nothing at zero strength, and hurts DLG as it grows."""

import json
import math
from pathlib import Path

import pytest
import torch

import main_fed
import main_grad
from fedprivacy.attacks import get_attack
from fedprivacy.data import Normalization
from fedprivacy.defenses import NO_DEFENSE, Defense
from fedprivacy.defenses.base import trainable_parameters
from fedprivacy.defenses.clipping import Clipping, l2_norm
from fedprivacy.defenses.dpsgd import DPSGD
from fedprivacy.defenses.noise import AdditiveNoise
from fedprivacy.defenses.pruning import Pruning
from fedprivacy.defenses.soteria import Soteria, representation_layer
from fedprivacy.evaluation.metrics import psnr
from fedprivacy.fl.client import client_update
from fedprivacy.fl.exchange import share_gradient
from fedprivacy.fl.observation import LocalTraining
from fedprivacy.models import build_model
from fedprivacy.utils.errors import UsageError

HALF = Normalization((0.5,) * 3, (0.5,) * 3)


def real_batch(split, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = split.batch(list(range(size)))
    return HALF.normalize(images), labels


def gradient_of(model_name: str, split, size: int, defense: Defense = NO_DEFENSE) -> tuple[torch.Tensor, ...]:
    torch.manual_seed(0)
    model = build_model(model_name, 3, (32, 32), 10)
    images, labels = real_batch(split, size)
    return share_gradient(model, images, labels, HALF, "train", defense).gradient


@pytest.mark.parametrize(("distribution", "std_per_scale"), [("gaussian", 1.0), ("laplacian", math.sqrt(2))])
def test_noise_has_the_requested_scale(distribution: str, std_per_scale: float) -> None:
    zeros = (torch.zeros(1000, 1000),)
    (noise,) = AdditiveNoise(0.3, distribution).protect(zeros, None, None, None)
    assert abs(float(noise.mean())) < 1e-3
    assert float(noise.std()) == pytest.approx(0.3 * std_per_scale, rel=0.01)
    if distribution == "laplacian":  # E|X| = b for Laplace(0, b)
        assert float(noise.abs().mean()) == pytest.approx(0.3, rel=0.01)


def test_clipping_bounds_the_global_norm_and_keeps_the_direction() -> None:
    shared = (torch.full((3, 4), 2.0), torch.full((4,), -2.0))  # global norm 8
    clipped = Clipping(2.0).protect(shared, None, None, None)
    assert float(l2_norm(clipped)) == pytest.approx(2.0, rel=1e-6)
    for before, after in zip(shared, clipped, strict=True):
        assert torch.allclose(after, before / 4)
    small = (torch.tensor([0.6, 0.8]),)  # norm 1 is under the bound: untouched
    assert torch.equal(Clipping(2.0).protect(small, None, None, None)[0], small[0])


def test_pruning_keeps_the_largest_share_of_every_tensor() -> None:
    first = torch.randn(50, 20)
    second = torch.randn(100)
    pruned = Pruning(0.9).protect((first, second), None, None, None)
    for before, after in zip((first, second), pruned, strict=True):
        kept = after != 0
        assert int(kept.sum()) == before.numel() // 10  # the kept share is 1 - prune_ratio
        assert torch.equal(after[kept], before[kept])  # kept entries are exact
        assert float(before[kept].abs().min()) >= float(before[~kept].abs().max())  # and the largest ones


def test_soteria_changes_only_the_representation_layer(cifar_sample) -> None:
    plain = gradient_of("lenet", cifar_sample, 4)
    defended = gradient_of("lenet", cifar_sample, 4, Soteria(0.5))
    model = build_model("lenet", 3, (32, 32), 10)
    name, layer = representation_layer(model)
    index = list(trainable_parameters(model)).index(f"{name}.weight")
    for i, (before, after) in enumerate(zip(plain, defended, strict=True)):
        if i != index:
            assert torch.equal(before, after), i
    zeroed_columns = (defended[index] == 0).all(dim=0)
    assert int(zeroed_columns.sum()) == layer.in_features // 2
    kept = ~zeroed_columns
    assert torch.equal(defended[index][:, kept], plain[index][:, kept])


def test_dpsgd_clips_each_example_and_adds_noise_of_the_given_scale(cifar_sample) -> None:
    torch.manual_seed(0)
    model = build_model("fc2", 3, (32, 32), 10)
    images, labels = real_batch(cifar_sample, 8)
    clipped = DPSGD(clip_norm=0.01, noise_multiplier=0.0).step_gradient(model, images, labels)
    each = [DPSGD(0.01, 0.0).step_gradient(model, images[i : i + 1], labels[i : i + 1]) for i in range(8)]
    assert all(float(l2_norm(g)) == pytest.approx(0.01, rel=1e-4) for g in each)  # every example clipped
    mean = tuple(torch.stack(parts).mean(0) for parts in zip(*each, strict=True))
    assert all(torch.allclose(a, b, atol=1e-8) for a, b in zip(clipped, mean, strict=True))
    noisy = DPSGD(clip_norm=0.01, noise_multiplier=2.0).step_gradient(model, images, labels)
    residual = torch.cat([(n - c).flatten() for n, c in zip(noisy, clipped, strict=True)])
    assert float(residual.std()) == pytest.approx(2.0 * 0.01 / 8, rel=0.01)


def test_dpsgd_reports_a_budget_that_shrinks_with_more_noise() -> None:
    history = [(0.1, 100)]
    epsilons = [DPSGD(1.0, sigma).privacy(history)["epsilon"] for sigma in (0.7, 1.0, 2.0)]
    assert epsilons[0] > epsilons[1] > epsilons[2] > 0
    assert DPSGD(1.0, 0.0).privacy(history)["epsilon"] is None  # no noise, no guarantee


@pytest.mark.parametrize(
    "defense",
    [AdditiveNoise(0.0, "gaussian"), AdditiveNoise(0.0, "laplacian"), Clipping(math.inf), Pruning(0.0), Soteria(0.0)],
    ids=lambda d: d.name,
)
def test_zero_strength_changes_nothing(cifar_sample, defense: Defense) -> None:
    plain = gradient_of("lenet", cifar_sample, 2)
    defended = gradient_of("lenet", cifar_sample, 2, defense)
    assert all(torch.equal(a, b) for a, b in zip(plain, defended, strict=True))


def test_dpsgd_without_clipping_or_noise_is_the_plain_gradient(cifar_sample) -> None:
    plain = gradient_of("lenet", cifar_sample, 4)
    defended = gradient_of("lenet", cifar_sample, 4, DPSGD(math.inf, 0.0))
    assert all(torch.allclose(a, b, rtol=1e-5, atol=1e-6) for a, b in zip(plain, defended, strict=True))


def test_dpsgd_refuses_batchnorm_in_training_mode(cifar_sample) -> None:
    model = build_model("resnet20", 3, (32, 32), 10)
    images, labels = real_batch(cifar_sample, 2)
    with pytest.raises(UsageError, match="--defense dpsgd"):
        DPSGD(1.0, 1.0).step_gradient(model.train(), images, labels)


def test_a_defended_update_is_what_the_server_aggregates(cifar_sample) -> None:
    model = build_model("fc2", 3, (32, 32), 10)
    images, labels = real_batch(cifar_sample, 8)
    local = LocalTraining(epochs=1, batch_size=4, lr=0.1)
    update, state = client_update(model, images, labels, local, "train", Pruning(0.99))
    for (name, parameter), delta in zip(trainable_parameters(model).items(), update, strict=True):
        assert int((delta != 0).sum()) <= math.ceil(delta.numel() / 100)
        assert torch.allclose(state[name], parameter + delta)


def test_dlg_psnr_falls_as_noise_grows(cifar_sample) -> None:
    images, labels = cifar_sample.batch([0])
    config = get_attack("dlg").configure(steps=300, seed=1, progress=False)
    scores = []
    for scale in (0.0, 1e-2, 1e-1):
        torch.manual_seed(0)
        model = build_model("lenet", 3, (32, 32), 10)
        observation = share_gradient(model, HALF.normalize(images), labels, HALF, "train", AdditiveNoise(scale))
        result = get_attack("dlg").run(observation, config)
        scores.append(float(psnr(HALF.denormalize(result.images).clamp(0, 1), images)))
    assert scores[0] > 30
    assert scores[0] - 5 > scores[1] > scores[2] + 5


def test_main_grad_records_the_defense_and_names_the_output_after_it(tmp_path: Path) -> None:
    flags = ["--attack", "idlg", "--rec_epochs", "3", "--quiet", "--out_dir", str(tmp_path)]
    report = main_grad.main([*flags, "--defense", "prune", "--prune_ratio", "0.5"])
    assert Path(report["grid"]).name.endswith("_prune0.5.png")
    saved = json.loads(Path(report["grid"]).with_suffix(".json").read_text())
    assert saved["defense"] == {"name": "prune", "prune_ratio": 0.5, "privacy": None}


def test_main_fed_accounts_dpsgd_per_client(tmp_path: Path) -> None:
    flags = ["--attack", "none", "--num_rounds", "2", "--total_clients", "3", "--quiet", "--out_dir", str(tmp_path)]
    report = main_fed.main([*flags, "--defense", "dpsgd", "--clip_norm", "1", "--noise_multiplier", "1.0"])
    privacy = report["defense"]["privacy"]
    assert set(privacy["per_client"]) == {0, 1, 2}
    assert privacy["epsilon_max"] == max(client["epsilon"] for client in privacy["per_client"].values()) > 0
    assert Path(report["curve"]).name.endswith("_dpsgd1-1-1e-05_accuracy.png")
