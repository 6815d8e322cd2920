"""One vocabulary for a client's local training in both entry scripts, `--client.<field>`, and the local
training the parsed flags resolve to. Torch-free.

main_fed: every client of the federation trains so (defaults below). main_grad: the simulated client of an
attack on weight updates (ig_weight, ig_multi) trains so before it shares its update; unset fields take the
attack's paper setting (its SimulatedClient, attacks/config/), e.g. ig_weight's 5 full-batch steps. The
scripts' older names stay accepted (main_grad: --local_steps, --local_epochs, --local_batch_size,
--local_lr; main_fed: --local_epochs, --batch_size, --lr, --client_momentum, --weight_decay).
"""

import argparse
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from fedprivacy.attacks import ATTACKS, AttackSpec
from fedprivacy.cli.common import AppliesTo, OneLineParser, described, last_given, passed
from fedprivacy.fl.protocol import LocalTraining
from fedprivacy.utils.domains import COUNT, NON_NEGATIVE, POSITIVE, UNIT_INTERVAL_OPEN_TOP
from fedprivacy.utils.errors import UsageError

PREFIX = "client."
OLDER = "older.client."  # the Namespace key prefix of an older name (e.g. `older.client.local_epochs`)


@dataclass(frozen=True)
class ClientField:
    """One local-training setting: its domain, unit and help."""

    domain: Any
    unit: str
    help: str


FIELDS = {
    "epochs": ClientField(COUNT, "epochs", "passes over the client's images (with a full batch: SGD steps)"),
    "batch_size": ClientField(COUNT, "images", "SGD mini-batch size"),
    "lr": ClientField(POSITIVE, "", "SGD step size"),
    "momentum": ClientField(UNIT_INTERVAL_OPEN_TOP, "", "SGD momentum (fresh every round)"),
    "weight_decay": ClientField(NON_NEGATIVE, "", "SGD weight decay"),
}
GRAD_OLDER = {"local_steps": "epochs", "local_epochs": "epochs", "local_batch_size": "batch_size", "local_lr": "lr"}
FED_OLDER = {
    "local_epochs": "epochs",
    "batch_size": "batch_size",
    "lr": "lr",
    "client_momentum": "momentum",
    "weight_decay": "weight_decay",
}
FED_DEFAULTS = {"epochs": 1, "batch_size": 10, "lr": 0.1, "momentum": 0.5, "weight_decay": 0.0}
ON_UPDATES = frozenset(name for name, spec in ATTACKS.items() if spec.client is not None)


def paper_settings() -> dict[str, str]:
    """Per field, each attack-on-updates' own setting in words, for main_grad's --help."""

    def shown(value: Any) -> str:
        return "the whole batch" if value is None else f"{value:g}" if isinstance(value, float) else str(value)

    return {
        name: ", ".join(f"{attack} {shown(getattr(ATTACKS[attack].client, name))}" for attack in sorted(ON_UPDATES))
        for name in FIELDS
    }


def add_client_arguments(
    parser: OneLineParser,
    title: str,
    defaults: Mapping[str, Any],
    older: Mapping[str, str],
    rule: AppliesTo | None = None,
) -> None:
    """`--client.<field>` with the given defaults (shown in --help) and the script's `older` names, each flag
    refused where `rule` does not hold."""
    group = parser.add_argument_group(title)
    for name, spec in FIELDS.items():
        default = defaults[name]
        aliases = [f"--{alias}" for alias, target in older.items() if target == name]
        unit = "" if isinstance(default, str) else spec.unit
        help = described(spec.help + (f" (older: {', '.join(aliases)})" if aliases else ""), default, unit)
        group.add_argument(
            f"--{PREFIX}{name}", dest=PREFIX + name, type=spec.domain, default=argparse.SUPPRESS, help=help
        )
        for alias in aliases:
            group.add_argument(
                alias, dest=OLDER + alias[2:], type=spec.domain, default=argparse.SUPPRESS, help=argparse.SUPPRESS
            )
        for dest in (PREFIX + name, *(OLDER + alias[2:] for alias in aliases)):
            if rule is not None:
                parser.applies(dest, rule, note=False)  # the group's title says it


def client_values(args: argparse.Namespace, older: Mapping[str, str]) -> dict[str, Any]:
    """The local-training fields the user set, by field (of two spellings of one field, the one given last)."""
    values = {}
    for name in FIELDS:
        given = last_given(args, [PREFIX + name, *(OLDER + alias for alias, target in older.items() if target == name)])
        if given is not None:
            values[name] = getattr(args, given)
    return values


def federation_training(args: argparse.Namespace) -> LocalTraining:
    """main_fed: every client's local training (its lr before the per-round decay)."""
    return LocalTraining(**{**FED_DEFAULTS, **client_values(args, FED_OLDER)})


def simulated_training(spec: AttackSpec, args: argparse.Namespace, num_images: int) -> LocalTraining | None:
    """main_grad: the local training of the simulated client `spec` observes (None: it shares a gradient)."""
    paper = spec.client
    if paper is None:
        return None
    values = client_values(args, GRAD_OLDER)
    batch_size = values.get("batch_size", paper.batch_size) or num_images
    if paper.equal_batches and num_images % batch_size:
        typed = passed(args)
        flag = typed.get(PREFIX + "batch_size") or typed.get(OLDER + "local_batch_size") or f"--{PREFIX}batch_size"
        raise UsageError(
            f"--rec_batch_size {num_images} is not divisible by {flag} {batch_size}; {spec.name} needs equal "
            "mini-batches"
        )
    return LocalTraining(
        epochs=values.get("epochs", paper.epochs),
        batch_size=batch_size,
        lr=values.get("lr", paper.lr),
        momentum=values.get("momentum", paper.momentum),
        weight_decay=values.get("weight_decay", paper.weight_decay),
    )


def client_flags(local: LocalTraining | None) -> dict[str, Any]:
    """The report's record of the client's training, as `client.<field>` (none without local training)."""
    return {} if local is None else {PREFIX + name: value for name, value in asdict(local).items()}
