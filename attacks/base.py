"""Running an attack: what it returns, and the one place an attack is started (capabilities checked, the
broadcast model put in the client's mode, the method called)."""

from dataclasses import dataclass, field

import torch

from fedprivacy.attacks.fits import check
from fedprivacy.attacks.spec import AttackConfig, AttackSpec
from fedprivacy.fl.observation import Observation
from fedprivacy.utils.errors import AttackDiverged


@dataclass
class Reconstruction:
    """An attack's answer: images in the normalised space (clamped to the pixel box) and labels."""

    images: torch.Tensor
    labels: torch.Tensor
    stats: dict = field(default_factory=dict)
    alternatives: list[tuple[float, torch.Tensor]] = field(default_factory=list)  # other trials' (match, images)


def check_observation(spec: AttackSpec, obs: Observation) -> None:
    """One-line UsageError when `obs` lacks what the attack needs (attacks/fits.py)."""
    check(
        spec.name,
        spec.needs,
        obs.model,
        obs.num_images,
        obs.num_classes,
        update=obs.update is not None,
        labels=obs.labels is not None,
        aggregate=obs.num_clients is not None,
    )


def run_attack(spec: AttackSpec, obs: Observation, config: AttackConfig) -> Reconstruction:
    """Check the observation and the options' type, put the broadcast model in the client's mode once, and run
    the attack's method."""
    if not isinstance(config.options, spec.options):
        raise TypeError(f"{spec.name} takes {spec.options.__name__}, not {type(config.options).__name__}")
    check_observation(spec, obs)
    obs.model_in_mode()
    try:
        return spec.method_run()(obs, config)
    except RuntimeError as error:  # torch cannot take a step beyond float32 (e.g. an lr of 1e38 with Adam)
        if "without overflow" not in str(error):
            raise
        raise AttackDiverged(f"{spec.name}: a step overflowed float32 ({str(error).splitlines()[0]})") from None
