"""Batch label restoration (count, LLG, iLRG) against batch size, on real CIFAR-10 test images.

For each model and shared tensor (the FedSGD gradient, or the pseudo-gradient of a 1- or 5-step
full-batch SGD update at lr 0.01), `REPEATS` random batches per size are drawn from the CIFAR-10
test subset (classes repeat by chance). A cell is "existence / count": existence is the share of
batches whose set of present classes is restored exactly; count is the share of the batch's
labels restored (sum over classes of min(restored, true) / batch), averaged over the batches.
A batch whose local training diverged (a non-finite update) scores 0 for every strategy and is
counted in the row's `diverged` column.
"""

from functools import cache

import torch

from benchmarks.common import CIFAR10_SUBSET, RESNET20, require
from fedprivacy.attacks.label_strategies import STRATEGIES, restore
from fedprivacy.data import Normalization
from fedprivacy.data.names import IMAGENET_STATS
from fedprivacy.fl.exchange import share_gradient, share_update
from fedprivacy.fl.observation import LocalTraining
from fedprivacy.models import build_model, load_pretrained

TABLE = "Label restoration: existence / count accuracy against batch size, CIFAR-10 test subset"
BATCHES = (1, 4, 8, 16, 32, 64)
REPEATS = 4
LOCAL_LR = 0.01
SOURCES = {"gradient": 0, "1 step": 1, "5 steps": 5}
MODELS = {  # name: (registry model, trained weights, normalisation, model mode)
    "lenet5": ("lenet5", False, Normalization.identity(3), "train"),
    "cnn": ("cnn", False, Normalization.identity(3), "train"),
    "resnet20": ("resnet20", False, Normalization(*IMAGENET_STATS), "eval"),
    "resnet20_trained": ("resnet20", True, Normalization(*IMAGENET_STATS), "eval"),
}


def scores(restored: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """(present-class set exact, share of labels restored) of one batch."""
    truth, guess = labels.tolist(), restored.tolist()
    exists = float(set(truth) == set(guess))
    return exists, sum(min(guess.count(c), truth.count(c)) for c in set(truth)) / len(truth)


@cache
def measured(name: str, source: str) -> tuple[dict[str, dict[int, tuple[float, float]]], int]:
    """Mean (existence, count) per strategy and batch size for one model and shared tensor, and
    how many of the batches' local trainings diverged."""
    model_name, trained, normalization, mode = MODELS[name]
    split = CIFAR10_SUBSET.split("test")
    torch.manual_seed(0)
    model = build_model(model_name, 3, split.info.image_size, split.info.num_classes)
    if trained:
        load_pretrained(model, require(RESNET20))
    generator = torch.Generator().manual_seed(0)
    totals, diverged = {strategy: {} for strategy in STRATEGIES}, 0
    for batch in BATCHES:
        sums = {strategy: [0.0, 0.0] for strategy in STRATEGIES}
        for _ in range(REPEATS):
            indices = torch.randperm(len(split), generator=generator)[:batch].tolist()
            images, labels = split.batch(indices)
            normalized = normalization.normalize(images)
            steps = SOURCES[source]
            if steps == 0:
                observation = share_gradient(model, normalized, labels, normalization, mode)
            else:
                local = LocalTraining(epochs=steps, batch_size=batch, lr=LOCAL_LR)
                observation = share_update(model, normalized, labels, normalization, mode, local)
            if not all(bool(torch.isfinite(g).all()) for g in observation.gradient):
                diverged += 1
                continue
            for strategy in STRATEGIES:
                restored = restore(observation, strategy, torch.Generator().manual_seed(0))
                exists, count = scores(restored, labels)
                sums[strategy][0] += exists / REPEATS
                sums[strategy][1] += count / REPEATS
        for strategy in STRATEGIES:
            totals[strategy][batch] = tuple(sums[strategy])
    return totals, diverged


def label_case(name: str, source: str, strategy: str):
    first = source == "gradient" and strategy == "count"

    def case() -> dict:
        totals, diverged = measured(name, source)
        cells = totals[strategy]
        return {
            "table": TABLE,
            "model": name,
            "shared": source,
            "strategy": strategy,
            **{f"b{batch}": f"{exists:.2f} / {count:.2f}" for batch, (exists, count) in cells.items()},
            "diverged": diverged,
        } | ({"notes": f"{MODELS[name][3]} mode; {REPEATS} random batches per size"} if first else {})

    return case


CASES = {
    f"labels_{name}_{source.replace(' ', '')}_{strategy}": label_case(name, source, strategy)
    for name in MODELS
    for source in SOURCES
    for strategy in STRATEGIES
}
