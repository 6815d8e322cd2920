"""Pair reconstructions with ground truth 1:1 by optimal assignment before scoring."""

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from fedprivacy.evaluation.metrics import PSNR_CAP


def log_mse_costs(reconstructed: torch.Tensor, truth: torch.Tensor) -> np.ndarray:
    """log10 MSE of every (truth, reconstruction) pair: rows truth, columns reconstructions."""
    squared = torch.cdist(truth.flatten(1).double(), reconstructed.flatten(1).double()) ** 2 / truth[0].numel()
    return squared.clamp_min(10 ** (-PSNR_CAP / 10)).log10().numpy()


def pair_by_mse(reconstructed: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """Indices `order` so that reconstructed[order[i]] is paired with truth[i].

    Hungarian assignment on log-MSE, i.e. the pairing with the highest total PSNR: an exact
    recovery is never traded away to slightly improve two poor pairs (as summed MSE can).
    """
    rows, columns = linear_sum_assignment(log_mse_costs(reconstructed, truth))
    return torch.as_tensor(columns[rows.argsort()])


def matched_truth(reconstructed: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """When there are fewer reconstructions than private images (a FedAvg client that trained on more
    than the attack recovers): the ascending indices of the truth images they are paired with, by the
    same assignment (each truth image at most once)."""
    rows, _ = linear_sum_assignment(log_mse_costs(reconstructed, truth))
    return torch.as_tensor(np.sort(rows))
