"""Pair reconstructions with ground truth 1:1 by optimal assignment before scoring."""

import torch
from scipy.optimize import linear_sum_assignment


def pair_by_mse(reconstructed: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """Indices `order` so that reconstructed[order[i]] is paired with truth[i] (Hungarian on MSE)."""
    costs = torch.cdist(truth.flatten(1).double(), reconstructed.flatten(1).double()) ** 2
    rows, columns = linear_sum_assignment(costs.numpy())
    return torch.as_tensor(columns[rows.argsort()])
