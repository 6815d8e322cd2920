"""Cocktail Party Attack (Kariyappa et al., ICML 2023): separate a batch by independent component analysis.

The weight gradient of a fully connected layer is G = sum_j delta_j x_j^T: every row is a linear
mixture of the layer's B inputs x_j. Centring and whitening G's rows (keeping the top B
principal directions) and optimising an unmixing matrix U with Adam to maximise each source's
non-Gaussianity (negentropy, log-cosh approximation), with a decorrelation penalty
decor * mean_{i != j} (exp(T |cos(u_i, u_j)|) - 1) and priors (total variation on image sources,
a one-sign penalty --cpa.one_sign and sparsity --cpa.l1 on ReLU embeddings) recovers the inputs up to sign and
scale. Both are resolved exactly from the bias gradient db = sum_j delta_j: with the estimated
mixing matrix A (G = A S), db = A k gives each source's factor k_j, and x_j = s_j / k_j.

The attacked layer is the model's first nn.Linear. If its input is the image itself (fc2, mlp)
the sources are the images; otherwise they are embeddings, and feature inversion (--cpa.fi_weight, --cpa.fi_lr,
--cpa.fi_iterations) optimises images whose embedding matches each recovered one (cosine) with a TV prior.
The same holds for a FedAvg update: the first layer of an MLP sees the same images at every local
step, so its update is still a mixture of them.

Secure aggregation, the paper's setting ("gradients aggregated over as many as 1024 samples"): the FedAvg
mean of K clients' first-layer updates is sum_j a_j x_j^T over the union of their N images, a_j absorbing each
client's weight and steps, so CPA unmixes N sources, the images of all the round's clients, none of them
attributed to a client; the bias row carries the same a_j, so the scale is still resolved exactly.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from fedprivacy.attacks.base import Reconstruction
from fedprivacy.attacks.config.cpa import CPAOptions
from fedprivacy.attacks.fits import first_linear
from fedprivacy.attacks.labels import restore_labels
from fedprivacy.attacks.spec import AttackConfig
from fedprivacy.fl.observation import Observation
from fedprivacy.utils.errors import AttackDiverged, UsageError
from fedprivacy.utils.gradients import total_variation
from fedprivacy.utils.progress import loss_bar

START_ITERATIONS = 200
OUT_OF_BOX = 0.2  # share of pixels outside the valid box above which a recovered scale is distrusted
GAUSSIAN_LOGCOSH = 0.3745672075  # E[log cosh(v)] for a standard normal v (the negentropy reference)


def layer_inputs(obs: Observation, layer: nn.Module, images: torch.Tensor, params: dict | None = None) -> torch.Tensor:
    """The inputs of `layer` when the observed model runs on `images` (differentiable w.r.t. images)."""
    captured = []
    hook = layer.register_forward_hook(lambda _m, inputs, _o: captured.append(inputs[0]))
    try:
        functional_call(obs.model, (params or obs.parameters(), obs.buffers()), (images,))
    finally:
        hook.remove()
    return captured[0]


def sees_images(obs: Observation, layer: nn.Module) -> bool:
    """Whether the layer's input is the flattened image itself (then the sources are images)."""
    probe = torch.randn((2, *obs.image_shape), generator=torch.Generator().manual_seed(0)).to(obs.device)
    with torch.no_grad():
        inputs = layer_inputs(obs, layer, probe)
    return inputs.shape[1] == probe[0].numel() and torch.allclose(inputs, probe.flatten(1))


def whiten(mixtures: torch.Tensor, sources: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Centre rows over the features and whiten onto the top `sources` principal directions:
    returns the whitened data (sources x features) and the whitening matrix (sources x rows)."""
    centred = mixtures - mixtures.mean(dim=1, keepdim=True)
    covariance = centred @ centred.T / (centred.shape[1] - 1)
    values, vectors = torch.linalg.eigh(covariance)
    top = values.argsort(descending=True)[:sources]
    whitening = vectors[:, top].T / values[top].clamp_min(1e-30).sqrt()[:, None]
    return whitening @ centred, whitening


def spatial_differences(rows: torch.Tensor, image_shape: tuple[int, ...]) -> torch.Tensor:
    """Horizontal and vertical neighbour differences of each row seen as an image, concatenated.

    Linear and the same for every row, so it commutes with the mixing: the differenced gradient
    rows are the same mixture of the differenced images, whose values are sparse and close to
    independent (unlike raw pixels, which every natural image shares at low frequency)."""
    images = rows.view(len(rows), *image_shape)
    horizontal = (images[..., :, 1:] - images[..., :, :-1]).flatten(1)
    vertical = (images[..., 1:, :] - images[..., :-1, :]).flatten(1)
    return torch.cat([horizontal, vertical], dim=1)


def negentropy(sources: torch.Tensor) -> torch.Tensor:
    """Log-cosh negentropy approximation per source (rows of unit variance): (E G(y) - E G(v))^2."""
    logcosh = sources.abs() + F.softplus(-2 * sources.abs()) - math.log(2)  # stable log(cosh(y))
    return (logcosh.mean(dim=1) - GAUSSIAN_LOGCOSH) ** 2


def decorrelation(unmixing: torch.Tensor, temperature: float) -> torch.Tensor:
    """Mean over pairs i != j of exp(T |cos(u_i, u_j)|) - 1."""
    cosines = (unmixing @ unmixing.T).abs()
    off = ~torch.eye(len(unmixing), dtype=torch.bool, device=unmixing.device)
    return (torch.exp(temperature * cosines[off]) - 1).mean()


def one_sign(sources: torch.Tensor) -> torch.Tensor:
    """Penalty of a source that has both signs: the smaller of its positive and negative parts' norms."""
    return torch.minimum(F.relu(-sources).norm(dim=1), F.relu(sources).norm(dim=1)).mean()


def fixed_point_start(whitened: torch.Tensor, iterations: int) -> torch.Tensor:
    """A starting unmixing matrix from symmetric fixed-point iterations on the same log-cosh contrast
    (Hyvarinen's FastICA update, w <- E[z tanh(w.z)] - E[1 - tanh^2(w.z)] w, then re-orthogonalised);
    plain gradient steps from the identity stall in a poor optimum held by the decorrelation penalty."""
    count = len(whitened)
    rows = torch.linalg.qr(torch.randn(count, count, generator=torch.Generator().manual_seed(0)).double())[0]
    rows = rows.to(whitened)
    for _ in range(iterations):
        activity = torch.tanh(rows @ whitened)
        rows = activity @ whitened.T / whitened.shape[1] - (1 - activity**2).mean(dim=1, keepdim=True) * rows
        u, _, v = torch.linalg.svd(rows)
        rows = u @ v
    return rows


def unmix(
    whitened: torch.Tensor,
    raw: torch.Tensor,
    config: AttackConfig[CPAOptions],
    source_shape: tuple[int, ...] | None,
) -> torch.Tensor:
    """Optimise the unmixing matrix (Adam from the identity); returns its unit-norm rows (B x B).

    `raw` is the whitened but uncentred data, on which the priors are measured; `source_shape`
    is the image shape for the TV prior (None for embeddings)."""
    options = config.options
    count = len(whitened)
    unmixing = fixed_point_start(whitened, START_ITERATIONS).requires_grad_()
    optimizer = torch.optim.Adam([unmixing], lr=config.options.lr)

    def objective() -> torch.Tensor:
        rows = unmixing / unmixing.norm(dim=1, keepdim=True)
        loss = -negentropy(rows @ whitened).mean()
        if options.decor:
            loss = loss + options.decor * decorrelation(rows, options.temperature)
        sources = rows @ raw
        if config.options.tv and source_shape is not None:
            loss = loss + config.options.tv * total_variation(sources.view(count, *source_shape))
        if options.one_sign:
            loss = loss + options.one_sign * one_sign(sources)
        if options.l1:
            loss = loss + options.l1 * sources.abs().mean()
        return loss

    with loss_bar(config.options.iterations, "cpa unmixing", config.progress) as bar:
        for step in range(config.options.iterations):
            optimizer.zero_grad()
            loss = objective()
            if not torch.isfinite(loss):
                raise AttackDiverged(f"cpa: the unmixing loss became {loss.item()} at iteration {step}")
            loss.backward()
            optimizer.step()
            if step % 50 == 0:
                bar.set_postfix(loss=f"{loss.item():.4g}")
            bar.update()
    with torch.no_grad():
        return unmixing / unmixing.norm(dim=1, keepdim=True)


def resolve_scale(mixtures: torch.Tensor, sources: torch.Tensor, bias_grad: torch.Tensor | None) -> torch.Tensor:
    """Sources rescaled to the layer's inputs: k = A^+ db with A = G S^+ the mixing matrix; without
    a bias gradient, each source is flipped to positive skew and left at unit scale (min-max later)."""
    if bias_grad is None:
        skew = ((sources - sources.mean(1, keepdim=True)) ** 3).mean(1)
        return sources * torch.where(skew < 0, -1.0, 1.0)[:, None]
    mixing = mixtures @ torch.linalg.pinv(sources)
    factors = torch.linalg.lstsq(mixing, bias_grad[:, None]).solution.flatten()
    return sources / torch.where(factors.abs() < 1e-30, 1e-30, factors)[:, None]


def invert_features(
    obs: Observation, layer: nn.Module, embeddings: torch.Tensor, config: AttackConfig[CPAOptions]
) -> torch.Tensor:
    """Images whose embedding at `layer` matches `embeddings` in cosine, with a TV prior (Adam, box-clamped)."""
    options = config.options
    generator = torch.Generator().manual_seed(config.seed)
    low, high = obs.normalization.box(embeddings)
    noise = torch.rand((len(embeddings), *obs.image_shape), generator=generator).to(embeddings.device)
    images = (low + (high - low) * noise).requires_grad_()
    optimizer = torch.optim.Adam([images], lr=options.fi_lr)
    parameters = {name: p.detach() for name, p in obs.parameters().items()}
    with loss_bar(options.fi_iterations, "cpa feature inversion", config.progress) as bar:
        for _ in range(options.fi_iterations):
            optimizer.zero_grad()
            features = layer_inputs(obs, layer, images, parameters)
            loss = options.fi_weight * (1 - F.cosine_similarity(features, embeddings, dim=1)).mean()
            loss = loss + config.options.tv * total_variation(images)
            value = loss.item()  # the step's one synchronisation: the NaN check and the bar share it
            if not math.isfinite(value):
                raise AttackDiverged("cpa: feature inversion diverged to NaN/inf")
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                images.copy_(obs.normalization.clamp(images))
            bar.set_postfix(loss=f"{value:.4g}")
            bar.update()
    return images.detach()


def unmix_gradient(
    mixtures: torch.Tensor,
    bias_grad: torch.Tensor | None,
    count: int,
    image_shape: tuple[int, ...] | None,
    config: AttackConfig[CPAOptions],
) -> torch.Tensor:
    """The `count` sources mixed in a weight gradient (rows = mixtures), at their true scale when the
    bias gradient is given. Image sources (`image_shape`) are separated on their spatial differences."""
    mixtures = mixtures.double()
    separable = spatial_differences(mixtures, image_shape) if image_shape is not None else mixtures
    whitened, whitening = whiten(separable, count)
    raw = whitening @ mixtures
    rows = unmix(whitened.float(), raw.float(), config, image_shape).double()
    return resolve_scale(mixtures, rows @ raw, None if bias_grad is None else bias_grad.double())


def separate(obs: Observation, config: AttackConfig[CPAOptions]) -> tuple[torch.Tensor, nn.Module, bool, dict]:
    """The recovered inputs of the first linear layer (B x features), the layer, whether they are
    images, and statistics."""
    name, layer = first_linear(obs.model)  # present and wide enough: AttackSpec.run checked the capabilities
    count = obs.num_images
    gradients = dict(zip(obs.parameters(), obs.gradient, strict=True))
    mixtures = gradients[f"{name}.weight"]
    bias_grad = gradients[f"{name}.bias"] if layer.bias is not None else None
    images_are_sources = sees_images(obs, layer)
    shape = tuple(obs.image_shape) if images_are_sources else None
    sources = unmix_gradient(mixtures, bias_grad, count, shape, config)
    stats = {
        "layer": name,
        "sources": "images" if images_are_sources else "embeddings",
        "scale_from_bias": bias_grad is not None,
        "clients_mixed": obs.num_clients or 1,  # a secure aggregate's sources: the round's clients' images
    }
    return sources.float(), layer, images_are_sources, stats


def to_box(obs: Observation, sources: torch.Tensor, exact_scale: bool) -> tuple[torch.Tensor, int]:
    """Recovered images in the normalised space, and how many were rescaled by min-max.

    An image whose bias-resolved scale leaves more than OUT_OF_BOX of its pixels outside the valid
    box (a badly conditioned factor; a right scale keeps them inside) is instead mapped per image by
    min-max onto the box, keeping its sign, as is every image when the layer has no bias."""
    images = sources.view(-1, *obs.image_shape)
    low, high = obs.normalization.box(images)
    outside = ((images < low) | (images > high)).flatten(1).float().mean(dim=1)
    rescale = outside > OUT_OF_BOX if exact_scale else torch.ones_like(outside, dtype=torch.bool)
    flat = images.flatten(1)
    smallest, largest = flat.min(1, keepdim=True).values, flat.max(1, keepdim=True).values
    stretched = obs.normalization.normalize(((flat - smallest) / (largest - smallest).clamp_min(1e-12)).view_as(images))
    images = torch.where(rescale.view(-1, 1, 1, 1), stretched, images)
    return obs.normalization.clamp(images), int(rescale.sum())


def run(obs: Observation, config: AttackConfig[CPAOptions]) -> Reconstruction:
    sources, layer, images_are_sources, stats = separate(obs, config)
    if images_are_sources:
        images, stats["rescaled_by_min_max"] = to_box(obs, sources, stats["scale_from_bias"])
    elif config.options.fi_weight > 0:
        images = invert_features(obs, layer, sources, config)
    else:
        raise UsageError("--cpa.fi_weight 0: cpa on a convolutional model needs feature inversion to produce images")
    labels = restore_labels(obs, torch.Generator().manual_seed(config.seed))
    return Reconstruction(images=images, labels=labels, stats=stats)
