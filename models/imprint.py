"""The malicious imprint block of Robbing the Fed (Fowl et al., ICLR 2022), placed before any model.

A linear layer of `bins` units whose rows all measure one scalar of the input, its mean pixel value
in the normalised space (the paper's "average brightness"), with biases at quantiles of that
scalar's distribution; a ReLU; and a linear layer back to the input's size whose columns are tied
(one shared column: every bin writes the same pattern, which the closed form needs at every local
step). Unit i is active for every image brighter than its threshold t_i, so the difference of two
consecutive units' gradients holds only the images between their thresholds (attacks/rtf.py).

Distribution assumption: thresholds sit at quantiles of the brightness of public images (fl/public.py
picks them: a split disjoint from the attacked and the clients' images), so the bins hold equal mass
of that distribution. Without a public split, the brightness is assumed Gaussian with the mean of
the dataset's published per-channel means and the pixel standard deviation as spread (a wider,
upper-bound spread: per-image means vary less than single pixels).

Why the block of the original implementation (hangyuzhu/privacy-attack-in-federated-learning)
exploded and this one does not. It scaled the first layer by 1e-3 and
the second by 1/1e-3 = 1000: an SGD step moves a layer by ~ (its gradient) and the gradient of the
first layer is 1000 times its size, so local training went to NaN. Here the block is a residual,
output = x + BACK_SCALE * v * sum_i relu(GAIN (m(x) - t_i) / s), whose change to the input is
~ STRENGTH * s (s = brightness std), so the model trains as without it. The two layers' step sizes
are set apart on purpose: the back layer is stored divided by BACK_SCALE, which divides its SGD
steps relative to its size by BACK_SCALE^2 (it would otherwise grow a hundredfold in one epoch and
perturb the model); the imprint rows take relative steps ~ 1 / GAIN^2, large enough that one image's
share of a FedAvg update is not rounded away in float32 (the update of a bias is new - old), small
enough that bins stay put. GAIN = BACK_SCALE = 0.01 was measured (benchmarks/cases_rtf_cpa.py):
a 100-step epoch at lr 0.1, momentum 0.9 stays finite and as accurate as the plain model.
"""

import torch
from torch import nn

from fedprivacy.data import DatasetInfo, Normalization

STRENGTH = 0.01  # size of the block's change to a pixel, in standard deviations of the brightness
GAIN = 0.01  # imprint-layer scale: SGD moves its rows by ~ 1 / GAIN^2 of their size (see module doc)
BACK_SCALE = 0.01  # the back layer is stored / BACK_SCALE and multiplied back: its SGD steps shrink by BACK_SCALE^2


class ImprintBlock(nn.Module):
    """x -> x + back(relu(imprint(flatten(x)))): `imprint` rows measure the mean pixel value,
    its biases are minus the bin thresholds (so unit i fires above threshold i)."""

    def __init__(self, image_shape: tuple[int, ...], thresholds: torch.Tensor, spread: float, gain: float = GAIN):
        super().__init__()
        self.image_shape = tuple(image_shape)
        size = int(torch.tensor(image_shape).prod())
        bins = len(thresholds)
        self.imprint = nn.Linear(size, bins)
        self.back = nn.Linear(1, size)  # one column shared by every bin (tied), see forward
        with torch.no_grad():
            self.imprint.weight.fill_(gain / (size * spread))
            self.imprint.bias.copy_(-gain * thresholds / spread)
            self.back.weight.fill_(STRENGTH * spread / bins / gain / BACK_SCALE)
            self.back.bias.zero_()

    @property
    def bins(self) -> int:
        return self.imprint.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = torch.relu(self.imprint(x.flatten(1)))
        return x + BACK_SCALE * self.back(hidden.sum(dim=1, keepdim=True)).view_as(x)


class Imprinted(nn.Module):
    """A model behind an imprint block; parameters are `block.*` then `model.*`."""

    def __init__(self, block: ImprintBlock, model: nn.Module):
        super().__init__()
        self.block = block
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(self.block(x))


def brightness(images: torch.Tensor) -> torch.Tensor:
    """The measured scalar: mean pixel value of each (normalised) image."""
    return images.flatten(1).mean(dim=1)


def thresholds_from(public: torch.Tensor, bins: int, lowest: float) -> tuple[torch.Tensor, float]:
    """Equal-mass thresholds of `bins` bins from public brightness values, and their spread (std).

    The first threshold is `lowest` (the darkest possible image), the others the empirical
    quantiles i / bins, so every image falls above the first threshold."""
    levels = torch.arange(1, bins, dtype=torch.float64) / bins
    inner = torch.quantile(public.double(), levels)
    return torch.cat([torch.tensor([lowest], dtype=torch.float64), inner]).float(), float(public.std())


def gaussian_thresholds(mean: float, spread: float, bins: int, lowest: float) -> torch.Tensor:
    """Equal-mass thresholds of a Gaussian brightness N(mean, spread^2), the first at `lowest`."""
    levels = torch.arange(1, bins, dtype=torch.float64) / bins
    inner = mean + spread * torch.special.ndtri(levels)
    return torch.cat([torch.tensor([lowest], dtype=torch.float64), inner]).float()


def imprint_model(
    model: nn.Module,
    image_shape: tuple[int, ...],
    bins: int,
    normalization: Normalization,
    public: torch.Tensor | None = None,
    info: DatasetInfo | None = None,
) -> Imprinted:
    """`model` behind an imprint block of `bins` bins; thresholds from the normalised `public`
    images when given, else the Gaussian assumption from the dataset's published statistics."""
    channels = image_shape[0]
    low, _ = normalization.box(torch.zeros(1))
    lowest = float(low.mean()) - 1e-3
    if public is not None and len(public) > 1:
        thresholds, spread = thresholds_from(brightness(public), bins, lowest)
    else:
        stats = info.stats if info is not None else Normalization((0.5,) * channels, (0.25,) * channels)
        mean = normalization.normalize(torch.tensor(stats.mean).view(1, channels, 1, 1)).mean()
        spread = float((torch.tensor(stats.std) / torch.tensor(normalization.std)).mean())
        thresholds = gaussian_thresholds(float(mean), spread, bins, lowest)
    device = next(model.parameters()).device
    return Imprinted(ImprintBlock(image_shape, thresholds, spread), model).to(device)


def find_imprint(model: nn.Module) -> tuple[str, ImprintBlock] | None:
    """The (name, block) of the first imprint block inside `model`, or None."""
    for name, module in model.named_modules():
        if isinstance(module, ImprintBlock):
            return name, module
    return None
