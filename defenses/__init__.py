"""Client-side defenses by name, their flags, and one-line checks of the flag values.

`--defense NAME` with its parameters works in main_grad.py and main_fed.py; the client applies it
(fl.client), so the attack only ever sees the defended gradient or update.
"""

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from fedprivacy.defenses.base import NO_DEFENSE, Defense
from fedprivacy.defenses.clipping import Clipping
from fedprivacy.defenses.dpsgd import DPSGD
from fedprivacy.defenses.noise import AdditiveNoise
from fedprivacy.defenses.pruning import Pruning
from fedprivacy.defenses.soteria import Soteria
from fedprivacy.utils.domains import NON_NEGATIVE, UNIT_INTERVAL_OPEN_TOP, Real
from fedprivacy.utils.errors import UsageError

__all__ = ["DEFENSES", "NO_DEFENSE", "Defense", "add_defense_arguments", "defense_from_args"]


@dataclass(frozen=True)
class Parameter:
    """A defense flag: its help text and its domain (the argparse type, which refuses any other value)."""

    help: str
    domain: Real


PARAMETERS = {
    "noise_scale": Parameter("gaussian: noise standard deviation; laplacian: scale b", NON_NEGATIVE),
    "clip_norm": Parameter(
        "clip: bound on the L2 norm of the whole share; dpsgd: per-example bound",
        Real(low=0, low_open=True, allow_inf=True),
    ),
    "noise_multiplier": Parameter("dpsgd: noise std as a multiple of --clip_norm", NON_NEGATIVE),
    "dp_delta": Parameter(
        "dpsgd: delta of the reported (epsilon, delta); default 1e-5",
        Real(low=0, high=1, low_open=True, high_open=True),
    ),
    "prune_ratio": Parameter(
        "prune: share of entries per tensor set to zero (smallest first); soteria: share of representation features",
        UNIT_INTERVAL_OPEN_TOP,
    ),
}


@dataclass(frozen=True)
class DefenseSpec:
    """A registered defense: what it does, the flags it needs, the flags it may take, and its builder."""

    summary: str
    required: tuple[str, ...]
    build: Callable[..., Defense]
    optional: tuple[str, ...] = ()


DEFENSES: dict[str, DefenseSpec] = {
    "none": DefenseSpec("share the plain gradient or update", (), lambda: NO_DEFENSE),
    "gaussian": DefenseSpec(
        "add Gaussian noise to every shared entry",
        ("noise_scale",),
        lambda noise_scale: AdditiveNoise(noise_scale, "gaussian"),
    ),
    "laplacian": DefenseSpec(
        "add Laplacian noise to every shared entry",
        ("noise_scale",),
        lambda noise_scale: AdditiveNoise(noise_scale, "laplacian"),
    ),
    "clip": DefenseSpec("clip the whole share to an L2 norm", ("clip_norm",), Clipping),
    "dpsgd": DefenseSpec(
        "DP-SGD: per-example clipping and Gaussian noise in every step, epsilon from Opacus's RDP accountant",
        ("clip_norm", "noise_multiplier"),
        lambda clip_norm, noise_multiplier, dp_delta=1e-5: DPSGD(clip_norm, noise_multiplier, dp_delta),
        optional=("dp_delta",),
    ),
    "prune": DefenseSpec("zero the smallest-magnitude entries of every shared tensor", ("prune_ratio",), Pruning),
    "soteria": DefenseSpec(
        "Soteria: zero the representation layer's gradient for the least sensitive features", ("prune_ratio",), Soteria
    ),
}


def add_defense_arguments(parser: argparse.ArgumentParser) -> None:
    """--defense and the parameters of every defense."""
    group = parser.add_argument_group("client-side defense (applied before anything is shared)")
    choices = "; ".join(f"{name}: {spec.summary}" for name, spec in DEFENSES.items())
    group.add_argument("--defense", choices=tuple(DEFENSES), default="none", help=choices)
    for name, parameter in PARAMETERS.items():
        group.add_argument(
            f"--{name}", type=parameter.domain, default=None, help=f"{parameter.help} ({parameter.domain})"
        )


def defense_from_args(args: argparse.Namespace) -> Defense:
    """The defense the flags ask for; a missing or stray parameter is a one-line UsageError (the parser
    has already refused values outside a parameter's domain)."""
    spec = DEFENSES[args.defense]
    given = {name: getattr(args, name) for name in PARAMETERS if getattr(args, name) is not None}
    for name in spec.required:
        if name not in given:
            raise UsageError(f"--defense {args.defense} needs --{name} ({PARAMETERS[name].domain})")
    for name in given:
        if name not in spec.required + spec.optional:
            raise UsageError(f"--{name} is not a parameter of --defense {args.defense}")
    return spec.build(**given)
