"""LLG: label leakage from gradients (Wainakh et al., PoPETs 2022), the plain LLG variant.

The per-class sums of the last layer's weight gradient are negative for (most) classes in the
batch. Every class with a negative sum gets one label. The "impact" of one image on its class's
sum is estimated as the total of the negative sums divided by the batch size, scaled by
(1 + 1 / classes); each class given a label has the impact taken off its sum (it rises), and the
remaining labels go one at a time to the class with the smallest sum. Works from any shared
gradient, and from an update through its pseudo-gradient.
"""

import torch

from fedprivacy.attacks.labels import last_linear
from fedprivacy.fl.observation import Observation


def restore(obs: Observation, generator: torch.Generator | None = None) -> torch.Tensor:
    """`obs.num_images` labels, sorted by class, on the observation's device (the per-class bookkeeping
    runs on the CPU: one transfer instead of one synchronisation per label)."""
    _, weight_grad, _ = last_linear(obs)
    sums = weight_grad.sum(dim=1).detach().double().cpu()  # a fresh tensor: the gradient stays untouched
    batch, classes = obs.num_images, obs.num_classes
    negative = torch.nonzero(sums < 0).flatten()
    negative = negative[sums[negative].argsort()][:batch]  # the most negative first, at most one per image
    impact = float(sums[sums < 0].sum()) / batch * (1 + 1 / classes)
    labels = negative.tolist()
    sums[negative] -= impact
    while len(labels) < batch:
        index = int(sums.argmin())
        labels.append(index)
        sums[index] -= impact
    return torch.tensor(sorted(labels), dtype=torch.long, device=obs.device)
