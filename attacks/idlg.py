"""Improved DLG (Zhao, Mopuri and Bilen, 2020): read the labels off the last layer, then match.

At batch 1 the label is exact (see attacks/labels.py); at larger batches the counts are
estimated (--idlg.label_strategy, attacks/label_strategies.py). With labels fixed, only the images are
optimised, which converges faster and more reliably than DLG's joint search.
"""

import torch

from fedprivacy.attacks.base import Reconstruction
from fedprivacy.attacks.config.idlg import IDLGOptions
from fedprivacy.attacks.dlg import match_gradient
from fedprivacy.attacks.label_strategies import restore
from fedprivacy.attacks.spec import AttackConfig
from fedprivacy.fl.observation import Observation


def run(obs: Observation, config: AttackConfig[IDLGOptions]) -> Reconstruction:
    labels = restore(obs, config.options.label_strategy, torch.Generator().manual_seed(config.seed))
    return match_gradient(obs, config, labels=labels, name="idlg")
