"""Improved DLG (Zhao, Mopuri and Bilen, 2020): read the labels off the last layer, then match.

At batch 1 the label is exact (see attacks/labels.py); at larger batches the counts are
estimated (--label_strategy, attacks/label_strategies.py). With labels fixed, only the images are
optimised, which converges faster and more reliably than DLG's joint search.
"""

from dataclasses import dataclass

import torch

from fedprivacy.attacks.base import AttackConfig, AttackSpec, Reconstruction
from fedprivacy.attacks.capabilities import Capabilities
from fedprivacy.attacks.dlg import MatchOptions, lbfgs_budget, match_gradient
from fedprivacy.attacks.label_strategies import LabelOptions, restore
from fedprivacy.fl.observation import Observation


@dataclass(frozen=True)
class IdlgOptions(LabelOptions, MatchOptions):
    """iDLG's options: how it restores the labels, and DLG's matching precision."""


def run(obs: Observation, config: AttackConfig) -> Reconstruction:
    labels = restore(obs, config.options.label_strategy, torch.Generator().manual_seed(config.seed))
    return match_gradient(obs, config, labels=labels, name="idlg")


SPEC = AttackSpec(
    name="idlg",
    attack=run,
    defaults={"rec_epochs": 300, "rec_lr": 1.0, "tv": 0.0},
    needs=Capabilities(label_layer=True, second_order=True),
    options=IdlgOptions,
    budget=lbfgs_budget,
)
