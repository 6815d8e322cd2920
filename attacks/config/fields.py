"""Option fields several attacks share (each attack still declares its own, with its own default): the
budget, the step size, the TV prior, the restarts and the label-restoration strategy."""

from typing import Any

from fedprivacy.attacks.options import When, option
from fedprivacy.utils.domains import COUNT, NON_NEGATIVE, POSITIVE

LABEL_STRATEGIES = ("count", "llg", "ilrg")  # attacks/label_strategies.py implements them, in this order


def budget(default: int, unit: str, help: str, only: When | None = None) -> Any:
    """The attack's optimisation budget, in `unit` (older flag: --rec_epochs); `only`: when it has an effect."""
    return option(default, help, COUNT, unit=unit, aliases=("rec_epochs",), only=only)


def step_size(default: float, optimiser: str, only: When | None = None) -> Any:
    """The optimiser's step size (older flag: --rec_lr); `only`: when it has an effect."""
    return option(default, f"step size of {optimiser}", POSITIVE, aliases=("rec_lr",), only=only)


def tv_weight(default: float, applied_to: str = "the images") -> Any:
    """The weight of the total-variation prior (older flag: --tv)."""
    return option(default, f"weight of the total-variation prior on {applied_to}", NON_NEGATIVE, aliases=("tv",))


def restarts(judged_by: str) -> Any:
    """Trials from fresh starts, the best kept (older flag: --restarts)."""
    return option(1, f"trials per batch from fresh starts; the one with the {judged_by} is kept", COUNT,
                  unit="trials", aliases=("restarts",))  # fmt: skip


def label_strategy() -> Any:
    """How the labels are read off the last layer's gradient (older flag: --label_strategy); only when they are
    restored, not granted with --known_labels."""
    return option(
        "count",
        "how the server restores the batch labels from the last layer's gradient: count estimation, LLG "
        "(Wainakh et al.) or iLRG (Ma et al.); see attacks/label_strategies.py",
        choices=LABEL_STRATEGIES,
        aliases=("label_strategy",),
        only=When("known_labels", (False,), flag=True),
    )
