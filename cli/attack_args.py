"""The attack's command-line flags, shared by main_grad.py and main_fed.py, and the config they build."""

import argparse
from argparse import Namespace
from dataclasses import fields

from torch import nn

from fedprivacy.attacks import ATTACKS, AttackConfig, AttackSpec, option_classes
from fedprivacy.attacks.capabilities import check
from fedprivacy.attacks.options import flag_of
from fedprivacy.fl.public import PublicData, generator_record, probe_record
from fedprivacy.models.generators import read_checkpoint
from fedprivacy.utils.domains import COUNT, NON_NEGATIVE, POSITIVE, Count
from fedprivacy.utils.threads import default_threads


def add_attack_arguments(
    parser: argparse.ArgumentParser, batch_help: str, default: str = "dlg", extra: tuple[str, ...] = ()
) -> None:
    """--attack (registered names plus `extra`), the common reconstruction flags, --known_labels and every
    attack's own flags (generated from its options dataclass), the latter in their own help group."""
    add = parser.add_argument
    add("--attack", default=default, help=f"one of: {', '.join((*ATTACKS, *extra))}")
    add("--rec_batch_size", type=COUNT, default=1, help=batch_help)
    add("--rec_epochs", type=COUNT, default=None, help="optimisation steps (default: the attack's)")
    add("--rec_lr", type=POSITIVE, default=None, help="step size (default: the attack's)")
    add("--tv", type=NON_NEGATIVE, default=None, help="total-variation weight (default: the attack's)")
    add("--restarts", type=COUNT, default=1, help="trials per batch; the best gradient match is kept")
    add(
        "--trial_batch",
        type=COUNT,
        default=None,
        help="restarts the Adam-family attacks (ig_*, grnn) run at once as one batched computation (default: all)",
    )
    add(
        "--known_labels",
        action="store_true",
        help="give the attacker the true labels (the Inverting Gradients paper's setting) instead of restoring them",
    )
    needs = "; ".join(f"{name}: {spec.needs.describe()}" for name, spec in ATTACKS.items())
    group = parser.add_argument_group("attack-specific flags", f"what each attack needs: {needs}")
    added: set[str] = set()
    for options in option_classes():
        for item in fields(options):
            if item.name in added:  # an option shared through a base class (label_strategy) is one flag
                continue
            added.add(item.name)
            name, kwargs = flag_of(item)
            group.add_argument(name, **kwargs)


def add_imprint_arguments(parser: argparse.ArgumentParser) -> None:
    """--imprint and --bins: the malicious server's imprint block (fl/public.py sets its bins)."""
    parser.add_argument(
        "--imprint",
        action="store_true",
        help="malicious server: put a Robbing-the-Fed imprint block before the model (needed by rtf)",
    )
    parser.add_argument("--bins", type=Count(2), default=128, help="with --imprint: bins (units) of the imprint block")


def check_attack_fits(spec: AttackSpec, args: Namespace, model: nn.Module, num_classes: int, update: bool) -> None:
    """Before any work: the server's model, the batch and what the client will share, against what the
    attack needs (attacks/capabilities.py), in one line."""
    check(spec.name, spec.needs, model, args.rec_batch_size, num_classes, update=update, labels=args.known_labels)


def attack_config(spec: AttackSpec, args: Namespace) -> AttackConfig:
    """The AttackConfig of the parsed flags; unset common flags take the attack's defaults."""
    options = None
    if spec.options is not None:
        options = spec.options(**{item.name: getattr(args, item.name) for item in fields(spec.options)})
    return AttackConfig(
        rec_epochs=args.rec_epochs or int(spec.defaults["rec_epochs"]),
        rec_lr=spec.defaults["rec_lr"] if args.rec_lr is None else args.rec_lr,
        tv=spec.defaults["tv"] if args.tv is None else args.tv,
        restarts=args.restarts,
        seed=args.seed,
        progress=not args.quiet,
        options=options,
        workers=args.threads or default_threads(),
        trial_batch=args.trial_batch,
    )


def attack_knowledge(spec: AttackSpec, args: Namespace, public: PublicData, attacked: range) -> dict:
    """The attack's own public sources for the report: the label-count probe (labels restored at B > 1)
    and a GGL generator's training set, refused when it may hold the attacked (`attacked`) or clients' images."""
    knowledge = {}
    if spec.needs.label_layer and args.rec_batch_size > 1 and not args.known_labels:
        knowledge["label_probe"] = probe_record()
    if spec.name == "ggl" and args.generator:
        knowledge["generator"] = generator_record(read_checkpoint(args.generator)["meta"], public, attacked)
    return knowledge


def settings_of(config: AttackConfig) -> dict:
    """The resolved common settings, for the report."""
    return {
        "rec_epochs": config.rec_epochs,
        "rec_lr": config.rec_lr,
        "tv": config.tv,
        "restarts": config.restarts,
        "trial_batch": config.trials_at_once,
        "workers": config.workers,
    }
