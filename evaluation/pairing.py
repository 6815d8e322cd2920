"""Pair reconstructions with ground truth 1:1 by optimal assignment before scoring."""

import torch
from scipy.optimize import linear_sum_assignment

from evaluation.metrics import PSNR_CAP


def pair_by_mse(reconstructed: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """Indices `order` so that reconstructed[order[i]] is paired with truth[i].

    Hungarian assignment on log-MSE, i.e. the pairing with the highest total PSNR: an exact
    recovery is never traded away to slightly improve two poor pairs (as summed MSE can).
    """
    squared = torch.cdist(truth.flatten(1).double(), reconstructed.flatten(1).double()) ** 2 / truth[0].numel()
    costs = squared.clamp_min(10 ** (-PSNR_CAP / 10)).log10()
    rows, columns = linear_sum_assignment(costs.numpy())
    return torch.as_tensor(columns[rows.argsort()])
