"""iDLG's configuration (attacks/idlg.py): labels read off the last layer, then DLG's matching."""

from dataclasses import dataclass

from fedprivacy.attacks.capabilities import Capabilities
from fedprivacy.attacks.config.dlg import ORIGINAL, PAPER, DLGOptions, lbfgs_budget
from fedprivacy.attacks.config.fields import label_strategy
from fedprivacy.attacks.spec import AttackSpec


@dataclass(frozen=True)
class IDLGOptions(DLGOptions):
    """iDLG's hyperparameters: DLG's, and how it restores the labels."""

    label_strategy: str = label_strategy()


SPEC = AttackSpec(
    name="idlg",
    summary="improved DLG: labels read off the last layer, then L-BFGS matches the images",
    method="fedprivacy.attacks.idlg",
    options=IDLGOptions,
    needs=Capabilities(label_layer=True, second_order=True),
    budget=lbfgs_budget,
    presets={"paper": PAPER, "original": ORIGINAL},
)
