"""GRNN's configuration (attacks/grnn.py): a generator trained so that its batch's gradient matches."""

from dataclasses import dataclass

from fedprivacy.attacks.capabilities import Capabilities
from fedprivacy.attacks.config.fields import budget, restarts, step_size, tv_weight
from fedprivacy.attacks.spec import AttackSpec, Budget, Preset


@dataclass(frozen=True)
class GRNNOptions:
    """GRNN's hyperparameters (the paper's defaults)."""

    iterations: int = budget(1000, "iterations", "RMSprop iterations (generator updates) per trial")
    lr: float = step_size(1e-4, "RMSprop (momentum 0.99)")
    tv: float = tv_weight(1e-3, "the generated images")
    restarts: int = restarts("lowest loss")


PAPER = Preset(
    "Ren et al. 2022: 1000 RMSprop iterations at lr 1e-4, TV 1e-3", {"iterations": 1000, "lr": 1e-4, "tv": 1e-3}
)

SPEC = AttackSpec(
    name="grnn",
    summary="GRNN: a generator learns the batch's images and labels from the gradient",
    method="fedprivacy.attacks.grnn",
    options=GRNNOptions,
    needs=Capabilities(second_order=True),
    batches_trials=True,
    budget=lambda options: Budget(
        options.iterations * options.restarts,
        unit=f"{options.iterations} RMSprop iterations x {options.restarts} trial(s)",
    ),
    presets={
        "paper": PAPER,
        "original": Preset(
            "the original implementation's experiments/*/grnn.sh: the paper's settings", inherits="paper"
        ),
    },
)
