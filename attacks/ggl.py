"""Generative Gradient Leakage, GGL (Li et al., CVPR 2022).

A GAN generator trained on public data of the domain (cli/train_generator.py; fl/public.py checks that
its training set is disjoint from the attacked images) is the image prior: the attack searches its
latent space for the image whose gradient matches the shared one,

    loss(z) = ||g(G(z)) - g||^2 / layers + kl_weight * KL(N(mean z, var z) || N(0, 1)),

with CMA-ES (the `cma` package; --ggl.budget loss evaluations, starting from the zero latent with step
size 1) or, with --ggl.search adam, Adam over the latent for --ggl.iterations steps at --ggl.lr. The KL term
keeps the latent's statistics those of the prior the generator was trained on. The label is read off
the gradient (iDLG), so the attack handles one image per batch.
"""

import math
from dataclasses import dataclass

import cma
import numpy as np
import torch
from torch.func import vmap

from fedprivacy.attacks.base import Reconstruction
from fedprivacy.attacks.config.ggl import GGLOptions
from fedprivacy.attacks.evidence import RELATIVE_DISTANCE, Curve, match_stats, trial_evidence
from fedprivacy.attacks.labels import restore_labels
from fedprivacy.attacks.restarts import best_of_batches
from fedprivacy.attacks.spec import AttackConfig
from fedprivacy.fl.observation import Observation
from fedprivacy.models.generators import ImageGenerator, load_image_generator
from fedprivacy.utils.errors import AttackDiverged
from fedprivacy.utils.gradients import batched_model_gradient, total_variation
from fedprivacy.utils.progress import loss_bar


def kl_divergence(latents: torch.Tensor) -> torch.Tensor:
    """KL of N(mean, var) of each latent's entries from the standard normal, one value per row."""
    mean, var = latents.mean(dim=-1), latents.var(dim=-1, unbiased=False)
    return -0.5 * (1 + torch.log(var + 1e-10) - mean**2 - var)


class LatentLoss:
    """GGL's objective over latents of one generator, for the observed gradient and restored label."""

    def __init__(
        self, obs: Observation, config: AttackConfig[GGLOptions], generator: ImageGenerator, labels: torch.Tensor
    ):
        self.obs, self.generator, self.labels = obs, generator, labels
        self.tv, self.kl_weight = config.options.tv, config.options.kl_weight
        self.parameters, self.buffers = obs.parameters(), obs.buffers()

    def images(self, latents: torch.Tensor) -> torch.Tensor:
        """The generator's images of these latents in the observation's (normalised) data space."""
        return self.obs.normalization.normalize(self.generator(latents))

    def __call__(self, latents: torch.Tensor) -> torch.Tensor:
        """Loss of each latent (rows of `latents`, each one single-image batch, matched all at once by vmap),
        differentiable w.r.t. them when they require grad."""
        images = self.images(latents)[:, None]
        labels = self.labels.expand(len(images), *self.labels.shape)
        dummy = batched_model_gradient(self.obs.model, self.parameters, self.buffers, images, labels)
        losses = sum(((d - g) ** 2).flatten(1).sum(dim=1) for d, g in zip(dummy, self.obs.gradient, strict=True))
        losses = losses / len(dummy)
        if self.tv:
            losses = losses + self.tv * vmap(total_variation)(images)
        return losses + self.kl_weight * kl_divergence(latents)


def search_cma(
    objective: LatentLoss, size: int, budget: int, seed: int, bar, curve: Curve | None = None
) -> tuple[float, np.ndarray, int]:
    """CMA-ES from the zero latent (step size 1) for `budget` evaluations; best loss, latent, evaluations
    (each generation's best loss goes on `curve`)."""
    options = {"maxfevals": budget, "seed": seed + 1, "verbose": -9}
    strategy = cma.CMAEvolutionStrategy(np.zeros(size), 1.0, options)
    best = (math.inf, np.zeros(size))
    device = objective.obs.gradient[0].device
    while not strategy.stop():
        candidates = strategy.ask()
        with torch.no_grad():
            latents = torch.tensor(np.array(candidates), dtype=torch.float32, device=device)
        losses = objective(latents).detach().cpu().numpy().astype(float)
        if not np.isfinite(losses).all():
            raise AttackDiverged("ggl: the gradient-matching loss became NaN/inf during the CMA-ES search")
        strategy.tell(candidates, losses.tolist())
        index = int(losses.argmin())
        if losses[index] < best[0]:
            best = (float(losses[index]), np.asarray(candidates[index]))
        if curve is not None:
            curve.add(strategy.countevals, best[0])
        bar.set_postfix(loss=f"{best[0]:.3g}")
        bar.update(len(candidates))
    return (*best, strategy.countevals)


def search_adam(
    objective: LatentLoss,
    size: int,
    config: AttackConfig[GGLOptions],
    seeds: list[int],
    bar,
    curves: list[Curve] | None = None,
) -> list[tuple[float, np.ndarray]]:
    """Adam over one Gaussian-initialised latent per seed for rec_epochs steps, all at once (the rows share
    nothing: Adam is element-wise); each row's best loss and latent, inf for a row whose loss turned NaN/inf."""
    device = objective.obs.device
    starts = [torch.randn(1, size, generator=torch.Generator().manual_seed(seed)) for seed in seeds]
    latents = torch.cat(starts).to(device).requires_grad_()
    optimizer = torch.optim.Adam([latents], lr=config.options.lr)
    best_losses = [math.inf] * len(seeds)
    best_latents = latents.detach().clone()
    running = set(range(len(seeds)))
    for step in range(config.options.iterations):
        losses = objective(latents)
        values = losses.detach().tolist()
        for row in [row for row in running if not math.isfinite(values[row])]:
            running.discard(row)
            best_losses[row] = math.inf
        if not running:
            break
        for row in [row for row in running if values[row] < best_losses[row]]:
            best_losses[row] = values[row]
            best_latents[row] = latents.detach()[row]
        for row in running if curves is not None else ():
            curves[row].add(step + 1, best_losses[row])
        (grad,) = torch.autograd.grad(losses.sum(), [latents])
        latents.grad = grad
        optimizer.step()
        bar.set_postfix(loss=f"{min(best_losses[row] for row in running):.3g}")
        bar.update(len(running))
    kept = best_latents.cpu().numpy()
    return [(best_losses[row] if row in running else math.inf, kept[row]) for row in range(len(seeds))]


def run(obs: Observation, config: AttackConfig[GGLOptions]) -> Reconstruction:
    options = config.options
    generator, meta = load_image_generator(options.generator, obs.image_shape)
    generator = generator.to(obs.gradient[0].device)
    labels = restore_labels(obs)
    objective = LatentLoss(obs, config, generator, labels)
    steps = options.budget if options.search == "cma" else config.options.iterations
    energy = float(sum((g**2).sum() for g in obs.gradient))
    relative = len(obs.gradient) / max(energy, 1e-30)  # the loss is the squared distance over the layer count
    evaluations = 0

    def trials(indices: range) -> list[tuple[float, Latent]]:
        nonlocal evaluations
        seeds = [config.seed * 1000 + index for index in indices]
        curves = [Curve() for _ in seeds]
        if options.search == "adam":
            evaluations += config.options.iterations * len(seeds)
            found = search_adam(objective, meta["latent"], config, seeds, bar, curves)
            return [(loss, Latent(latent, curve)) for (loss, latent), curve in zip(found, curves, strict=True)]
        results = []
        for seed, curve in zip(seeds, curves, strict=True):
            loss, latent, count = search_cma(objective, meta["latent"], options.budget, seed, bar, curve)
            evaluations += count
            results.append((loss, Latent(latent, curve)))
        return results

    batch = config.trials_at_once if options.search == "adam" else 1  # CMA-ES: one by one
    with loss_bar(steps * config.options.restarts, f"ggl {options.search}", config.progress) as bar:
        best = best_of_batches("ggl", config.options.restarts, batch, trials, bar, at_least=config.min_trials)
    device = obs.gradient[0].device

    def images_of(found: Latent) -> torch.Tensor:
        with torch.no_grad():
            latent = torch.tensor(found.latent[None], dtype=torch.float32, device=device)
            return obs.normalization.clamp(objective.images(latent))

    matches, others = trial_evidence(best.finished, best.result, lambda loss, _: loss * relative, images_of)
    curve = [(e, v * relative) for e, v in best.result.curve.finish(best.result.curve.seen)]
    return Reconstruction(
        images=images_of(best.result),
        labels=labels,
        alternatives=others,
        stats={
            "loss": best.loss,
            "relative_loss": best.loss * relative,
            "search": options.search,
            "evaluations": evaluations,
            "iterations": evaluations,
            "generator": meta["dataset"],
            "generator_steps": meta["steps"],
            "latent": meta["latent"],
            **match_stats(RELATIVE_DISTANCE, best.loss * relative, curve, matches, evaluations),
        },
    )


@dataclass(frozen=True)
class Latent:
    """One search's best latent and its curve of the loss."""

    latent: np.ndarray
    curve: Curve
