"""Robbing the Fed's configuration (attacks/rtf.py): a closed form, nothing to tune but the server's imprint
block (--imprint, --bins), which is the server's model, not the attack's."""

from dataclasses import dataclass

from fedprivacy.attacks.capabilities import Capabilities
from fedprivacy.attacks.spec import AttackSpec, Budget


@dataclass(frozen=True)
class RtFOptions:
    """Robbing the Fed has no hyperparameters."""


SPEC = AttackSpec(
    name="rtf",
    summary="Robbing the Fed: closed-form recovery through the server's imprint block",
    method="fedprivacy.attacks.rtf",
    options=RtFOptions,
    needs=Capabilities(imprint=True, label_layer=True),
    budget=lambda options: Budget(0, restarts=False, unit="closed form (no iterations)"),
)
