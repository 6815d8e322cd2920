"""Flags shared by several attacks, each defined once.

Attack flags (in a spec's `flags`) reach every entry script through utils/attack_args. CLIENT_FLAGS set
the local training of main_grad's simulated client for the weight-update attacks; main_grad adds them
itself (attacks/sharing.py), since in main_fed the federation's own flags set the clients' training.
"""

from attacks.base import Flag
from attacks.label_strategies import STRATEGIES
from utils.cli import positive

KNOWN_LABELS = Flag(
    "--known_labels",
    {
        "action": "store_true",
        "help": "give the attacker the true labels (the Inverting Gradients paper's setting) instead of restoring them",
    },
)
LABEL_STRATEGY = Flag(
    "--label_strategy",
    {
        "choices": tuple(STRATEGIES),
        "default": "count",
        "help": "how the server restores the batch labels from the last layer's gradient: count estimation, "
        "LLG (Wainakh et al.) or iLRG (Ma et al.); see attacks/label_strategies.py",
    },
)
LAYER_WEIGHTS = Flag(
    "--layer_weights",
    {
        "choices": ("equal", "linear", "exp"),
        "default": "equal",
        "help": "per-layer weights of the cosine loss: equal; linear or exp favour the first layers (Geiping et al.)",
    },
)
LOCAL_LR = Flag("--local_lr", {"type": float, "default": 1e-4, "help": "client's SGD step size (ig_weight, ig_multi)"})
LOCAL_STEPS = Flag(
    "--local_steps", {"type": positive, "default": 5, "help": "ig_weight: client's full-batch SGD steps"}
)
LOCAL_EPOCHS = Flag(
    "--local_epochs", {"type": positive, "default": 1, "help": "ig_multi: client's epochs over its batch"}
)
LOCAL_BATCH_SIZE = Flag(
    "--local_batch_size",
    {"type": positive, "default": 1, "help": "ig_multi: client's mini-batch size; must divide --rec_batch_size"},
)
CLIENT_FLAGS = (LOCAL_LR, LOCAL_STEPS, LOCAL_EPOCHS, LOCAL_BATCH_SIZE)
