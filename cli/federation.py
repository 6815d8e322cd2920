"""main_fed's federation: its flags (the protocol, the split, the attacked rounds and client, the engine) and
the FedSettings they resolve to. Torch-free: --help and the flag checks never load torch, Flower or Ray."""

import argparse

from fedprivacy.cli.client import FED_DEFAULTS, FED_OLDER, add_client_arguments, federation_training
from fedprivacy.cli.common import OneLineParser, described, positive
from fedprivacy.fl.partition import P_TYPES
from fedprivacy.fl.protocol import FedSettings
from fedprivacy.utils.domains import FRACTION, NON_NEGATIVE, POSITIVE
from fedprivacy.utils.errors import UsageError

ENGINES = ("local", "flower")


def add_federation_arguments(parser: OneLineParser) -> None:
    """The protocol and the split among the clients, then the clients' local training (`--client.*`)."""
    group = parser.add_argument_group("federation")
    add = group.add_argument
    add("--strategy", choices=("fedavg",), default="fedavg", help=described("aggregation rule", "fedavg"))
    add("--num_rounds", type=positive, default=10, help=described("communication rounds", 10, "rounds"))
    add("--total_clients", type=positive, default=10, help=described("number of clients", 10, "clients"))
    add("--C", type=FRACTION, default=1.0, help=described("fraction of clients selected per round, in (0, 1]", 1.0))
    add("--lr_decay", type=POSITIVE, default=0.95, help=described("client lr multiplier applied once per round", 0.95))
    add("--iid", action="store_true", help=described("split the training set iid (overrides --p_type)", False))
    add(
        "--p_type",
        choices=P_TYPES,
        default="dirichlet",
        help=described("non-iid split: Dirichlet label skew or fixed classes", "dirichlet"),
    )
    add("--beta", type=POSITIVE, default=0.5, help=described("Dirichlet concentration (small = more skew)", 0.5))
    add(
        "--num_classes_per_client",
        type=positive,
        default=2,
        help=described("classes per client for --p_type fix_class", 2, "classes"),
    )
    add(
        "--min_samples",
        type=positive,
        default=10,
        help=described("fewest training samples a Dirichlet client may hold", 10, "images"),
    )
    add(
        "--attack_rounds",
        default="last",
        help=described(
            "rounds (1-based, comma-separated) at which the server attacks one client, 'all' or 'last'", "last"
        ),
    )
    add(
        "--victim_images",
        type=positive,
        default=None,
        help="the small-client scenario: the attacked client trains on only this many fresh images in its attacked "
        "round (default: on all its data, as every client does)",
    )
    add_client_arguments(parser, "every client's local training (the original implementation: batch 50, momentum 0)",
                         FED_DEFAULTS, FED_OLDER)  # fmt: skip


def add_engine_arguments(parser: OneLineParser) -> None:
    """--engine and the resources of each virtual Flower client."""
    group = parser.add_argument_group("engine (--engine flower: Flower's Simulation Engine, see docs/flower.md)")
    add = group.add_argument
    add("--engine", choices=ENGINES, default="local", help=described("local: our own loop; flower: on Ray", "local"))
    add(
        "--client_cpus", type=POSITIVE, default=1.0, help=described(f"CPUs per virtual Flower client ({POSITIVE})", 1.0)
    )
    add(
        "--client_gpus",
        type=NON_NEGATIVE,
        default=0.0,
        help=described(f"GPUs per virtual Flower client ({NON_NEGATIVE})", 0.0),
    )
    add(
        "--ray_address",
        default=None,
        help="join this Ray cluster ('auto' or HOST:PORT) instead of starting one (default: start one here)",
    )


def parse_rounds(text: str, num_rounds: int) -> frozenset[int]:
    """--attack_rounds: 'all', 'last' or a comma-separated list of 1-based rounds."""
    if text.strip() == "all":
        return frozenset(range(1, num_rounds + 1))
    if text.strip() == "last":
        return frozenset({num_rounds})
    try:
        rounds = frozenset(int(part) for part in text.split(","))
    except ValueError:
        raise UsageError(
            f"--attack_rounds {text!r}: give 'all', 'last' or comma-separated round numbers, e.g. 1,5"
        ) from None
    if not rounds or min(rounds) < 1 or max(rounds) > num_rounds:
        raise UsageError(f"--attack_rounds {text}: rounds must lie between 1 and --num_rounds {num_rounds}")
    return rounds


def federation_settings(args: argparse.Namespace, attacked: bool) -> FedSettings:
    """The protocol the flags describe (the defense is added once built); no attacked round without an attack.
    The small-client scenario cannot reconstruct more images than the client holds."""
    rounds = parse_rounds(args.attack_rounds, args.num_rounds)
    if args.victim_images is not None and args.rec_batch_size > args.victim_images:
        raise UsageError(
            f"--rec_batch_size {args.rec_batch_size}: the attack cannot reconstruct more than the "
            f"--victim_images {args.victim_images} the client holds"
        )
    return FedSettings(
        num_rounds=args.num_rounds,
        total_clients=args.total_clients,
        fraction=args.C,
        local=federation_training(args),
        lr_decay=args.lr_decay,
        attack_rounds=rounds if attacked else frozenset(),
        rec_batch_size=args.rec_batch_size,
        victim_images=args.victim_images,
        seed=args.seed,
    )
