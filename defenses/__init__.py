"""Client-side defenses by name, their flags, and one-line checks of the flag values.

`--defense NAME` with its parameters works in main_grad.py and main_fed.py; the client applies it
(fl.client), so the attack only ever sees the defended gradient or update.
"""

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass

from defenses.base import NO_DEFENSE, Defense
from defenses.clipping import Clipping
from defenses.dpsgd import DPSGD
from defenses.noise import AdditiveNoise
from defenses.pruning import Pruning
from defenses.soteria import Soteria
from utils.errors import UsageError

__all__ = ["DEFENSES", "NO_DEFENSE", "Defense", "add_defense_arguments", "defense_from_args"]


@dataclass(frozen=True)
class Parameter:
    """A defense flag: its help text, and the check its value must pass (with the allowed range in words)."""

    help: str
    allowed: str
    check: Callable[[float], bool]


PARAMETERS = {
    "noise_scale": Parameter(
        "gaussian: noise standard deviation; laplacian: scale b", ">= 0", lambda v: 0 <= v < math.inf
    ),
    "clip_norm": Parameter(
        "clip: bound on the L2 norm of the whole share; dpsgd: per-example bound", "> 0 (inf allowed)", lambda v: v > 0
    ),
    "noise_multiplier": Parameter("dpsgd: noise std as a multiple of --clip_norm", ">= 0", lambda v: 0 <= v < math.inf),
    "dp_delta": Parameter(
        "dpsgd: delta of the reported (epsilon, delta); default 1e-5", "in (0, 1)", lambda v: 0 < v < 1
    ),
    "prune_ratio": Parameter(
        "prune: share of entries per tensor set to zero (smallest first); soteria: share of representation features",
        "in [0, 1)",
        lambda v: 0 <= v < 1,
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
        group.add_argument(f"--{name}", type=float, default=None, help=f"{parameter.help} ({parameter.allowed})")


def defense_from_args(args: argparse.Namespace) -> Defense:
    """The defense the flags ask for; a missing, stray or out-of-range parameter is a one-line UsageError."""
    spec = DEFENSES[args.defense]
    given = {name: getattr(args, name) for name in PARAMETERS if getattr(args, name) is not None}
    for name in spec.required:
        if name not in given:
            raise UsageError(f"--defense {args.defense} needs --{name} ({PARAMETERS[name].allowed})")
    for name, value in given.items():
        if name not in spec.required + spec.optional:
            raise UsageError(f"--{name} is not a parameter of --defense {args.defense}")
        if not PARAMETERS[name].check(value):
            raise UsageError(f"--{name} {value:g}: must be {PARAMETERS[name].allowed}")
    return spec.build(**given)
