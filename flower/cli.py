"""main_fed's --engine flags: the local loop (default) or Flower's Simulation Engine on Ray, with the
resources of each virtual client. Importable without flwr; the engine itself is loaded only when chosen."""

import argparse
from argparse import Namespace

from torch import nn

from fedprivacy.fl.federation import FedData, FedResult, FedSettings
from fedprivacy.flower import require_flwr
from fedprivacy.flower.simulation import Resources, ray_address, reachable
from fedprivacy.utils.domains import NON_NEGATIVE, POSITIVE

ENGINES = ("local", "flower")


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("engine (--engine flower: Flower's Simulation Engine, see docs/flower.md)")
    add = group.add_argument
    add("--engine", choices=ENGINES, default="local", help="local: our own loop; flower: a Flower app on Ray")
    add("--client_cpus", type=POSITIVE, default=1.0, help=f"CPUs per virtual Flower client ({POSITIVE})")
    add("--client_gpus", type=NON_NEGATIVE, default=0.0, help=f"GPUs per virtual Flower client ({NON_NEGATIVE})")
    add(
        "--ray_address",
        type=ray_address,
        default=None,
        help="join this Ray cluster ('auto' or HOST:PORT) instead of starting one",
    )


def resources(args: Namespace) -> Resources:
    return Resources(args.client_cpus, args.client_gpus, args.ray_address)


def check_engine(args: Namespace) -> None:
    """Before any work: --engine flower needs the Flower extra, CPUs enough for one virtual client and,
    if given, a Ray cluster that answers."""
    if args.engine == "flower":
        require_flwr("--engine flower")
        resources(args).check_local()
        reachable(args.ray_address)


def run_on_flower(args: Namespace, model: nn.Module, data: FedData, settings: FedSettings) -> FedResult:
    """The federation of the flags on Flower's Simulation Engine (flower.engine)."""
    from fedprivacy.flower.engine import run_flower_federation

    return run_flower_federation(model, data, settings, resources(args))
