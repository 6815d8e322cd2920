"""The Cocktail Party Attack's configuration (attacks/cpa.py): ICA of the first linear layer's gradient, then
feature inversion on convolutional models."""

from dataclasses import dataclass

from fedprivacy.attacks.capabilities import Capabilities
from fedprivacy.attacks.config.fields import budget, step_size, tv_weight
from fedprivacy.attacks.options import When, option
from fedprivacy.attacks.spec import AttackSpec, Budget, Preset
from fedprivacy.models import BUILDERS, FULLY_CONNECTED
from fedprivacy.utils.domains import COUNT, NON_NEGATIVE, POSITIVE

# Feature inversion runs only where the first linear layer sees embeddings, not the image itself.
CONVOLUTIONAL = When("model", tuple(name for name in BUILDERS if name not in FULLY_CONNECTED), flag=True)


@dataclass(frozen=True)
class CPAOptions:
    """CPA's hyperparameters (the paper's FC-2 settings, with a CPU budget of iterations)."""

    iterations: int = budget(1000, "iterations", "Adam iterations of the unmixing matrix")
    lr: float = step_size(1e-3, "Adam on the unmixing matrix")
    tv: float = tv_weight(3.1, "image sources and on the feature inversion's images")
    decor: float = option(1.47, "weight of the decorrelation penalty", NON_NEGATIVE, aliases=("decor",))
    temperature: float = option(12.4, "temperature T of the decorrelation penalty", POSITIVE, aliases=("T",))
    one_sign: float = option(0.0, "weight of the one-sign prior on embeddings", NON_NEGATIVE, aliases=("nv",))
    l1: float = option(0.0, "weight of the sparsity prior on embeddings", NON_NEGATIVE, aliases=("l1",))
    fi_weight: float = option(
        1.0,
        "weight of the feature-inversion loss (convolutional models); 0 = skip",
        NON_NEGATIVE,
        aliases=("fi",),
        only=CONVOLUTIONAL,
    )
    fi_lr: float = option(
        0.1, "Adam step size of the feature inversion", POSITIVE, aliases=("fi_lr",), only=CONVOLUTIONAL
    )
    fi_iterations: int = option(
        1000,
        "Adam iterations of the feature inversion",
        COUNT,
        unit="iterations",
        aliases=("fi_epochs",),
        only=CONVOLUTIONAL,
    )


def unmixing_budget(options: CPAOptions) -> Budget:
    """The unmixing needs no gradient evaluation of the model; the feature inversion (convolutional models only)
    one per iteration."""
    unit = (
        f"{options.iterations} Adam iterations of the unmixing, then up to {options.fi_iterations} of the "
        "feature inversion on a convolutional model"
    )
    return Budget(options.fi_iterations if options.fi_weight else 0, exact=False, restarts=False, unit=unit)


PAPER = Preset(
    "Kariyappa et al. 2023, FC-2: 25000 Adam iterations at lr 1e-3, decor 1.47, T 12.4, TV 3.1",
    {"iterations": 25000, "lr": 1e-3, "decor": 1.47, "temperature": 12.4, "tv": 3.1},
)
ORIGINAL_VGG16 = Preset(
    "the original implementation's VGG-16 settings: decor 5.3, T 7.7, TV 0.1, one-sign 0.13, l1 5, feature inversion",
    {"decor": 5.3, "temperature": 7.7, "tv": 0.1, "one_sign": 0.13, "l1": 5.0, "fi_weight": 1.0},
    inherits="paper",
)

SPEC = AttackSpec(
    name="cpa",
    summary="Cocktail Party Attack: independent component analysis of the first linear layer's gradient",
    method="fedprivacy.attacks.cpa",
    options=CPAOptions,
    needs=Capabilities(label_layer=True, linear_width=True, min_batch=2),
    budget=unmixing_budget,
    presets={"paper": PAPER, "original_vgg16": ORIGINAL_VGG16},
)
