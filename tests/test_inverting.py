"""Inverting Gradients: each variant lowers its loss and recovers real CIFAR-10 images; bad settings are one line."""

import pytest
import torch

from fedprivacy.attacks import ATTACKS
from fedprivacy.attacks.inverting import gradient_target, run_trials, update_target
from fedprivacy.data import Normalization, load_split
from fedprivacy.evaluation.metrics import psnr
from fedprivacy.evaluation.scoring import score_batch
from fedprivacy.fl.exchange import client_share
from fedprivacy.fl.protocol import LocalTraining
from fedprivacy.models import build_model
from fedprivacy.utils.errors import UsageError
from fedprivacy.utils.progress import loss_bar

HALF = Normalization((0.5,) * 3, (0.5,) * 3)
RANDOM_BOUND = 12.0  # dB; a uniformly random image scores about 8-11 dB against a real one

# variant, batch, iterations, the client's training (None: a gradient), labels known; 16x16 images, 60 steps at
# lr 0.3 keep it a unit test
CASES = [
    ("ig_single", 1, 60, None, False),
    ("ig_weight", 1, 60, LocalTraining(epochs=2, batch_size=1, lr=1e-2), False),
    ("ig_multi", 2, 60, LocalTraining(epochs=1, batch_size=1, lr=1e-2), True),
]


@pytest.fixture(scope="module")
def small_cifar():
    return load_split("cifar10_sample", image_size=16)


def observe(split, batch: int, local: LocalTraining | None = None, known: bool = False):
    torch.manual_seed(0)
    model = build_model("cnn", 3, split.info.image_size, split.info.num_classes)
    images, labels = split.batch(list(range(batch)))
    return client_share(model, HALF.normalize(images), labels, HALF, "train", local, grant_labels=known), images, labels


@pytest.mark.parametrize(("name", "batch", "iterations", "local", "known"), CASES)
def test_variant_recovers_real_images(small_cifar, name: str, batch: int, iterations: int, local, known: bool) -> None:
    observation, images, labels = observe(small_cifar, batch, local, known)
    spec = ATTACKS[name]

    def attack(steps: int):
        return spec.run(observation, spec.configure(iterations=steps, lr=0.3, tv=1e-6, seed=0, progress=False))

    start, result = attack(1), attack(iterations)
    assert result.stats["cosine_distance"] < 0.2 * start.stats["cosine_distance"]
    assert result.stats["labels"] == ("known" if known else "restored")
    assert sorted(result.labels.tolist()) == sorted(labels.tolist())
    recovered = HALF.denormalize(result.images).clamp(0, 1)
    _, rows = score_batch(images, labels, recovered, result.labels)
    scores = sorted(row["psnr"] for row in rows)
    assert scores[len(scores) // 2] > 20  # at least half recognisable
    assert float(psnr(torch.rand_like(images), images).max()) < RANDOM_BOUND


def test_weight_variant_needs_an_update(small_cifar) -> None:
    observation, _, _ = observe(small_cifar, 1)
    with pytest.raises(UsageError, match="needs a shared weight update"):
        ATTACKS["ig_weight"].run(observation, ATTACKS["ig_weight"].configure(iterations=1, progress=False))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--attack", "ig_multi", "--rec_batch_size", "3", "--local_batch_size", "2"], "not divisible"),
        (["--attack", "dlg", "--known_labels"], None),  # the flag applies only to attacks that take labels
        (["--attack", "ig_single", "--layer_weights", "cubic"], None),
    ],
)
def test_bad_settings_are_one_line_errors(tmp_path, capsys, argv: list[str], message: str | None) -> None:
    import main_grad

    if message is None:  # argparse choices: one line on stderr and exit code 2
        with pytest.raises(SystemExit) as exit_info:
            main_grad.main([*argv, "--quiet", "--out_dir", str(tmp_path)])
        assert exit_info.value.code == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
        return
    with pytest.raises(UsageError, match=message) as error:
        main_grad.main([*argv, "--quiet", "--out_dir", str(tmp_path)])
    assert "\n" not in str(error.value)


def share(split, model_name: str, batch: int, local: LocalTraining | None):
    torch.manual_seed(0)
    model = build_model(model_name, 3, split.info.image_size, split.info.num_classes)
    images, labels = split.batch(list(range(batch)))
    observation = client_share(model, HALF.normalize(images), labels, HALF, "train", local, grant_labels=True)
    return observation, (gradient_target if local is None else update_target)(observation)


def starting_images(observation, trials: int) -> torch.Tensor:
    return torch.randn(
        (trials, observation.num_images, *observation.image_shape), generator=torch.Generator().manual_seed(1)
    )


@pytest.mark.parametrize(("name", "batch", "local"), [("ig_single", 1, None), ("ig_multi", 2, CASES[2][3])])
def test_batched_trials_end_where_each_would_alone(small_cifar, name: str, batch: int, local) -> None:
    observation, target = share(small_cifar, "cnn", batch, local)
    config = ATTACKS[name].configure(iterations=12, lr=0.1, tv=1e-6, progress=False)
    weights = [1.0] * len(target.observed)
    starts = starting_images(observation, 3)
    box = HALF.box(starts)
    with loss_bar(1, name, False) as bar:
        together = run_trials(config, target, observation.labels, weights, starts, box, bar)
        alone = [run_trials(config, target, observation.labels, weights, starts[i : i + 1], box, bar) for i in range(3)]
    for index, single in enumerate(alone):
        assert together.steps[index] == single.steps[0] == 12
        assert together.losses[index] == pytest.approx(single.losses[0], rel=1e-4, abs=1e-6)
        torch.testing.assert_close(together.images[index], single.images[0], rtol=0, atol=1e-4)
    assert len({round(loss, 3) for loss in together.losses}) == 3  # three different trials, not one repeated


def test_batched_batchnorm_trials_keep_their_own_statistics(small_cifar) -> None:
    """In train mode BatchNorm normalises by the batch: each trial's gradient must use its own images' statistics
    only. (Over many signed steps float rounding in BatchNorm nets flips the signs of near-zero entries, so the
    trajectories are compared at the simulated gradient, not after training.)"""
    observation, target = share(small_cifar, "resnet20", 2, None)
    starts = starting_images(observation, 3)
    labels = observation.labels.expand(3, 2)
    together = target.simulated(starts, labels)
    for index in range(3):
        alone = target.simulated(starts[index : index + 1], labels[:1])
        for batched, single in zip(together, alone, strict=True):
            torch.testing.assert_close(batched[index], single[0], rtol=1e-4, atol=1e-6)


def test_batched_restarts_keep_the_trial_sequential_restarts_keep(small_cifar) -> None:
    observation, _, _ = observe(small_cifar, 1)
    spec = ATTACKS["ig_single"]
    results = [
        spec.run(
            observation, spec.configure(iterations=20, lr=0.3, tv=1e-6, restarts=4, trial_batch=batch, progress=False)
        )
        for batch in (1, 4)
    ]
    one, together = (result.stats for result in results)
    assert (one["trials"], one["iterations"]) == (together["trials"], together["iterations"]) == (4, 80)
    assert together["cosine_distance"] == pytest.approx(one["cosine_distance"], rel=1e-4)
    torch.testing.assert_close(results[1].images, results[0].images, rtol=0, atol=1e-4)
