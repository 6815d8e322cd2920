"""main_fed's federation: its flags (the protocol, the split, the attacked rounds and client, the engine) and
the FedSettings they resolve to. Torch-free: --help and the flag checks never load torch, Flower or Ray."""

import argparse

from fedprivacy.cli.attack_flags import ATTACKED
from fedprivacy.cli.client import FED_DEFAULTS, FED_OLDER, add_client_arguments, federation_training
from fedprivacy.cli.common import AppliesTo, FlagGroup, OneLineParser, passed, positive
from fedprivacy.fl.partition import P_TYPES
from fedprivacy.fl.protocol import FedSettings, check_lr_schedule
from fedprivacy.flower.simulation import ray_address
from fedprivacy.utils.domains import FRACTION, NON_NEGATIVE, POSITIVE
from fedprivacy.utils.errors import UsageError

ENGINES = ("local", "flower")
SECAGG_FIELDS = ("payload", "max_weight", "clipping_range", "quantization_range", "modulus_range")  # --secagg_<field>


def add_federation_arguments(parser: OneLineParser) -> None:
    """The protocol and the split among the clients, then the clients' local training (`--client.*`)."""
    flags = FlagGroup(parser, "federation")
    flags.value("--strategy", "fedavg", "aggregation rule", choices=("fedavg",))
    flags.value("--num_rounds", 10, "communication rounds", "rounds", type=positive)
    flags.value("--total_clients", 10, "number of clients", "clients", type=positive)
    flags.value("--C", 1.0, "fraction of clients selected per round, in (0, 1]", type=FRACTION)
    flags.value("--lr_decay", 0.95, "client lr multiplier applied once per round", type=POSITIVE)
    flags.switch("--iid", "split the training set iid instead of by --p_type")
    flags.value("--p_type", "dirichlet", "non-iid split: Dirichlet label skew or fixed classes", choices=P_TYPES)
    flags.value("--beta", 0.5, "Dirichlet concentration (small = more skew)", type=POSITIVE)
    flags.value("--num_classes_per_client", 2, "classes per client", "classes", type=positive)
    flags.value("--min_samples", 10, "fewest training samples a client may hold", "images", type=positive)
    non_iid = AppliesTo("iid", frozenset({False}))
    for dest, p_type in (("p_type", None), ("beta", "dirichlet"), ("min_samples", "dirichlet"),
                         ("num_classes_per_client", "fix_class")):  # fmt: skip
        parser.applies(dest, non_iid)
        if p_type is not None:
            parser.applies(dest, AppliesTo("p_type", frozenset({p_type})))
    rounds = "rounds (1-based, comma-separated) at which the server attacks one client, 'all' or 'last'"
    flags.value("--attack_rounds", "last", rounds)
    small = (
        "the small-client scenario: the attacked client (under --secure_aggregation: every client of the attacked "
        "round) trains on only this many fresh images in its attacked round"
    )
    flags.value("--victim_images", None, small, shown="all its data, as every client", type=positive)
    for dest in ("attack_rounds", "victim_images"):
        parser.applies(dest, ATTACKED)
    title = "every client's local training (the original implementation: batch 50, momentum 0)"
    add_client_arguments(parser, title, FED_DEFAULTS, FED_OLDER)


def add_engine_arguments(parser: OneLineParser) -> None:
    """--engine and the resources of each virtual Flower client."""
    flags = FlagGroup(parser, "engine (--engine flower: Flower's Simulation Engine, see docs/flower.md)")
    flags.value("--engine", "local", "local: our own loop; flower: on Ray", choices=ENGINES)
    flags.value("--client_cpus", 1.0, f"CPUs per virtual Flower client ({POSITIVE})", type=POSITIVE)
    flags.value("--client_gpus", 0.0, f"GPUs per virtual Flower client ({NON_NEGATIVE})", type=NON_NEGATIVE)
    join = "join this Ray cluster ('auto' or HOST:PORT) instead of starting one"
    flags.value("--ray_address", None, join, shown="start one here", type=ray_address)
    for dest in ("client_cpus", "client_gpus", "ray_address"):
        parser.applies(dest, AppliesTo("engine", frozenset({"flower"})))


def add_secure_aggregation_arguments(parser: OneLineParser) -> None:
    """--secure_aggregation, and SecAgg+'s settings (--secagg_*), which apply only to Flower's protocol."""
    about = (
        "the server learns only each round's aggregate; the local engine gives it the ideal functionality, "
        "--engine flower runs Flower's SecAgg+ (its settings below; docs/federation.md)"
    )
    flags = FlagGroup(parser, "secure aggregation", about)
    what = "the server sees only the FedAvg aggregate of each round's clients and attacks the round's images"
    flags.switch("--secure_aggregation", what)
    flower = "Flower's SecAggPlusWorkflow default"
    masked = "what each client masks: its update, or its trained weights (as Flower's example sends them)"
    flags.value("--secagg_payload", None, masked, shown="update", choices=("update", "weights"))
    weight = "examples at which a client's weight is 1 (SecAgg+ weights a client by examples / max_weight)"
    flags.value("--secagg_max_weight", None, weight, shown=flower, type=POSITIVE)
    flags.value("--secagg_clipping_range", None, "values are clipped to +-this before quantisation", shown=flower,
                type=POSITIVE)  # fmt: skip
    flags.value("--secagg_quantization_range", None, "quantisation levels over the clipping range", shown=flower,
                type=positive)  # fmt: skip
    flags.value("--secagg_modulus_range", None, "the modulus of the masked sums", shown=flower, type=positive)
    for field in SECAGG_FIELDS:
        parser.applies(f"secagg_{field}", AppliesTo("secure_aggregation", frozenset({True})), note=False)
        parser.applies(f"secagg_{field}", AppliesTo("engine", frozenset({"flower"})))


def secagg_values(args: argparse.Namespace) -> dict:
    """The SecAgg+ settings the flags give, by field of flower.secagg.SecAggPlusSettings (the rest: Flower's)."""
    values = {field: getattr(args, f"secagg_{field}", None) for field in SECAGG_FIELDS}
    return {field: value for field, value in values.items() if value is not None}


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
    local = federation_training(args)
    check_lr_schedule(local.lr, args.lr_decay, args.num_rounds)
    secure = getattr(args, "secure_aggregation", False)
    if secure and "rec_batch_size" in passed(args):
        raise UsageError(
            f"{passed(args)['rec_batch_size']}: under --secure_aggregation the attack reconstructs every image of the "
            "attacked round (their number is public); drop it (--victim_images sets each client's images)"
        )
    if not secure and args.victim_images is not None and args.rec_batch_size > args.victim_images:
        raise UsageError(
            f"--rec_batch_size {args.rec_batch_size}: the attack cannot reconstruct more than the "
            f"--victim_images {args.victim_images} the client holds"
        )
    return FedSettings(
        num_rounds=args.num_rounds,
        total_clients=args.total_clients,
        fraction=args.C,
        local=local,
        lr_decay=args.lr_decay,
        attack_rounds=rounds if attacked else frozenset(),
        rec_batch_size=args.rec_batch_size,
        victim_images=args.victim_images,
        seed=args.seed,
        secure_aggregation=secure,
    )
