"""GGL's configuration (attacks/ggl.py): a search of a trained generator's latent space."""

from dataclasses import dataclass

from fedprivacy.attacks.capabilities import Capabilities
from fedprivacy.attacks.config import fields as shared
from fedprivacy.attacks.options import When, option
from fedprivacy.attacks.spec import AttackSpec, Budget, Preset
from fedprivacy.utils.domains import COUNT, NON_NEGATIVE

CMA, ADAM = When("search", ("cma",)), When("search", ("adam",))


@dataclass(frozen=True)
class GGLOptions:
    """GGL's hyperparameters: the generator, the search and its budget, the KL prior on the latent."""

    generator: str | None = option(
        None,
        "generator checkpoint from `python -m fedprivacy.cli.train_generator` (same image size and channels); required",
        aliases=("generator",),
    )
    search: str = option("cma", "CMA-ES (the paper's) or Adam over the latent", choices=("cma", "adam"),
                         aliases=("search",))  # fmt: skip
    budget: int = option(2000, "loss evaluations of one CMA-ES search", COUNT,
                         unit="evaluations", aliases=("budget",), only=CMA)  # fmt: skip
    kl_weight: float = option(0.1, "weight of the KL term on the latent", NON_NEGATIVE, aliases=("kl_weight",))
    iterations: int = shared.budget(1000, "iterations", "Adam iterations per trial", ADAM)
    lr: float = shared.step_size(0.1, "Adam over the latent", ADAM)
    tv: float = shared.tv_weight(0.0, "the generated image")
    restarts: int = shared.restarts("lowest loss")


def search_budget(options: GGLOptions) -> Budget:
    """CMA-ES spends its budget of loss evaluations per trial, Adam its iterations."""
    steps, unit = (
        (options.budget, "CMA-ES evaluations") if options.search == "cma" else (options.iterations, "Adam steps")
    )
    return Budget(steps * options.restarts, unit=f"{steps} {unit} x {options.restarts} trial(s)")


PAPER = Preset("Li et al. 2022: CMA-ES over the latent, KL weight 0.1", {"search": "cma", "kl_weight": 0.1})

SPEC = AttackSpec(
    name="ggl",
    summary="Generative Gradient Leakage: CMA-ES searches a trained generator's latent space",
    method="fedprivacy.attacks.ggl",
    options=GGLOptions,
    needs=Capabilities(label_layer=True, max_batch=1, second_order=True, generator=True),
    budget=search_budget,
    batches_trials=ADAM,  # CMA-ES searches one trial at a time
    presets={
        "paper": PAPER,
        "original": Preset("the original implementation: CMA-ES budget 25000", {"budget": 25000}, inherits="paper"),
    },
)
