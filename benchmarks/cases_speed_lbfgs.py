"""DLG and iDLG with their restart trials in worker processes against one after another: time until each
image's attack returns (it stops at the first converged trial), LeNet and CIFAR-10 as in cases_dlg."""

import os
import time
from dataclasses import replace

import torch

from benchmarks.common import CIFAR10_SUBSET
from fedprivacy.attacks import get_attack
from fedprivacy.attacks.dlg import CONVERGED
from fedprivacy.data import Normalization
from fedprivacy.fl.exchange import share_gradient
from fedprivacy.models import build_model
from fedprivacy.utils.seeding import seed_everything

TABLE = "Speed: parallel L-BFGS trials"
RESTARTS = 8


def speed_case(attack: str, images: int):
    def case() -> dict:
        split = CIFAR10_SUBSET.split("test")
        info = split.info
        seed_everything(0)
        model = build_model("lenet", info.channels, info.image_size, info.num_classes)
        identity = Normalization.identity(info.channels)
        workers = len(os.sched_getaffinity(0))
        sequential = get_attack(attack).configure("paper", restarts=RESTARTS, progress=False)  # 300 steps at lr 1
        seconds, converged, trials, identical = {1: 0.0, workers: 0.0}, {1: 0, workers: 0}, [], 0
        for index in range(images):
            batch, labels = split.batch([index])
            observation = share_gradient(model, batch, labels, identity, "train")
            results = {}
            for count in (1, workers):
                config = replace(sequential, seed=index, workers=count)
                started = time.perf_counter()
                results[count] = get_attack(attack).run(observation, config)
                seconds[count] += time.perf_counter() - started
                converged[count] += results[count].stats["relative_distance"] < CONVERGED
            trials.append(results[1].stats["trials"])
            identical += torch.equal(results[1].images, results[workers].images)
        return {
            "table": TABLE,
            "attack": attack,
            "images": images,
            "restarts": RESTARTS,
            "workers": workers,
            "sequential_threads": torch.get_num_threads(),
            "threads_per_worker": max(1, torch.get_num_threads() // workers),
            "sequential_s": seconds[1],
            "parallel_s": seconds[workers],
            "ratio": seconds[1] / seconds[workers],
            "converged_sequential": converged[1],
            "converged_parallel": converged[workers],
            "identical_images": identical,
            "notes": (
                f"LeNet, CIFAR-10 test images 0-{images - 1} in [0, 1], 300 L-BFGS steps, seed = image index; "
                f"sequential trials used per image {trials}; fewer than 10 images to keep the run under 15 "
                "minutes"
            ),
        }

    return case


CASES = {
    "idlg_speed_parallel_trials": speed_case("idlg", images=3),
    "dlg_speed_parallel_trials": speed_case("dlg", images=1),
}
