"""Typed attack options: each attack's options are one frozen dataclass holding all of its hyperparameters
(budget, step size, priors, restarts and its own), whose fields, made with `option`, carry the default, its
unit, its domain (utils/domains.py) or choices, its help and the flat flag names it used to have. The entry
layer (cli/attack_flags.py) generates the `--<attack>.<field>` flags from them; nothing here imports torch,
so `--help` reads them without loading an attack."""

from collections.abc import Callable
from dataclasses import MISSING, Field, dataclass, field, fields, make_dataclass
from typing import Any


@dataclass(frozen=True)
class When:
    """When an option (or a run knob) has an effect: while the attack's option `name` has one of `values`, or,
    with `flag`, while the run's flag `name` does (e.g. the restored labels' strategy only without
    --known_labels). The entry layer refuses, in one line, a flag given while it does not hold."""

    name: str
    values: tuple
    flag: bool = False

    def holds(self, options: Any, args: Any) -> bool:
        return getattr(args if self.flag else options, self.name) in self.values


def option(
    default: Any,
    help: str,
    domain: Callable[[str], Any] | None = None,
    choices: tuple[str, ...] | None = None,
    unit: str = "",
    aliases: tuple[str, ...] = (),
    only: When | None = None,
) -> Any:
    """A dataclass field that is also a flag: a bool is a switch, else `domain` parses it or `choices` limit
    it; `unit` says what one unit of its value is (e.g. "L-BFGS steps"); `aliases` are its older flat names
    (e.g. "rec_epochs"), still accepted for the attack that has the field; `only`: when it has an effect."""
    metadata = {"help": help, "domain": domain, "choices": choices, "unit": unit, "aliases": aliases, "only": only}
    return field(default=default, metadata=metadata)


def default_of(item: Field) -> Any:
    """A field's default; every option has one."""
    if item.default is MISSING:
        raise TypeError(f"option {item.name} has no default")
    return item.default


def with_defaults(base: type, name: str, doc: str, **defaults: Any) -> type:
    """A frozen subclass of the options dataclass `base` whose named fields default to `defaults` (their help,
    unit, domain and aliases unchanged): variants of one method that differ only in their settings."""
    known = {item.name: item for item in fields(base)}
    unknown = sorted(set(defaults) - set(known))
    if unknown:
        raise TypeError(f"{name}: {base.__name__} has no option(s) {unknown}")
    changed = [
        (key, known[key].type, field(default=value, metadata=known[key].metadata)) for key, value in defaults.items()
    ]
    variant = make_dataclass(name, changed, bases=(base,), frozen=True, namespace={"__doc__": doc})
    variant.__module__ = base.__module__
    return variant
