"""Per-image quality metrics on [0, 1] images, when an image counts as recognisable, and label accuracy as a
multiset overlap.

SSIM is scikit-image's (Gaussian window, sigma 1.5, the constants of Wang et al. 2004);
for images smaller than its 11-pixel window the sigma shrinks so the window fits. LPIPS
(AlexNet) is computed only when its backbone weights are already in torch's hub cache,
since nothing may be downloaded at run time; otherwise it is None.
"""

import math
from collections import Counter
from functools import cache
from pathlib import Path

import numpy as np
import torch
from skimage.metrics import structural_similarity

PSNR_CAP = 100.0  # dB, reported for an exact match so the JSON holds no infinity
ALEXNET_FILE = "alexnet-owt-7be5be79.pth"
RECOGNISABLE_SSIM = 0.5  # an image must reach this SSIM to the truth to be recognisable...
FLAT_MARGIN_DB = 10 * math.log10(2)  # ...and this PSNR above its flat image's: its error at most half the variance


def mse(reconstructed: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """Mean squared error per image of two (N, C, H, W) batches."""
    return ((reconstructed - truth) ** 2).flatten(1).mean(dim=1)


def psnr(reconstructed: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """PSNR in dB per image, data range 1, capped at PSNR_CAP."""
    error = mse(reconstructed, truth).clamp_min(10 ** (-PSNR_CAP / 10))
    return -10 * torch.log10(error)


def flat_psnr(truth: torch.Tensor) -> torch.Tensor:
    """PSNR per image of the best flat image against the truth: its mean colour (per channel), whose squared
    error is the truth's pixel variance about that colour. It knows nothing of the image but its colour."""
    return psnr(truth.mean(dim=(-2, -1), keepdim=True).expand_as(truth), truth)


def recognisable(
    psnr_db: float | torch.Tensor, ssim_value: float | torch.Tensor, flat_db: float | torch.Tensor
) -> bool | torch.Tensor:
    """Whether a reconstruction is recognisable (floats or tensors alike): SSIM at least RECOGNISABLE_SSIM, and
    PSNR at least FLAT_MARGIN_DB above the truth's flat image (an error at most half the truth's variance about
    its mean colour: the reconstruction explains at least half of it), or an exact copy (PSNR at the cap)."""
    return (ssim_value >= RECOGNISABLE_SSIM) & ((psnr_db >= flat_db + FLAT_MARGIN_DB) | (psnr_db >= PSNR_CAP))


def ssim(reconstructed: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """Structural similarity per image (Gaussian-window SSIM, data range 1)."""
    sigma = min(1.5, (min(truth.shape[-2:]) - 1) / 2 / 3.5 - 0.15)
    scores = [
        structural_similarity(
            a.numpy().astype(np.float64),
            b.numpy().astype(np.float64),
            data_range=1.0,
            channel_axis=0,
            gaussian_weights=True,
            sigma=sigma,
            use_sample_covariance=False,
        )
        for a, b in zip(reconstructed, truth, strict=True)
    ]
    return torch.tensor(scores, dtype=torch.float32)


@cache
def _lpips_model():
    weights = Path(torch.hub.get_dir()) / "checkpoints" / ALEXNET_FILE
    if not weights.is_file():
        return None
    import lpips

    return lpips.LPIPS(net="alex", verbose=False).eval()


def lpips_distance(reconstructed: torch.Tensor, truth: torch.Tensor) -> list[float] | None:
    """LPIPS per image, or None when the AlexNet weights are not present locally."""
    model = _lpips_model()
    if model is None or min(truth.shape[-2:]) < 32:
        return None
    if truth.shape[1] == 1:
        reconstructed, truth = reconstructed.repeat(1, 3, 1, 1), truth.repeat(1, 3, 1, 1)
    with torch.no_grad():
        return model(reconstructed * 2 - 1, truth * 2 - 1).flatten().tolist()


def label_accuracy(predicted: torch.Tensor, truth: torch.Tensor) -> float:
    """Share of true labels matched by a predicted label, order ignored (multiset overlap)."""
    overlap = Counter(predicted.tolist()) & Counter(truth.tolist())
    return sum(overlap.values()) / len(truth)


def chance_accuracy(labels: torch.Tensor) -> float:
    """The accuracy of always guessing the most frequent label: what a model that learnt nothing can score."""
    return Counter(labels.tolist()).most_common(1)[0][1] / len(labels) if len(labels) else 0.0
