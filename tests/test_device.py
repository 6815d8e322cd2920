"""Every attack, label strategy and defense, and a FedAvg round, run with the model and data on a second
device (tests/second_device.py) as they would on CUDA: no tensor made on the CPU meets them, the answer
stays on the observation's device, and its numbers are the CPU run's, bit for bit."""

import contextlib
import copy
from dataclasses import fields

import pytest
import torch
from torch import nn

from fedprivacy.attacks import ATTACKS
from fedprivacy.data import Normalization
from fedprivacy.defenses import DEFENSES
from fedprivacy.fl.exchange import client_share
from fedprivacy.fl.federation import FedData, run_federation
from fedprivacy.fl.observation import Observation
from fedprivacy.fl.protocol import FedSettings, LocalTraining
from fedprivacy.models.generators import ImageGenerator, save_checkpoint
from fedprivacy.models.imprint import imprint_model
from tests.second_device import DEVICE, Elsewhere, second_device

SHAPE = (3, 8, 8)
NORMALIZATION = Normalization((0.5,) * 3, (0.25,) * 3)


def convolutional() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.Sigmoid(), nn.Flatten(), nn.Linear(256, 16), nn.Sigmoid(), nn.Linear(16, 5)
    )


def fully_connected() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(192, 16), nn.ReLU(), nn.Linear(16, 5))


def batch(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    images = torch.rand((size, *SHAPE), generator=torch.Generator().manual_seed(1))
    return images, torch.arange(size) % 3


def place(on_device: bool):
    return second_device() if on_device else contextlib.nullcontext(torch.device("cpu"))


def observe(model: nn.Module, size: int, on_device: bool, local: LocalTraining | None = None, **share) -> Observation:
    """The client's share of a seeded batch, computed where the model and data live."""
    images, labels = batch(size)
    torch.manual_seed(0)
    with place(on_device) as device:
        server = copy.deepcopy(model).to(device)
        normalized, labels = NORMALIZATION.normalize(images).to(device), labels.to(device)
        return client_share(server, normalized, labels, NORMALIZATION, "train", local, **share)


def attack_both(
    name: str, model: nn.Module, size: int, local=None, epochs: int = 3, restarts: int = 1, **options
) -> None:
    """Run the attack on the CPU and on the second device; the second answers there, with the same numbers. The
    budget, step size, TV and restarts are set where the attack has them (by their older names)."""
    spec = ATTACKS[name]
    common = {"rec_epochs": epochs, "rec_lr": 0.1, "tv": 1e-4, "restarts": restarts}
    older = {alias for item in fields(spec.options) for alias in item.metadata["aliases"]}
    config = spec.configure(progress=False, **{k: v for k, v in common.items() if k in older}, **options)
    answers = []
    for on_device in (False, True):
        observation = observe(model, size, on_device, local)
        torch.manual_seed(0)
        with place(on_device):
            answers.append(ATTACKS[name].run(observation, config))
    cpu, there = answers
    assert isinstance(there.images, Elsewhere) and isinstance(there.labels, Elsewhere)
    assert torch.equal(there.images.cpu(), cpu.images) and torch.equal(there.labels.cpu(), cpu.labels)


def test_the_second_device_refuses_what_cuda_refuses_and_allows_what_it_allows() -> None:
    with second_device() as device:
        there = torch.ones(3).to(device)
        with pytest.raises(RuntimeError, match="meets tensors on the second device"):
            there + torch.ones(3)
        with pytest.raises(RuntimeError, match="CPU generator"):
            torch.rand(3, generator=torch.Generator(), device=device)
        with pytest.raises(TypeError, match="numpy"):
            there.numpy()
        total = there * torch.tensor(2.0) + torch.zeros(3, device=device)
        assert isinstance(total, Elsewhere) and type(total.cpu()) is torch.Tensor
        assert total[torch.tensor([0, 2])].tolist() == [2.0, 2.0] and float(total.sum()) == 6.0


@pytest.mark.parametrize("name", ["dlg", "idlg", "ig_single", "grnn"])
def test_single_image_attacks_follow_the_device(name: str) -> None:
    attack_both(name, convolutional(), 1)


@pytest.mark.parametrize("name", ["ig_single", "grnn"])
def test_batched_restarts_follow_the_device(name: str) -> None:
    attack_both(name, convolutional(), 2, restarts=3)


def test_float64_matching_follows_the_device() -> None:
    attack_both("dlg", convolutional(), 1, float64=True)


@pytest.mark.parametrize("strategy", ["count", "llg", "ilrg"])
def test_batch_label_restoration_follows_the_device(strategy: str) -> None:
    attack_both("idlg", convolutional(), 4, epochs=1, label_strategy=strategy)
    attack_both("ig_single", convolutional(), 4, epochs=1, label_strategy=strategy)


@pytest.mark.parametrize(
    ("name", "local"),
    [("ig_weight", LocalTraining(epochs=2, batch_size=4, lr=0.1)), ("ig_multi", LocalTraining(1, 2, 0.1, 0.5, 1e-4))],
)
def test_update_attacks_follow_the_device(name: str, local: LocalTraining) -> None:
    attack_both(name, convolutional(), 4, local=local)


def test_cpa_on_images_and_by_feature_inversion_follows_the_device() -> None:
    attack_both("cpa", fully_connected(), 4)
    attack_both("cpa", convolutional(), 4, fi_iterations=3)


@pytest.mark.parametrize("size", [1, 4])
def test_rtf_follows_the_device(size: int) -> None:
    torch.manual_seed(0)
    attack_both("rtf", imprint_model(fully_connected(), SHAPE, 8, NORMALIZATION), size)


@pytest.mark.parametrize("search", ["cma", "adam"])
def test_ggl_follows_the_device(tmp_path, search: str) -> None:
    torch.manual_seed(0)
    meta = {"dataset": "random", "channels": 3, "image_size": [8, 8], "latent": 4, "width": 8, "steps": 0}
    save_checkpoint(tmp_path / "g.pt", meta, {"generator": ImageGenerator(4, 3, (8, 8), width=8).state_dict()})
    attack_both("ggl", convolutional(), 1, generator=str(tmp_path / "g.pt"), budget=16, search=search)


@pytest.mark.parametrize("name", sorted(set(DEFENSES) - {"none"}))
def test_defenses_follow_the_device(name: str) -> None:
    spec = DEFENSES[name]
    values = {"noise_scale": 0.1, "clip_norm": 1.0, "noise_multiplier": 0.5, "prune_ratio": 0.5, "soteria_ratio": 0.5}
    defense = spec.build(**{key: values[key] for key in spec.required})
    model = fully_connected()
    cpu, there = (observe(model, 4, on_device, defense=defense) for on_device in (False, True))
    assert all(isinstance(g, Elsewhere) for g in there.gradient) and there.device == DEVICE
    assert all(torch.equal(a, b.cpu()) for a, b in zip(cpu.gradient, there.gradient, strict=True))


def test_a_fedavg_round_with_an_attacked_client_follows_the_device() -> None:
    images, labels = batch(12)
    data = FedData(images, labels, [list(range(6)), list(range(6, 12))], images[:4], labels[:4], NORMALIZATION)
    settings = FedSettings(2, 2, 1.0, LocalTraining(1, 3, 0.1), attack_rounds=frozenset({2}), rec_batch_size=2)
    results = []
    for on_device in (False, True):
        torch.manual_seed(0)
        with place(on_device) as device:
            results.append(run_federation(fully_connected().to(device), data, settings, progress=False))
    cpu, there = results
    assert [r["accuracy"] for r in there.rounds] == [r["accuracy"] for r in cpu.rounds]
    (case,) = there.cases
    assert case.observation.device == DEVICE and type(case.labels) is torch.Tensor
    pairs = zip(cpu.cases[0].observation.update, case.observation.update, strict=True)
    assert all(torch.equal(a, b.cpu()) for a, b in pairs)
