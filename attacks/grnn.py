"""GRNN, the Generative Regression Neural Network (Ren, Deng and Xie, ACM TIST 2022).

A generator maps one fixed noise vector per image to the whole fake batch: images and label
distributions. Its weights (not the pixels) are trained with RMSprop (momentum 0.99) so that the
fake batch's gradient matches the shared one under the official code's loss

    loss = ||g' - g||^2 + ||g' - g|| + tv * TV2(x'),

where the paper calls the middle term a Wasserstein distance and the official code (as the original
implementation) computes the L2 norm of the gradient difference, and TV2 is the official TVLoss: twice the
mean squared difference of neighbouring pixels. On one shared observation (benchmarks fidelity_grnn: GRNN's
LeNet-5, MNIST batch 16, 1000 iterations) the paper's exact one-dimensional Wasserstein distance with an
absolute-difference TV gave 10.2 / 10.9 dB (two seeds), the code's terms 11.4 / 11.2 dB, the official code
11.1 dB and the original implementation 11.5 dB. The generator ends in a sigmoid over pixels that the
observation's normalisation maps into the data space, so its output spans exactly the valid pixel box in both
the normalised and the raw space. The lowest-loss iterate of the lowest-loss trial is returned.
"""

import math
from dataclasses import dataclass, field

import torch
from torch.func import functional_call, stack_module_state, vmap
from tqdm import tqdm

from fedprivacy.attacks.base import Reconstruction
from fedprivacy.attacks.config.grnn import GRNNOptions
from fedprivacy.attacks.evidence import RELATIVE_DISTANCE, Curve, match_stats, trial_evidence
from fedprivacy.attacks.restarts import best_of_batches
from fedprivacy.attacks.spec import AttackConfig
from fedprivacy.fl.observation import Observation
from fedprivacy.models.generators import GRNNGenerator
from fedprivacy.utils.gradients import func_model_gradient, trial_buffers
from fedprivacy.utils.progress import loss_bar

LATENT = 128  # the paper's generator input size
MOMENTUM = 0.99  # RMSprop momentum of the official code


def squared_total_variation(images: torch.Tensor) -> torch.Tensor:
    """The official code's TVLoss: twice the sum of the mean squared vertical and horizontal neighbour differences."""
    return (
        2 * ((images[..., 1:, :] - images[..., :-1, :]) ** 2).mean()
        + 2 * ((images[..., :, 1:] - images[..., :, :-1]) ** 2).mean()
    )


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


def run_trials(obs: Observation, config: AttackConfig[GRNNOptions], seeds: list[int], bar: tqdm) -> list[Trial]:
    """Train one generator per seed for `iterations` RMSprop steps, all at once (vmap over the stacked
    generators when there are several). The trials share nothing: losses, gradients and RMSprop's
    element-wise state are per trial, so each ends where it would alone, up to float rounding; a trial
    whose loss turns NaN/inf stops and the others go on."""
    count = len(seeds)
    energy = float(sum((g**2).sum() for g in obs.gradient))
    shape, weights, generator_buffers, noise = fresh_generators(obs, seeds)
    optimizer = torch.optim.RMSprop(list(weights.values()), lr=config.options.lr, momentum=MOMENTUM)
    parameters, model_buffers = obs.parameters(), trial_buffers(obs.buffers(), count)

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
    for step in range(config.options.iterations):
        images, probabilities, dummy = all_trials()
        l2 = sum(((d - g) ** 2).flatten(1).sum(dim=1) for d, g in zip(dummy, obs.gradient, strict=True))
        terms = {"l2": l2, "norm": l2.clamp_min(1e-30).sqrt()}
        if config.options.tv:
            terms["tv"] = config.options.tv * vmap(squared_total_variation)(images)
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


def run(obs: Observation, config: AttackConfig[GRNNOptions]) -> Reconstruction:
    energy = float(sum((g**2).sum() for g in obs.gradient))

    def trial_batch(indices: range) -> list[tuple[float, Trial]]:
        results = run_trials(obs, config, [config.seed * 1000 + index for index in indices], bar)
        return [((result.loss if result.images is not None else math.inf), result) for result in results]

    batch = config.trials_at_once
    with loss_bar(config.options.iterations * config.options.restarts, "grnn", config.progress) as bar:
        best = best_of_batches("grnn", config.options.restarts, batch, trial_batch, bar)
    kept = best.result
    relative = kept.terms["l2"] / max(energy, 1e-30)
    matches, others = trial_evidence(
        best.finished,
        kept,
        lambda _, trial: trial.terms["l2"] / max(energy, 1e-30),
        lambda trial: obs.normalization.clamp(trial.images),
    )
    evaluations = config.options.iterations * best.trials  # one simulated gradient per iteration and trial
    return Reconstruction(
        images=obs.normalization.clamp(kept.images),
        labels=kept.labels,
        alternatives=others,
        stats={
            "first_loss": kept.first_loss,
            "loss": kept.loss,
            "gradient_distance": kept.terms["l2"],
            "relative_distance": relative,
            "gradient_norm": kept.terms["norm"],
            "trials": best.trials,
            "trial_batch": batch,
            "diverged_trials": best.diverged,
            "iterations": config.options.iterations * config.options.restarts,
            **match_stats(RELATIVE_DISTANCE, relative, kept.curve.finish(kept.curve.seen), matches, evaluations),
        },
    )
