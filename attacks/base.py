"""The shared attack interface: what an attack needs and its options, settings in, images and labels out."""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from fedprivacy.attacks.capabilities import Capabilities, check
from fedprivacy.fl.observation import Observation
from fedprivacy.utils.errors import AttackDiverged


@dataclass(frozen=True)
class AttackConfig:
    """Settings common to the optimisation attacks (each attack documents which it uses), and the
    attack's own options: an instance of its spec's `options` dataclass (None: the defaults)."""

    rec_epochs: int
    rec_lr: float
    tv: float
    restarts: int = 1
    seed: int = 0
    progress: bool = True
    options: Any = None
    workers: int = 1  # processes the L-BFGS attacks (dlg, idlg) may run their trials in (cli: --threads)
    trial_batch: int | None = None  # trials the Adam-family attacks run as one batched computation (None: all)
    min_trials: int = 1  # trials run before a good-enough one may stop the restarts (the audit: 2, for the spread)

    @property
    def trials_at_once(self) -> int:
        """How many trials the Adam-family attacks run as one batched computation."""
        return self.trial_batch or self.restarts


@dataclass
class Reconstruction:
    """An attack's answer: images in the normalised space (clamped to the pixel box) and labels."""

    images: torch.Tensor
    labels: torch.Tensor
    stats: dict = field(default_factory=dict)
    alternatives: list[tuple[float, torch.Tensor]] = field(default_factory=list)  # other trials' (match, images)


@dataclass(frozen=True)
class Budget:
    """What an attack's settings let it spend, in gradient evaluations (one simulated gradient or update of
    the batch with its backward pass): exactly that many, or at most (L-BFGS line searches, early stops)."""

    evaluations: int
    exact: bool = True
    restarts: bool = True  # whether the attack runs restart trials (the audit runs at least two)
    unit: str = "steps"  # what the attack's steps are, for the cost line


def steps_budget(config: AttackConfig) -> Budget:
    """The budget of an attack taking one gradient evaluation per step and trial."""
    return Budget(config.rec_epochs * config.restarts)


@dataclass(frozen=True)
class AttackSpec:
    """A registered attack: its method, default settings, what it needs from the observation and the
    dataclass of its own options (attacks/options.py; None when it has none)."""

    name: str
    attack: Callable[[Observation, AttackConfig], Reconstruction]
    defaults: dict[str, float]
    needs: Capabilities
    options: type | None = None
    budget: Callable[[AttackConfig], Budget] = steps_budget

    def check(self, obs: Observation) -> None:
        """One-line UsageError when `obs` lacks what the attack needs (attacks/capabilities.py)."""
        check(
            self.name,
            self.needs,
            obs.model,
            obs.num_images,
            obs.num_classes,
            update=obs.update is not None,
            labels=obs.labels is not None,
            aggregate=obs.num_clients is not None,
        )

    def run(self, obs: Observation, config: AttackConfig) -> Reconstruction:
        """Check the observation, fill in the default options, and attack."""
        self.check(obs)
        if config.options is None and self.options is not None:
            config = replace(config, options=self.options())
        try:
            return self.attack(obs, config)
        except RuntimeError as error:  # torch cannot take a step beyond float32 (e.g. --rec_lr 1e38 with Adam)
            if "without overflow" not in str(error):
                raise
            raise AttackDiverged(f"{self.name}: a step overflowed float32 ({str(error).splitlines()[0]})") from None
