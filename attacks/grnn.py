"""GRNN, the Generative Regression Neural Network (Ren, Deng and Xie, ACM TIST 2022).

A generator maps one fixed noise vector per image to the whole fake batch: images and label
distributions. Its weights (not the pixels) are trained with RMSprop (momentum 0.99) so that the
fake batch's gradient matches the shared one under

    loss = ||g' - g||^2 + W1(g', g) + tv * TV(x'),

where W1 is the paper's Wasserstein distance between the distributions of the two gradients'
entries (exact in one dimension: the mean gap between the sorted values; the official code
computed an L2 norm instead). For models with more than 65,536 parameters it compares the
distributions on a fixed random subset of that many entries, since sorting millions of values
every iteration would dominate the run time on a CPU. The generator ends in a sigmoid over pixels that the observation's
normalisation maps into the data space, so its output spans exactly the valid pixel box in both the
normalised and the raw space. The lowest-loss iterate of the lowest-loss trial is returned.
"""

import math
from dataclasses import dataclass, field

import torch
from tqdm import tqdm

from attacks.base import AttackConfig, AttackSpec, Reconstruction
from attacks.capabilities import Capabilities
from attacks.restarts import best_trial
from fl.observation import Observation
from models.generators import GRNNGenerator
from utils.gradients import model_gradient, squared_distance, total_variation
from utils.progress import loss_bar

LATENT = 128  # the paper's generator input size
MOMENTUM = 0.99  # RMSprop momentum of the official code
SAMPLE = 2**16  # gradient entries the Wasserstein term compares when the model has more (sorting is slow)


def wasserstein_distance(first: torch.Tensor, second_sorted: torch.Tensor) -> torch.Tensor:
    """1-Wasserstein distance between the empirical distributions of two equally long vectors
    (the second given sorted): the mean gap between their sorted values."""
    return (torch.sort(first).values - second_sorted).abs().mean()


def sample_entries(size: int, seed: int) -> torch.Tensor | None:
    """A fixed random subset of SAMPLE gradient entries for a large model (None: use them all)."""
    if size <= SAMPLE:
        return None
    return torch.randint(size, (SAMPLE,), generator=torch.Generator().manual_seed(seed))


def flat(tensors: tuple[torch.Tensor, ...]) -> torch.Tensor:
    return torch.cat([t.reshape(-1) for t in tensors])


def sampled(vector: torch.Tensor, entries: torch.Tensor | None) -> torch.Tensor:
    return vector if entries is None else vector[entries]


@dataclass
class Trial:
    """One generator's training: its first loss and its lowest-loss iterate (images None if it diverged)."""

    first_loss: float = math.inf
    loss: float = math.inf
    terms: dict = field(default_factory=dict)
    images: torch.Tensor | None = None
    labels: torch.Tensor | None = None


def run_trial(obs: Observation, config: AttackConfig, seed: int, bar: tqdm) -> Trial:
    """Train one freshly initialised generator for rec_epochs RMSprop steps."""
    channels, height, width = obs.image_shape
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        generator = GRNNGenerator(LATENT, channels, (height, width), obs.num_classes)
        noise = torch.randn(obs.num_images, LATENT)
    device = obs.gradient[0].device
    generator, noise = generator.to(device).train(), noise.to(device)
    optimizer = torch.optim.RMSprop(generator.parameters(), lr=config.rec_lr, momentum=MOMENTUM)
    parameters, buffers = obs.parameters(), obs.buffers()
    target = flat(obs.gradient)
    entries = sample_entries(len(target), seed)
    target = torch.sort(sampled(target, None if entries is None else entries.to(device))).values
    trial = Trial()
    for step in range(config.rec_epochs):
        pixels, probabilities = generator(noise)
        images = obs.normalization.normalize(pixels)
        dummy = model_gradient(obs.model, parameters, buffers, images, probabilities)
        terms = {
            "l2": squared_distance(dummy, obs.gradient),
            "wasserstein": wasserstein_distance(sampled(flat(dummy), entries), target),
        }
        if config.tv:
            terms["tv"] = config.tv * total_variation(images)
        loss = sum(terms.values())
        value = float(loss.detach())
        if not math.isfinite(value):
            return Trial(first_loss=trial.first_loss)
        if step == 0:
            trial.first_loss = value
        if value < trial.loss:
            trial.loss, trial.images, trial.labels = value, images.detach(), probabilities.detach().argmax(dim=1)
            trial.terms = {name: float(term.detach()) for name, term in terms.items()}
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        bar.set_postfix(loss=f"{value:.3g}")
        bar.update()
    return trial


def run(obs: Observation, config: AttackConfig) -> Reconstruction:
    obs.model_in_mode()
    energy = float(sum((g**2).sum() for g in obs.gradient))

    def trial(index: int) -> tuple[float, Trial]:
        result = run_trial(obs, config, config.seed * 1000 + index, bar)
        return (result.loss if result.images is not None else math.inf), result

    with loss_bar(config.rec_epochs * config.restarts, "grnn", config.progress) as bar:
        best = best_trial("grnn", config.restarts, trial, bar)
    kept = best.result
    return Reconstruction(
        images=obs.normalization.clamp(kept.images),
        labels=kept.labels,
        stats={
            "first_loss": kept.first_loss,
            "loss": kept.loss,
            "gradient_distance": kept.terms["l2"],
            "relative_distance": kept.terms["l2"] / max(energy, 1e-30),
            "wasserstein": kept.terms["wasserstein"],
            "trials": best.trials,
            "diverged_trials": best.diverged,
            "iterations": config.rec_epochs * config.restarts,
        },
    )


SPEC = AttackSpec(
    name="grnn",
    attack=run,
    defaults={"rec_epochs": 1000, "rec_lr": 1e-4, "tv": 1e-3},
    needs=Capabilities(second_order=True),
)
