"""Generative Gradient Leakage, GGL (Li et al., CVPR 2022).

A GAN generator trained on public data of the domain (attacks/train_generator.py) is the image
prior: the attack searches its latent space for the image whose gradient matches the shared one,

    loss(z) = ||g(G(z)) - g||^2 / layers + kl_weight * KL(N(mean z, var z) || N(0, 1)),

with CMA-ES (the `cma` package; --budget loss evaluations, starting from the zero latent with step
size 1) or, with --search adam, Adam over the latent for --rec_epochs steps at --rec_lr. The KL term
keeps the latent's statistics those of the prior the generator was trained on. The label is read off
the gradient (iDLG), so the attack handles one image per batch.
"""

import math

import cma
import numpy as np
import torch

from attacks.base import AttackConfig, AttackSpec, Flag, Reconstruction
from attacks.labels import restore_labels
from fl.observation import Observation
from models.generators import ImageGenerator, load_image_generator
from utils.domains import COUNT, NON_NEGATIVE
from utils.errors import AttackDiverged, UsageError
from utils.gradients import model_gradient, squared_distance, total_variation
from utils.progress import loss_bar

GENERATOR = Flag(
    "--generator",
    {
        "default": None,
        "help": "ggl: generator checkpoint from `python -m attacks.train_generator` (same image size and channels)",
    },
)
BUDGET = Flag("--budget", {"type": COUNT, "default": 2000, "help": "ggl: loss evaluations of the CMA-ES search"})
SEARCH = Flag(
    "--search",
    {"choices": ("cma", "adam"), "default": "cma", "help": "ggl: CMA-ES (the paper's) or Adam over the latent"},
)
KL_WEIGHT = Flag(
    "--kl_weight", {"type": NON_NEGATIVE, "default": 0.1, "help": "ggl: weight of the KL term on the latent"}
)


def kl_divergence(latents: torch.Tensor) -> torch.Tensor:
    """KL of N(mean, var) of each latent's entries from the standard normal, one value per row."""
    mean, var = latents.mean(dim=-1), latents.var(dim=-1, unbiased=False)
    return -0.5 * (1 + torch.log(var + 1e-10) - mean**2 - var)


class LatentLoss:
    """GGL's objective over latents of one generator, for the observed gradient and restored label."""

    def __init__(self, obs: Observation, config: AttackConfig, generator: ImageGenerator, labels: torch.Tensor):
        self.obs, self.generator, self.labels = obs, generator, labels
        self.tv, self.kl_weight = config.tv, config.options.get("kl_weight", 0.1)
        self.parameters, self.buffers = obs.parameters(), obs.buffers()

    def images(self, latents: torch.Tensor) -> torch.Tensor:
        """The generator's images of these latents in the observation's (normalised) data space."""
        return self.obs.normalization.normalize(self.generator(latents))

    def __call__(self, latents: torch.Tensor, create_graph: bool = False) -> torch.Tensor:
        """Loss of each latent (rows of `latents`); differentiable w.r.t. them when `create_graph`."""
        images = self.images(latents)
        losses = []
        for image in images:
            dummy = model_gradient(
                self.obs.model, self.parameters, self.buffers, image[None], self.labels, create_graph
            )
            loss = squared_distance(dummy, self.obs.gradient) / len(dummy)
            losses.append(loss + self.tv * total_variation(image[None]) if self.tv else loss)
        return torch.stack(losses) + self.kl_weight * kl_divergence(latents)


def search_cma(objective: LatentLoss, size: int, budget: int, seed: int, bar) -> tuple[float, np.ndarray, int]:
    """CMA-ES from the zero latent (step size 1) for `budget` evaluations; best loss, latent, evaluations."""
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
        bar.set_postfix(loss=f"{best[0]:.3g}")
        bar.update(len(candidates))
    return (*best, strategy.countevals)


def search_adam(
    objective: LatentLoss, size: int, config: AttackConfig, seed: int, bar
) -> tuple[float, np.ndarray, int]:
    """Adam over a Gaussian-initialised latent for rec_epochs steps; best loss, latent, evaluations."""
    device = objective.obs.gradient[0].device
    latent = torch.randn(1, size, generator=torch.Generator().manual_seed(seed)).to(device).requires_grad_()
    optimizer = torch.optim.Adam([latent], lr=config.rec_lr)
    best = (math.inf, latent.detach().cpu().numpy()[0])
    for _ in range(config.rec_epochs):
        loss = objective(latent, create_graph=True).sum()
        value = float(loss.detach())
        if not math.isfinite(value):
            raise AttackDiverged("ggl: the gradient-matching loss became NaN/inf during the Adam search")
        if value < best[0]:
            best = (value, latent.detach().cpu().numpy()[0].copy())
        optimizer.zero_grad()
        (grad,) = torch.autograd.grad(loss, [latent])
        latent.grad = grad
        optimizer.step()
        bar.set_postfix(loss=f"{best[0]:.3g}")
        bar.update()
    return (*best, config.rec_epochs)


def run(obs: Observation, config: AttackConfig) -> Reconstruction:
    if obs.num_images != 1:
        raise UsageError(f"--rec_batch_size {obs.num_images}: ggl handles 1 image per batch (its label is iDLG's)")
    options = config.options
    generator, meta = load_image_generator(options.get("generator"), obs.image_shape)
    generator = generator.to(obs.gradient[0].device)
    try:
        labels = restore_labels(obs)
    except ValueError as error:
        raise UsageError(f"ggl: {error}") from None
    obs.model.train(obs.model_mode == "train")
    objective = LatentLoss(obs, config, generator, labels)
    search = options.get("search", "cma")
    budget = options.get("budget", 2000)
    steps = budget if search == "cma" else config.rec_epochs
    best, evaluations = (math.inf, None), 0
    with loss_bar(steps * config.restarts, f"ggl {search}", config.progress) as bar:
        for trial in range(config.restarts):
            seed = config.seed * 1000 + trial
            if search == "cma":
                result = search_cma(objective, meta["latent"], budget, seed, bar)
            else:
                result = search_adam(objective, meta["latent"], config, seed, bar)
            evaluations += result[2]
            best = min(best, result[:2], key=lambda item: item[0])
    loss, latent = best
    with torch.no_grad():
        images = objective.images(torch.tensor(latent[None], dtype=torch.float32, device=obs.gradient[0].device))
    energy = float(sum((g**2).sum() for g in obs.gradient))
    return Reconstruction(
        images=obs.normalization.clamp(images),
        labels=labels,
        stats={
            "loss": loss,
            "relative_loss": loss * len(obs.gradient) / max(energy, 1e-30),
            "search": search,
            "evaluations": evaluations,
            "iterations": evaluations,
            "generator": meta["dataset"],
            "generator_steps": meta["steps"],
            "latent": meta["latent"],
        },
    )


SPEC = AttackSpec(
    name="ggl",
    run=run,
    defaults={"rec_epochs": 1000, "rec_lr": 0.1, "tv": 0.0},
    needs="one image per batch, a final linear layer (iDLG label) and a generator trained on the domain (--generator)",
    max_batch=1,
    flags=(GENERATOR, BUDGET, SEARCH, KL_WEIGHT),
)
