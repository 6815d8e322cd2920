"""Speed of batched restarts: R = 1, 4 and 8 trials of ig_single (ConvNet, ResNet-20) and GRNN (LeNet) run
as one batched computation, timed in one run as a ratio to R = 1, beside the same R trials run one after
another (--trial_batch 1). The issue's target: 8 batched restarts in at most 3x the time of one."""

import time

import torch

from benchmarks.common import Data
from fedprivacy.attacks import ATTACKS
from fedprivacy.data import Normalization
from fedprivacy.fl.exchange import share_gradient
from fedprivacy.models import build_model
from fedprivacy.utils.threads import usable_cores, use_threads

TABLE = "Speed: batched restarts"
HALF = Normalization((0.5,) * 3, (0.5,) * 3)
TRIALS = (1, 4, 8)


def timed(attack: str, observation, steps: int, lr: float, tv: float, restarts: int, batch: int) -> float:
    """Seconds of one attack run with `restarts` trials, `batch` of them at once."""
    config = ATTACKS[attack].configure(
        iterations=steps, lr=lr, tv=tv, restarts=restarts, trial_batch=batch, progress=False
    )
    started = time.perf_counter()
    ATTACKS[attack].run(observation, config)
    return time.perf_counter() - started


def restarts_case(attack: str, model_name: str, steps: int, lr: float, tv: float):
    """One row: the time of R batched and R sequential trials as a ratio to one trial, same run, every core."""

    def case() -> dict:
        threads = use_threads(usable_cores())
        split = Data("cifar10_sample").split("test")
        images, labels = split.batch([0])
        torch.manual_seed(0)
        model = build_model(model_name, 3, split.info.image_size, split.info.num_classes)
        observation = share_gradient(model, HALF.normalize(images), labels, HALF, "train")
        timed(attack, observation, 2, lr, tv, 2, 2)  # warm-up: first-call allocations and vmap tracing
        one = timed(attack, observation, steps, lr, tv, 1, 1)
        row = {"attack": attack, "model": model_name, "steps": steps, "threads": threads, "one_trial_s": one}
        for trials in TRIALS[1:]:
            row[f"batched_{trials}_ratio"] = timed(attack, observation, steps, lr, tv, trials, trials) / one
            row[f"sequential_{trials}_ratio"] = timed(attack, observation, steps, lr, tv, trials, 1) / one
        return {
            "table": TABLE,
            **row,
            "target_batched_8_ratio_at_most": 3.0,
            "notes": f"one CIFAR-10 sample image, {steps} steps per trial; ratios to one trial in the same run; "
            f"{threads} threads on a shared machine",
        }

    return case


CASES = {
    "speed_restarts_ig_cnn": restarts_case("ig_single", "cnn", 40, 0.1, 1e-6),
    "speed_restarts_ig_resnet20": restarts_case("ig_single", "resnet20", 20, 0.1, 1e-6),
    "speed_restarts_grnn_lenet": restarts_case("grnn", "lenet", 40, 1e-4, 1e-3),
}
