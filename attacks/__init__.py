"""Attack registry: `--attack` names to their specs (attacks/config/: options, capabilities, presets). Torch-free:
an attack's method (attacks/<name>.py) is loaded only when it runs."""

from fedprivacy.attacks.capabilities import Capabilities
from fedprivacy.attacks.config import SPECS
from fedprivacy.attacks.spec import AttackConfig, AttackSpec, Preset, SimulatedClient
from fedprivacy.utils.errors import UsageError

ATTACKS: dict[str, AttackSpec] = {spec.name: spec for spec in SPECS}
DEFAULT_ATTACK = SPECS[0].name  # what the entry scripts attack without --attack or --preset
UPDATE_AUDIT_ATTACK = "ig_multi"  # what an audit of clients' weight updates runs unless told (flower/config.py)


def get_attack(name: str) -> AttackSpec:
    """The attack registered under `name`; an unknown name lists the known ones."""
    if name not in ATTACKS:
        raise UsageError(f"--attack {name!r} is unknown; choose one of: {', '.join(ATTACKS)}")
    return ATTACKS[name]


def find_preset(name: str) -> tuple[AttackSpec, str]:
    """`attack.preset` -> the attack's spec and the preset's name (a UsageError listing the known presets)."""
    attack, _, preset = name.partition(".")
    if attack not in ATTACKS or not preset:
        raise UsageError(f"--preset {name!r} is unknown; choose one of: {', '.join(all_presets())}")
    spec = ATTACKS[attack]
    spec.preset(preset)  # refuses an unknown one, naming the attack's presets
    return spec, preset


def all_presets() -> dict[str, Preset]:
    """Every preset by its full name (`attack.preset`)."""
    return {f"{spec.name}.{name}": preset for spec in ATTACKS.values() for name, preset in spec.presets.items()}


__all__ = [
    "ATTACKS",
    "DEFAULT_ATTACK",
    "UPDATE_AUDIT_ATTACK",
    "AttackConfig",
    "AttackSpec",
    "Capabilities",
    "Preset",
    "SimulatedClient",
    "all_presets",
    "find_preset",
    "get_attack",
]
