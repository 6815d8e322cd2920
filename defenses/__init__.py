"""Client-side defenses by name, their flags, and one-line checks of the flag values.

`--defense NAME` with its parameters works in main_grad.py and main_fed.py; the client applies it
(fl.client), so the attack only ever sees the defended gradient or update. The registry is data (no torch:
the entry scripts' --help reads it); a defense's class loads when it is built.
"""

import argparse
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import import_module
from typing import TYPE_CHECKING, Any

from fedprivacy.utils.domains import NON_NEGATIVE, UNIT_INTERVAL_OPEN_TOP, Real
from fedprivacy.utils.errors import UsageError

if TYPE_CHECKING:
    from fedprivacy.defenses.base import Defense

__all__ = ["DEFENSES", "NO_DEFENSE", "Defense", "add_defense_arguments", "defense_from_args", "taking"]


@dataclass(frozen=True)
class Parameter:
    """A defense flag: its help text, its domain (the argparse type, which refuses any other value) and, for an
    optional one, the defense's own default in words."""

    help: str
    domain: Real
    default: str | None = None


PARAMETERS = {
    "noise_scale": Parameter("gaussian: noise standard deviation; laplacian: scale b", NON_NEGATIVE),
    "clip_norm": Parameter(
        "clip: bound on the L2 norm of the whole share; dpsgd: per-example bound",
        Real(low=0, low_open=True, allow_inf=True),
    ),
    "noise_multiplier": Parameter("dpsgd: noise std as a multiple of --clip_norm", NON_NEGATIVE),
    "dp_delta": Parameter(
        "dpsgd: delta of the reported (epsilon, delta)", Real(low=0, high=1, low_open=True, high_open=True), "1e-5"
    ),
    "prune_ratio": Parameter("prune: share of entries per tensor set to zero (smallest first)", UNIT_INTERVAL_OPEN_TOP),
    "soteria_ratio": Parameter(
        "soteria: share of the representation layer's features whose weight gradient is zeroed (older spelling: "
        "--prune_ratio)",
        UNIT_INTERVAL_OPEN_TOP,
    ),
}


@dataclass(frozen=True)
class DefenseSpec:
    """A registered defense: what it does, the flags it needs and may take (and the older names of them), and
    its class as `module.Class` of this package, built with `fixed` arguments besides the flags."""

    summary: str
    required: tuple[str, ...]
    defense: str
    optional: tuple[str, ...] = ()
    fixed: Mapping[str, Any] = field(default_factory=dict)
    older: Mapping[str, str] = field(default_factory=dict)  # an older flag name -> the parameter it now is

    def build(self, **parameters: float) -> "Defense":
        module, name = self.defense.rsplit(".", 1)
        return getattr(import_module(f"{__name__}.{module}"), name)(**self.fixed, **parameters)


DEFENSES: dict[str, DefenseSpec] = {
    "none": DefenseSpec("share the plain gradient or update", (), "base.Defense"),
    "gaussian": DefenseSpec(
        "add Gaussian noise to every shared entry",
        ("noise_scale",),
        "noise.AdditiveNoise",
        fixed={"distribution": "gaussian"},
    ),
    "laplacian": DefenseSpec(
        "add Laplacian noise to every shared entry",
        ("noise_scale",),
        "noise.AdditiveNoise",
        fixed={"distribution": "laplacian"},
    ),
    "clip": DefenseSpec("clip the whole share to an L2 norm", ("clip_norm",), "clipping.Clipping"),
    "dpsgd": DefenseSpec(
        "DP-SGD: per-example clipping and Gaussian noise in every step, epsilon from Opacus's RDP accountant",
        ("clip_norm", "noise_multiplier"),
        "dpsgd.DPSGD",
        optional=("dp_delta",),
    ),
    "prune": DefenseSpec(
        "zero the smallest-magnitude entries of every shared tensor", ("prune_ratio",), "pruning.Pruning"
    ),
    "soteria": DefenseSpec(
        "Soteria: zero the representation layer's gradient for the least sensitive features",
        ("soteria_ratio",),
        "soteria.Soteria",
        older={"prune_ratio": "soteria_ratio"},
    ),
}
ARGUMENTS = {"dp_delta": "delta"}  # a flag whose constructor argument has another name


def taking(parameter: str) -> tuple[str, ...]:
    """The defenses that take the flag `parameter` (by its name, an optional one's, or an older spelling's):
    given with any other --defense it would be ignored, so the entry scripts refuse it."""
    return tuple(name for name, spec in DEFENSES.items() if parameter in (*spec.required, *spec.optional, *spec.older))


def add_defense_arguments(parser: argparse.ArgumentParser) -> None:
    """--defense and the parameters of every defense, in their own help group."""
    group = parser.add_argument_group("client-side defense (applied before anything is shared)")
    choices = "; ".join(f"{name}: {spec.summary}" for name, spec in DEFENSES.items())
    group.add_argument("--defense", choices=tuple(DEFENSES), default="none", help=f"{choices} (default: none)")
    for name, parameter in PARAMETERS.items():
        needs = [defense for defense, spec in DEFENSES.items() if name in spec.required]
        default = parameter.default or f"none; required by --defense {', '.join(needs)}"
        group.add_argument(
            f"--{name}",
            type=parameter.domain,
            default=None,
            help=f"{parameter.help}; {parameter.domain} (default: {default})",
        )


def defense_from_args(args: argparse.Namespace) -> "Defense":
    """The defense the flags ask for; a missing or stray parameter is a one-line UsageError (the parser
    has already refused values outside a parameter's domain)."""
    spec = DEFENSES[args.defense]
    given = {name: getattr(args, name) for name in PARAMETERS if getattr(args, name) is not None}
    for older, parameter in spec.older.items():
        if older in given and parameter in given:
            raise UsageError(f"--{older} and --{parameter}: give one (--{older} is --{parameter}'s older spelling)")
        if older in given:
            given[parameter] = given.pop(older)
    for name in spec.required:
        if name not in given:
            raise UsageError(f"--defense {args.defense} needs --{name} ({PARAMETERS[name].domain})")
    for name in given:
        if name not in spec.required + spec.optional:
            raise UsageError(f"--{name} is not a parameter of --defense {args.defense}")
    return spec.build(**{ARGUMENTS.get(name, name): value for name, value in given.items()})


def __getattr__(name: str) -> object:
    """The no-defense base class and instance, imported (with torch) when first asked for."""
    if name in ("Defense", "NO_DEFENSE"):
        return getattr(import_module(f"{__name__}.base"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
