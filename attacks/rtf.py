"""Robbing the Fed (Fowl et al., ICLR 2022): closed-form recovery through an imprint block.

Unit i of the imprint layer (models/imprint.py) is active for every image brighter than its
threshold t_i, and all units pass the same back-propagated scalar c_j for image j. So unit i's
weight gradient is sum_{j: m_j > t_i} c_j x_j and its bias gradient sum_{j: m_j > t_i} c_j; the
difference of consecutive units keeps only the images between t_i and t_{i+1}, and

    image = (dW_i - dW_{i+1}) / (db_i - db_{i+1})

is exact when one image is alone in that bin (no labels, no optimisation). A bin holding several
images yields their weighted mix; an empty bin has a zero bias difference and is skipped. The
server knows how many images there are, so n images in m < n non-empty bins means at least
n - m + 1 of them collided (reported); which bins hold one image it cannot tell.

Federated averaging: the pseudo-gradient -update / (lr x steps) is a sum of per-step gradients of
the same form (the block's thresholds barely move, see models/imprint.py), so the same ratio
recovers the images from a multi-step update; the ratio does not depend on the scaling.

Secure aggregation (the paper's "large aggregated batches"): the FedAvg mean of K clients' updates is the same
sum over the union of their N images, each scaled by its client's weight, which the ratio cancels too. The
server, which knows N, recovers up to N images and can attribute none of them to a client. With k bins of
equal mass (quantiles of the public brightness) an image is alone in its bin with probability (1 - 1/k)^(N-1)
(expected_alone_share), the share of the round's images the attack can recover exactly.
"""

import torch

from fedprivacy.attacks.base import Reconstruction
from fedprivacy.attacks.config.rtf import RtFOptions
from fedprivacy.attacks.labels import restore_labels
from fedprivacy.attacks.spec import AttackConfig
from fedprivacy.fl.observation import Observation
from fedprivacy.models.imprint import find_imprint
from fedprivacy.utils.errors import AttackDiverged

# A bin whose bias difference is below this share of the largest one is treated as empty.
EMPTY_BIN = 1e-5


def bin_differences(weight_grad: torch.Tensor, bias_grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-bin weight and bias gradients: unit i minus unit i+1 (the last unit on its own), in float64."""
    weight_grad, bias_grad = weight_grad.double(), bias_grad.double()
    weights = weight_grad - torch.cat([weight_grad[1:], torch.zeros_like(weight_grad[:1])])
    biases = bias_grad - torch.cat([bias_grad[1:], torch.zeros_like(bias_grad[:1])])
    return weights, biases


def recover_bins(
    weight_grad: torch.Tensor, bias_grad: torch.Tensor, count: int
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Up to `count` flattened images from the non-empty bins (the strongest first when there are
    more), the indices of their bins, and how many bins were non-empty."""
    weights, biases = bin_differences(weight_grad, bias_grad)
    if not torch.isfinite(weights).all() or not torch.isfinite(biases).all():
        raise AttackDiverged("rtf: the shared imprint gradient holds NaN/inf")
    strength = biases.abs()
    nonempty = torch.nonzero(strength > EMPTY_BIN * strength.max()).flatten()
    chosen = nonempty[strength[nonempty].argsort(descending=True)[:count]].sort().values
    return weights[chosen] / biases[chosen, None], chosen, len(nonempty)


def expected_alone_share(num_images: int, bins: int) -> float:
    """The expected share of `num_images` images alone in one of `bins` equal-mass bins (brightness i.i.d. from
    the bins' distribution): each of the other images misses its bin with probability 1 - 1/bins."""
    return (1 - 1 / bins) ** (num_images - 1)


def run(obs: Observation, config: AttackConfig[RtFOptions]) -> Reconstruction:
    name, block = find_imprint(obs.model)  # present: AttackSpec.run checked the capabilities
    gradients = dict(zip(obs.parameters(), obs.gradient, strict=True))
    prefix = f"{name}.imprint" if name else "imprint"
    images, bins, nonempty = recover_bins(gradients[f"{prefix}.weight"], gradients[f"{prefix}.bias"], obs.num_images)
    images = images.float().view(-1, *obs.image_shape)
    missing = obs.num_images - len(images)
    if missing > 0:  # collisions: fewer non-empty bins than images; pad with grey
        images = torch.cat([images, torch.zeros((missing, *obs.image_shape), device=images.device)])
    labels = restore_labels(obs, torch.Generator().manual_seed(config.seed))
    return Reconstruction(
        images=obs.normalization.clamp(images),
        labels=labels,
        stats={
            "bins": block.bins,
            "nonempty_bins": nonempty,
            "recovered_bins": [int(b) for b in bins],
            "collided_images_at_least": missing + 1 if missing > 0 else 0,  # n images in fewer non-empty bins
            "expected_alone_share": expected_alone_share(obs.num_examples or obs.num_images, block.bins),
            "clients_mixed": obs.num_clients or 1,  # a secure aggregate's: none of its images is attributed
            "source": "update" if obs.update is not None else "gradient",
            "closed_form": True,  # exact where an image is alone in its bin: no optimisation to converge
        },
    )
