"""Attack registry: `--attack` names to their specs."""

from attacks import cpa, dlg, ggl, grnn, idlg, ig_multi, ig_single, ig_weight, rtf
from attacks.base import AttackConfig, AttackSpec, Flag, Reconstruction
from utils.errors import UsageError

ATTACKS: dict[str, AttackSpec] = {
    spec.name: spec
    for spec in (
        dlg.SPEC,
        idlg.SPEC,
        ig_single.SPEC,
        ig_weight.SPEC,
        ig_multi.SPEC,
        grnn.SPEC,
        ggl.SPEC,
        rtf.SPEC,
        cpa.SPEC,
    )
}


def attack_flags() -> list[Flag]:
    """Every attack-specific flag once (shared flags are the same object)."""
    unique: dict[str, Flag] = {}
    for spec in ATTACKS.values():
        for flag in spec.flags:
            unique.setdefault(flag.dest, flag)
    return list(unique.values())


def get_attack(name: str) -> AttackSpec:
    """The attack registered under `name`; an unknown name lists the known ones."""
    if name not in ATTACKS:
        raise UsageError(f"--attack {name!r} is unknown; choose one of: {', '.join(ATTACKS)}")
    return ATTACKS[name]


__all__ = ["ATTACKS", "AttackConfig", "AttackSpec", "Flag", "Reconstruction", "attack_flags", "get_attack"]
