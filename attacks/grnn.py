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
from torch.func import functional_call, stack_module_state, vmap
from tqdm import tqdm

from fedprivacy.attacks.base import AttackConfig, AttackSpec, Reconstruction
from fedprivacy.attacks.capabilities import Capabilities
from fedprivacy.attacks.evidence import RELATIVE_DISTANCE, Curve, match_stats, trial_evidence
from fedprivacy.attacks.restarts import best_of_batches
from fedprivacy.fl.observation import Observation
from fedprivacy.models.generators import GRNNGenerator
from fedprivacy.utils.gradients import func_model_gradient, total_variation, trial_buffers
from fedprivacy.utils.progress import loss_bar

LATENT = 128  # the paper's generator input size
MOMENTUM = 0.99  # RMSprop momentum of the official code
SAMPLE = 2**16  # gradient entries the Wasserstein term compares when the model has more (sorting is slow)


def wasserstein_distance(first: torch.Tensor, second_sorted: torch.Tensor) -> torch.Tensor:
    """1-Wasserstein distance between the empirical distributions of two equally long vectors
    (the second given sorted): the mean gap between their sorted values; row by row for matrices."""
    return (torch.sort(first, dim=-1).values - second_sorted).abs().mean(dim=-1)


def sample_entries(size: int, seed: int) -> torch.Tensor | None:
    """A fixed random subset of SAMPLE gradient entries for a large model (None: use them all)."""
    if size <= SAMPLE:
        return None
    return torch.randint(size, (SAMPLE,), generator=torch.Generator().manual_seed(seed))


def flat(tensors: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """R trials' tensors (each with a leading dimension R) as one R x N matrix."""
    return torch.cat([t.flatten(1) for t in tensors], dim=1)


def sampled(matrix: torch.Tensor, entries: torch.Tensor | None) -> torch.Tensor:
    """Each row's entries at its own indices (R x SAMPLE), or the whole matrix."""
    return matrix if entries is None else torch.gather(matrix, 1, entries)


@dataclass
class Trial:
    """One generator's training: its first loss and its lowest-loss iterate (images None if it diverged), and
    the curve of its squared gradient distance."""

    first_loss: float = math.inf
    loss: float = math.inf
    terms: dict = field(default_factory=dict)
    images: torch.Tensor | None = None
    labels: torch.Tensor | None = None
    curve: Curve = field(default_factory=Curve)


def fresh_generators(obs: Observation, seeds: list[int]) -> tuple[GRNNGenerator, dict, dict, torch.Tensor]:
    """One freshly initialised generator and noise batch per seed, as stacked weights and buffers (leading
    dimension R) for torch.func, the module that gives their shape, and the R x B x LATENT noise."""
    channels, height, width = obs.image_shape
    generators, noises = [], []
    for seed in seeds:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            generators.append(GRNNGenerator(LATENT, channels, (height, width), obs.num_classes).train())
            noises.append(torch.randn(obs.num_images, LATENT))
    weights, buffers = stack_module_state([generator.to(obs.device) for generator in generators])
    return generators[0], weights, buffers, torch.stack(noises).to(obs.device)


def run_trials(obs: Observation, config: AttackConfig, seeds: list[int], bar: tqdm) -> list[Trial]:
    """Train one generator per seed for rec_epochs RMSprop steps, all at once (vmap over the stacked
    generators when there are several). The trials share nothing: losses, gradients and RMSprop's
    element-wise state are per trial, so each ends where it would alone, up to float rounding; a trial
    whose loss turns NaN/inf stops and the others go on."""
    count = len(seeds)
    energy = float(sum((g**2).sum() for g in obs.gradient))
    shape, weights, generator_buffers, noise = fresh_generators(obs, seeds)
    optimizer = torch.optim.RMSprop(list(weights.values()), lr=config.rec_lr, momentum=MOMENTUM)
    parameters, model_buffers = obs.parameters(), trial_buffers(obs.buffers(), count)
    shared = flat(tuple(g.unsqueeze(0) for g in obs.gradient))
    picks = [sample_entries(shared.shape[1], seed) for seed in seeds]
    entries = None if picks[0] is None else torch.stack(picks).to(obs.device)
    target = torch.sort(sampled(shared.expand(count, -1), entries), dim=1).values

    def fake_batch(own_weights: dict, own_buffers: dict, own_model_buffers: dict, own_noise: torch.Tensor) -> tuple:
        pixels, probabilities = functional_call(shape, (own_weights, own_buffers), (own_noise,))
        images = obs.normalization.normalize(pixels)
        return (
            images,
            probabilities,
            func_model_gradient(obs.model, parameters, own_model_buffers, images, probabilities),
        )

    def all_trials() -> tuple:
        if count > 1:
            return vmap(fake_batch)(weights, generator_buffers, model_buffers, noise)
        first = [{name: t[0] for name, t in part.items()} for part in (weights, generator_buffers, model_buffers)]
        images, probabilities, dummy = fake_batch(*first, noise[0])  # one trial: no vmap, which costs time
        return images.unsqueeze(0), probabilities.unsqueeze(0), tuple(g.unsqueeze(0) for g in dummy)

    trials = [Trial() for _ in seeds]
    running = list(range(count))
    for step in range(config.rec_epochs):
        images, probabilities, dummy = all_trials()
        terms = {
            "l2": sum(((d - g) ** 2).flatten(1).sum(dim=1) for d, g in zip(dummy, obs.gradient, strict=True)),
            "wasserstein": wasserstein_distance(sampled(flat(dummy), entries), target),
        }
        if config.tv:
            terms["tv"] = config.tv * vmap(total_variation)(images)
        loss = sum(terms.values())
        values, distances = loss.detach().tolist(), terms["l2"].detach().tolist()
        for index in list(running):
            trial, value = trials[index], values[index]
            if not math.isfinite(value):
                trials[index] = Trial(first_loss=trial.first_loss)
                running.remove(index)
                continue
            trial.curve.add(step + 1, distances[index] / max(energy, 1e-30))
            if step == 0:
                trial.first_loss = value
            if value < trial.loss:
                trial.loss, trial.images = value, images[index].detach()
                trial.labels = probabilities[index].detach().argmax(dim=1)
                trial.terms = {name: term[index].detach() for name, term in terms.items()}
        if not running:
            break
        optimizer.zero_grad()
        loss.sum().backward()
        optimizer.step()
        bar.set_postfix(loss=f"{min(values[index] for index in running):.3g}")
        bar.update(len(running))
    for trial in trials:
        trial.terms = {name: float(term) for name, term in trial.terms.items()}
    return trials


def run(obs: Observation, config: AttackConfig) -> Reconstruction:
    obs.model_in_mode()
    energy = float(sum((g**2).sum() for g in obs.gradient))

    def trial_batch(indices: range) -> list[tuple[float, Trial]]:
        results = run_trials(obs, config, [config.seed * 1000 + index for index in indices], bar)
        return [((result.loss if result.images is not None else math.inf), result) for result in results]

    batch = config.trials_at_once
    with loss_bar(config.rec_epochs * config.restarts, "grnn", config.progress) as bar:
        best = best_of_batches("grnn", config.restarts, batch, trial_batch, bar)
    kept = best.result
    relative = kept.terms["l2"] / max(energy, 1e-30)
    matches, others = trial_evidence(
        best.finished,
        kept,
        lambda _, trial: trial.terms["l2"] / max(energy, 1e-30),
        lambda trial: obs.normalization.clamp(trial.images),
    )
    evaluations = config.rec_epochs * best.trials  # one simulated gradient per iteration and trial
    return Reconstruction(
        images=obs.normalization.clamp(kept.images),
        labels=kept.labels,
        alternatives=others,
        stats={
            "first_loss": kept.first_loss,
            "loss": kept.loss,
            "gradient_distance": kept.terms["l2"],
            "relative_distance": relative,
            "wasserstein": kept.terms["wasserstein"],
            "trials": best.trials,
            "trial_batch": batch,
            "diverged_trials": best.diverged,
            "iterations": config.rec_epochs * config.restarts,
            **match_stats(RELATIVE_DISTANCE, relative, kept.curve.finish(kept.curve.seen), matches, evaluations),
        },
    )


SPEC = AttackSpec(
    name="grnn",
    attack=run,
    defaults={"rec_epochs": 1000, "rec_lr": 1e-4, "tv": 1e-3},
    needs=Capabilities(second_order=True),
)
