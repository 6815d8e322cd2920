"""DLG's configuration (attacks/dlg.py): L-BFGS gradient matching of images and soft labels."""

from dataclasses import dataclass

from fedprivacy.attacks.capabilities import Capabilities
from fedprivacy.attacks.config.fields import budget, restarts, step_size, tv_weight
from fedprivacy.attacks.options import option
from fedprivacy.attacks.spec import AttackSpec, Budget, Preset

EVALUATIONS_PER_STEP = 25  # torch.optim.LBFGS: max_iter 20 inner iterations, max_eval 1.25 x 20 evaluations


@dataclass(frozen=True)
class DLGOptions:
    """DLG's hyperparameters (Zhu et al.'s defaults)."""

    steps: int = budget(
        300,
        "L-BFGS steps",
        f"L-BFGS steps per trial, each at most 20 iterations and {EVALUATIONS_PER_STEP} gradient evaluations",
    )
    lr: float = step_size(1.0, "L-BFGS")
    tv: float = tv_weight(0.0)
    restarts: int = restarts("lowest gradient distance")
    float64: bool = option(
        False,
        "match gradients in float64 (a few dB more where float32 stops short; slow on most GPUs)",
        aliases=("float64",),
    )


def lbfgs_budget(options: DLGOptions) -> Budget:
    """L-BFGS steps evaluate the distance up to EVALUATIONS_PER_STEP times each (fewer once converged)."""
    return Budget(
        options.steps * options.restarts * EVALUATIONS_PER_STEP,
        exact=False,
        unit=f"{options.steps} L-BFGS steps x {options.restarts} trial(s)",
    )


PAPER = Preset("Zhu et al. 2019: L-BFGS at lr 1 for 300 steps", {"steps": 300, "lr": 1.0, "tv": 0.0})
ORIGINAL = Preset("the original implementation's experiments/*/dlg.sh: the paper's settings", inherits="paper")

SPEC = AttackSpec(
    name="dlg",
    summary="Deep Leakage from Gradients: L-BFGS matches images and soft labels to the gradient",
    method="fedprivacy.attacks.dlg",
    options=DLGOptions,
    needs=Capabilities(second_order=True),
    budget=lbfgs_budget,
    presets={"paper": PAPER, "original": ORIGINAL},
)
