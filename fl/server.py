"""The FedAvg server's own work: average the clients' models by sample count, evaluate the global model."""

from collections.abc import Mapping, Sequence

import torch
from torch import nn

EVAL_BATCH = 500


def fedavg(states: Sequence[Mapping[str, torch.Tensor]], counts: Sequence[int]) -> dict[str, torch.Tensor]:
    """McMahan et al. 2017: the mean of the clients' state dicts weighted by their sample counts,
    sum_k n_k w_k / n. Buffers are averaged too; integer ones (BatchNorm's counters) are rounded."""
    if not states or len(states) != len(counts):
        raise ValueError("fedavg needs one sample count per client state")
    total = sum(counts)
    averaged = {}
    for key, first in states[0].items():
        if first.is_floating_point():
            averaged[key] = sum(n * state[key] for state, n in zip(states, counts, strict=True)) / total
        else:
            mean = sum(n * state[key].double() for state, n in zip(states, counts, strict=True)) / total
            averaged[key] = mean.round().to(first.dtype)
    return averaged


@torch.no_grad()
def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of held-out images (already normalised, on the model's device) the model classifies right."""
    was_training = model.training
    model.eval()
    correct = sum(
        int((model(images[i : i + EVAL_BATCH]).argmax(dim=1) == labels[i : i + EVAL_BATCH]).sum())
        for i in range(0, len(images), EVAL_BATCH)
    )
    model.train(was_training)
    return correct / len(images)
