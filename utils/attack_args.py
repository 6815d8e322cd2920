"""The attack's command-line flags, shared by main_grad.py and main_fed.py, and the config they build."""

import argparse
from argparse import Namespace

from attacks import ATTACKS, AttackConfig, AttackSpec, attack_flags
from utils.cli import positive
from utils.domains import NON_NEGATIVE, POSITIVE
from utils.errors import UsageError


def add_attack_arguments(
    parser: argparse.ArgumentParser, batch_help: str, default: str = "dlg", extra: tuple[str, ...] = ()
) -> None:
    """--attack (registered names plus `extra`), the common reconstruction flags and every
    attack's own flags (attacks.attack_flags), the latter in their own help group."""
    add = parser.add_argument
    add("--attack", default=default, help=f"one of: {', '.join((*ATTACKS, *extra))}")
    add("--rec_batch_size", type=positive, default=1, help=batch_help)
    add("--rec_epochs", type=positive, default=None, help="optimisation steps (default: the attack's)")
    add("--rec_lr", type=POSITIVE, default=None, help="step size (default: the attack's)")
    add("--tv", type=NON_NEGATIVE, default=None, help="total-variation weight (default: the attack's)")
    add("--restarts", type=positive, default=1, help="trials per batch; the best gradient match is kept")
    group = parser.add_argument_group("attack-specific flags")
    for flag in attack_flags():
        group.add_argument(flag.name, **flag.kwargs)


def check_attack_fits(spec: AttackSpec, args: Namespace) -> None:
    """Before any work: a batch larger than the attack handles, or an attack that needs the imprint
    block without --imprint, is a one-line error."""
    if spec.max_batch is not None and args.rec_batch_size > spec.max_batch:
        raise UsageError(
            f"--rec_batch_size {args.rec_batch_size}: {spec.name} handles at most {spec.max_batch} image(s) per batch"
        )
    if spec.needs_imprint and not args.imprint:
        raise UsageError(f"--attack {spec.name} needs --imprint (the server's imprint block before the model)")


def attack_config(spec: AttackSpec, args: Namespace) -> AttackConfig:
    """The AttackConfig of the parsed flags; unset common flags take the attack's defaults."""
    return AttackConfig(
        rec_epochs=args.rec_epochs or int(spec.defaults["rec_epochs"]),
        rec_lr=spec.defaults["rec_lr"] if args.rec_lr is None else args.rec_lr,
        tv=spec.defaults["tv"] if args.tv is None else args.tv,
        restarts=args.restarts,
        seed=args.seed,
        progress=not args.quiet,
        options={flag.dest: getattr(args, flag.dest) for flag in spec.flags},
    )


def settings_of(config: AttackConfig) -> dict:
    """The resolved common settings, for the report."""
    return {"rec_epochs": config.rec_epochs, "rec_lr": config.rec_lr, "tv": config.tv, "restarts": config.restarts}
