"""The configuration of the three Inverting Gradients variants (attacks/inverting.py): one options dataclass,
three sets of defaults (the original implementation's), and how main_grad's client trains for the two that
attack a weight update."""

from dataclasses import dataclass

from fedprivacy.attacks.capabilities import Capabilities
from fedprivacy.attacks.config.fields import budget, label_strategy, restarts, step_size, tv_weight
from fedprivacy.attacks.options import option, with_defaults
from fedprivacy.attacks.spec import AttackSpec, Budget, Preset, SimulatedClient

NEEDS = Capabilities(known_labels=True, label_layer=True, second_order=True)


@dataclass(frozen=True)
class InvertingOptions:
    """The hyperparameters of ig_single, ig_weight and ig_multi."""

    iterations: int = budget(4000, "iterations", "signed-Adam iterations per trial (lr drops tenfold at 3/8, 5/8, 7/8)")
    lr: float = step_size(0.1, "signed Adam")
    tv: float = tv_weight(1e-6)
    restarts: int = restarts("best final cosine match")
    label_strategy: str = label_strategy()
    layer_weights: str = option(
        "equal",
        "per-layer weights of the cosine loss: equal; linear or exp favour the first layers (Geiping et al.)",
        choices=("equal", "linear", "exp"),
        aliases=("layer_weights",),
    )


def adam_budget(options: InvertingOptions) -> Budget:
    """One simulated gradient (or update) per iteration and trial."""
    unit = f"{options.iterations} signed-Adam iterations x {options.restarts} trial(s)"
    return Budget(options.iterations * options.restarts, unit=unit)


IgSingleOptions = with_defaults(InvertingOptions, "IgSingleOptions", "ig_single's hyperparameters.", iterations=4000)
IgWeightOptions = with_defaults(InvertingOptions, "IgWeightOptions", "ig_weight's hyperparameters.", iterations=8000)
IgMultiOptions = with_defaults(
    InvertingOptions, "IgMultiOptions", "ig_multi's hyperparameters.", iterations=24000, lr=1.0
)


def variant(name: str, summary: str, options: type, client: SimulatedClient | None) -> AttackSpec:
    """One variant with its own options class, whose defaults are also its `original` preset."""
    defaults = {key: getattr(options(), key) for key in ("iterations", "lr", "tv")}
    about = "the original implementation's {}: {iterations} iterations at lr {lr:g}, TV {tv:g}".format(name, **defaults)
    needs = NEEDS if client is None else Capabilities(**{**vars(NEEDS), "update": True, "one_client": True})
    return AttackSpec(
        name,
        summary,
        f"fedprivacy.attacks.{name}",
        options,
        needs,
        adam_budget,
        client,
        {"original": Preset(about, defaults)},
        batches_trials=True,
    )


SPECS = (
    variant(
        "ig_single", "Inverting Gradients on one gradient (FedSGD): cosine matching, signed Adam", IgSingleOptions, None
    ),
    variant(
        "ig_weight",
        "Inverting Gradients on a weight update after full-batch SGD steps, differentiated through",
        IgWeightOptions,
        SimulatedClient(epochs=5, lr=1e-4),
    ),
    variant(
        "ig_multi",
        "Inverting Gradients on a multi-step, multi-image update, all images at once",
        IgMultiOptions,
        SimulatedClient(epochs=1, lr=1e-4, batch_size=1, equal_batches=True),
    ),
)
