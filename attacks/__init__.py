"""Attack registry: `--attack` names to their specs."""

from attacks import dlg, idlg
from attacks.base import AttackConfig, AttackSpec, Reconstruction
from utils.errors import UsageError

ATTACKS: dict[str, AttackSpec] = {spec.name: spec for spec in (dlg.SPEC, idlg.SPEC)}


def get_attack(name: str) -> AttackSpec:
    """The attack registered under `name`; an unknown name lists the known ones."""
    if name not in ATTACKS:
        raise UsageError(f"--attack {name!r} is unknown; choose one of: {', '.join(ATTACKS)}")
    return ATTACKS[name]


__all__ = ["ATTACKS", "AttackConfig", "AttackSpec", "Reconstruction", "get_attack"]
