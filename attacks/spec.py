"""An attack as data: its name, where its method lives, the dataclass of its options (every hyperparameter
with its default, in one place), what it needs, how main_grad's simulated client trains for it, and its named
presets; and AttackConfig, one run's knobs around those options. Nothing here imports torch: --help and the
flag checks read the registry without loading an attack; AttackSpec.run loads the method when it runs."""

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from fedprivacy.attacks.capabilities import Capabilities
from fedprivacy.attacks.options import When
from fedprivacy.utils.errors import UsageError

if TYPE_CHECKING:
    from fedprivacy.attacks.base import Reconstruction
    from fedprivacy.fl.observation import Observation

Options = TypeVar("Options")


@dataclass(frozen=True)
class AttackConfig(Generic[Options]):
    """One run of an attack: its options (an instance of its spec's options dataclass) and the run's knobs,
    which never change what the attack computes, only how: the seed, the progress bar, the processes the
    L-BFGS attacks run their trials in (cli: --threads) and how many trials the Adam-family attacks batch."""

    options: Options
    seed: int = 0
    progress: bool | str = True  # False: none; True or "auto": a bar on a terminal, else log lines; "bar"; "lines"
    workers: int = 1
    trial_batch: int | None = None  # None: all of the options' restarts at once
    min_trials: int = 1  # trials run before a good-enough one may stop the restarts (the audit: 2, for the spread)

    @property
    def trials_at_once(self) -> int:
        """How many trials the Adam-family attacks run as one batched computation (1 without restarts)."""
        return self.trial_batch or getattr(self.options, "restarts", 1)

    def settings(self) -> dict[str, Any]:
        """What the report records: every option as resolved, and the knobs that shape the computation."""
        return {**vars(self.options), "trial_batch": self.trials_at_once, "workers": self.workers}


@dataclass(frozen=True)
class Budget:
    """What an attack's options let it spend, in gradient evaluations (one simulated gradient or update of the
    batch with its backward pass): exactly that many, or at most (L-BFGS line searches, early stops); `unit` says
    it in the attack's own terms (e.g. 300 L-BFGS steps x 4 trials), for the cost line and the dry run."""

    evaluations: int
    exact: bool = True
    restarts: bool = True  # whether the attack runs restart trials (the audit runs at least two)
    unit: str = "steps"

    def words(self) -> str:
        if self.evaluations == 0:
            return self.unit
        return f"{'' if self.exact else 'at most '}{self.evaluations:,} gradient evaluations: {self.unit}"


@dataclass(frozen=True)
class Preset:
    """Named settings of one attack (a paper's, the original implementation's): option values over those of
    the preset it `inherits` (of the same attack), as breaching's config/attack/*.yaml."""

    about: str
    values: Mapping[str, Any] = field(default_factory=dict)
    inherits: str | None = None


@dataclass(frozen=True)
class SimulatedClient:
    """How main_grad's simulated client trains before it shares the update an attack on updates matches (the
    paper's setting): `epochs` passes over its batch in mini-batches of `batch_size` (None: the whole batch,
    one step per epoch) at `lr`; `equal_batches`: the mini-batch size must divide the batch."""

    epochs: int
    lr: float
    batch_size: int | None = None
    momentum: float = 0.0
    weight_decay: float = 0.0
    equal_batches: bool = False


@dataclass(frozen=True)
class AttackSpec:
    """A registered attack. `method` names the module whose `run(observation, config)` is the attack;
    `budget` says what a run of the given options costs (attacks/cost.py times it); `client` is set for attacks
    on weight updates; `batches_trials`: whether --trial_batch has an effect (always, never, or When its options
    say)."""

    name: str
    summary: str
    method: str
    options: type
    needs: Capabilities
    budget: Callable[[Any], Budget]
    client: SimulatedClient | None = None
    presets: Mapping[str, Preset] = field(default_factory=dict)
    batches_trials: bool | When = False

    def preset(self, name: str) -> dict[str, Any]:
        """The option values of preset `name`, inherited ones first (a UsageError naming the known ones)."""
        if name not in self.presets:
            known = ", ".join(f"{self.name}.{key}" for key in self.presets) or "none"
            raise UsageError(f"--preset {self.name}.{name} is unknown; {self.name} has: {known}")
        preset = self.presets[name]
        inherited = {} if preset.inherits is None else self.preset(preset.inherits)
        return {**inherited, **preset.values}

    def options_with(self, preset: str | None = None, **values: Any) -> Any:
        """The attack's options: its defaults, then the preset's values, then `values` (by field name, or by a
        field's older flat name such as rec_epochs)."""
        older = {alias: item.name for item in fields(self.options) for alias in item.metadata["aliases"]}
        given = {older.get(key, key): value for key, value in values.items()}
        unknown = sorted(set(given) - {item.name for item in fields(self.options)})
        if unknown:
            raise TypeError(f"{self.name} has no option(s) {unknown}")
        return self.options(**{**(self.preset(preset) if preset else {}), **given})

    def configure(self, preset: str | None = None, **values: Any) -> AttackConfig:
        """An AttackConfig from option values and run knobs by name (seed, progress, workers, trial_batch)."""
        knobs = {item.name for item in fields(AttackConfig)} - {"options"}
        run = {key: values.pop(key) for key in list(values) if key in knobs}
        return AttackConfig(self.options_with(preset, **values), **run)

    def method_run(self) -> Callable[["Observation", AttackConfig], "Reconstruction"]:
        """The attack's method, loaded on first use."""
        return importlib.import_module(self.method).run

    def check(self, obs: "Observation") -> None:
        """One-line UsageError when `obs` lacks what the attack needs (attacks/fits.py)."""
        from fedprivacy.attacks.base import check_observation

        check_observation(self, obs)

    def run(self, obs: "Observation", config: AttackConfig) -> "Reconstruction":
        """Check the observation against the needs, put the model in the client's mode, and attack."""
        from fedprivacy.attacks.base import run_attack

        return run_attack(self, obs, config)
