"""Label restoration strategies on known real batches: exact counts where the method is exact."""

import pytest
import torch

from fedprivacy.attacks.label_strategies import STRATEGIES, restore
from fedprivacy.attacks.labels import counts_to_labels
from fedprivacy.data import Normalization
from fedprivacy.fl.exchange import share_gradient, share_update
from fedprivacy.fl.observation import LocalTraining
from fedprivacy.models import build_model
from fedprivacy.utils.errors import AttackDiverged

BATCHES = [list(range(8)), list(range(8, 16)), list(range(12, 20))]  # each holds a class twice or more


def observations(split, indices: list[int], steps: int = 0):
    """The gradient (steps 0) or the full-batch SGD update (lr 0.1) of an untrained LeNet-5."""
    torch.manual_seed(0)
    model = build_model("lenet5", 3, (32, 32), 10)
    images, labels = split.batch(indices)
    identity = Normalization.identity(3)
    if steps == 0:
        return share_gradient(model, images, labels, identity, "train"), labels
    local = LocalTraining(epochs=steps, batch_size=len(indices), lr=0.1)
    return share_update(model, images, labels, identity, "train", local), labels


def overlap(restored: torch.Tensor, labels: torch.Tensor) -> int:
    return sum(min(restored.tolist().count(c), labels.tolist().count(c)) for c in set(labels.tolist()))


@pytest.mark.parametrize("steps", [0, 1])
def test_ilrg_counts_exact_at_batch_8_on_untrained_lenet5(cifar_sample, steps: int) -> None:
    for indices in BATCHES:
        observation, labels = observations(cifar_sample, indices, steps)
        assert restore(observation, "ilrg").tolist() == sorted(labels.tolist())


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_every_strategy_restores_most_labels_and_the_batch_size(cifar_sample, strategy: str) -> None:
    observation, labels = observations(cifar_sample, BATCHES[0])
    restored = restore(observation, strategy, torch.Generator().manual_seed(0))
    assert len(restored) == 8 and restored.tolist() == sorted(restored.tolist())
    assert overlap(restored, labels) >= 6
    single, label = observations(cifar_sample, [4])
    assert restore(single, strategy, torch.Generator().manual_seed(0)).tolist() == label.tolist()


def test_ilrg_follows_the_trajectory_of_a_multi_step_update(cifar_sample) -> None:
    observation, labels = observations(cifar_sample, BATCHES[2], steps=5)
    assert restore(observation, "ilrg").tolist() == sorted(labels.tolist())


def test_ilrg_needs_a_bias() -> None:
    model = build_model("resnet20", 3, (32, 32), 10)
    model.linear = torch.nn.Linear(64, 10, bias=False)
    images, labels = torch.rand(2, 3, 32, 32), torch.tensor([1, 2])
    observation = share_gradient(model, images, labels, Normalization.identity(3), "eval")
    with pytest.raises(ValueError, match="bias"):
        restore(observation, "ilrg")


def test_label_strategy_flag_reaches_the_attack(tmp_path) -> None:
    import main_grad

    def label_acc(strategy: str) -> float:
        flags = ["--attack", "idlg", "--model", "lenet5", "--rec_batch_size", "8", "--rec_epochs", "1"]
        report = main_grad.main([*flags, "--label_strategy", strategy, "--quiet", "--out_dir", str(tmp_path)])
        return report["summary"]["label_acc"]

    assert label_acc("ilrg") == 1.0 > label_acc("count")


def test_non_finite_counts_stop_only_the_attack() -> None:
    with pytest.raises(AttackDiverged):
        counts_to_labels(torch.tensor([float("nan"), 1.0, 2.0]), torch.tensor([True, True, False]), 3)
    assert counts_to_labels(torch.tensor([0.4, 1.6, 1.0]), torch.tensor([True, True, True]), 3).tolist() == [0, 1, 2]
