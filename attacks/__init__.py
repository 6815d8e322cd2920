"""Attack registry: `--attack` names to their specs."""

from fedprivacy.attacks import cpa, dlg, ggl, grnn, idlg, ig_multi, ig_single, ig_weight, rtf
from fedprivacy.attacks.base import AttackConfig, AttackSpec, Reconstruction
from fedprivacy.attacks.capabilities import Capabilities
from fedprivacy.utils.errors import UsageError

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


def option_classes() -> list[type]:
    """Every attack's options dataclass once (attacks that share options share the class)."""
    return list(dict.fromkeys(spec.options for spec in ATTACKS.values() if spec.options is not None))


def get_attack(name: str) -> AttackSpec:
    """The attack registered under `name`; an unknown name lists the known ones."""
    if name not in ATTACKS:
        raise UsageError(f"--attack {name!r} is unknown; choose one of: {', '.join(ATTACKS)}")
    return ATTACKS[name]


__all__ = ["ATTACKS", "AttackConfig", "AttackSpec", "Capabilities", "Reconstruction", "get_attack", "option_classes"]
