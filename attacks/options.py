"""Typed attack options: each attack's options are one frozen dataclass whose fields, made with `option`,
carry the flag's default, its domain (utils/domains.py) or choices, and its help; cli/attack_args
generates the flags from them and builds the dataclass from the parsed flags."""

from collections.abc import Callable
from dataclasses import MISSING, Field, field
from typing import Any


def option(
    default: Any, help: str, domain: Callable[[str], Any] | None = None, choices: tuple[str, ...] | None = None
) -> Any:
    """A dataclass field that is also a --flag: a bool is a switch, else `domain` parses it or `choices` limit it."""
    return field(default=default, metadata={"help": help, "domain": domain, "choices": choices})


def flag_of(item: Field) -> tuple[str, dict]:
    """The argparse name and keyword arguments of one option field."""
    meta = item.metadata
    if item.default is MISSING:
        raise TypeError(f"option {item.name} has no default")
    if isinstance(item.default, bool):
        return f"--{item.name}", {"action": "store_true", "help": meta["help"]}
    kwargs: dict[str, Any] = {"default": item.default, "help": meta["help"]}
    if meta["domain"] is not None:
        kwargs["type"] = meta["domain"]
    if meta["choices"] is not None:
        kwargs["choices"] = meta["choices"]
    return f"--{item.name}", kwargs
