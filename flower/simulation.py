"""Flower's Simulation Engine on Ray: start (or join) Ray once, refusing in one line too few CPUs for the
requested client resources or a Ray that does not start, then run a ServerApp and a ClientApp."""

import argparse
import logging
import os
import socket
import sys
from dataclasses import dataclass

from fedprivacy.utils import signals
from fedprivacy.utils.errors import UsageError


@dataclass(frozen=True)
class Resources:
    """Per virtual client: CPUs and GPUs (fractions allowed); `address`: an existing Ray cluster, or None."""

    client_cpus: float = 1.0
    client_gpus: float = 0.0
    address: str | None = None

    def check_local(self) -> None:
        """Before any work: a local Ray (no address) has this machine's CPUs and no more."""
        import torch

        cpus, gpus = os.cpu_count() or 1, torch.cuda.device_count()
        if self.address is None and self.client_cpus > cpus:
            raise UsageError(f"--client_cpus {self.client_cpus:g}: this machine has {cpus} CPUs for Ray's clients")
        if self.address is None and self.client_gpus > gpus:
            raise UsageError(f"--client_gpus {self.client_gpus:g}: this machine has {gpus} CUDA GPUs for Ray's clients")


def start_ray(resources: Resources) -> float:
    """Start Ray (or join `resources.address`) with the repository importable by its workers; its CPUs."""
    os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
    os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")
    import ray

    if not ray.is_initialized():
        reachable(resources.address)
        pythonpath = os.pathsep.join([*sys.path, os.environ.get("PYTHONPATH", "")])
        try:
            ray.init(
                address=resources.address,
                include_dashboard=False,
                logging_level=logging.ERROR,
                log_to_driver=False,
                runtime_env={"env_vars": {"PYTHONPATH": pythonpath, "FLWR_TELEMETRY_ENABLED": "0"}},
            )
        except Exception as error:  # Ray raises many types; all mean the same to the user
            where = f" at {resources.address}" if resources.address else ""
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise UsageError(f"Ray did not start{where}: {first}") from None
    signals.reinstall()  # ray.init installed its own SIGTERM handler, which dies with a stack trace
    signals.on_stop(quiet)
    cluster = ray.cluster_resources()
    cpus, gpus = float(cluster.get("CPU", 0)), float(cluster.get("GPU", 0))
    wants = (("--client_cpus", resources.client_cpus, cpus), ("--client_gpus", resources.client_gpus, gpus))
    for flag, wanted, has in wants:
        if wanted > has:
            ray.shutdown()
            raise UsageError(f"{flag} {wanted:g}: Ray has {has:g} of them for its virtual clients")
    return cpus


def ray_address(text: str) -> str:
    """A Ray cluster address (argparse type): auto, HOST:PORT with a port in 1..65535, or ray://HOST:PORT."""
    host, colon, port = text.removeprefix("ray://").rpartition(":")
    if text == "auto" or (colon and host.strip() and port.isdigit() and 0 < int(port) < 65536):
        return text
    raise argparse.ArgumentTypeError(f"{text!r} is not auto, HOST:PORT or ray://HOST:PORT")


def quiet() -> None:
    """Once SIGTERM stops the run, Flower's and Ray's loggers stay silent: their workers die with it, and
    each death would be logged with a traceback."""
    for name in ("flwr", "ray"):
        logging.getLogger(name).disabled = True


def reachable(address: str | None, flag: str = "--ray_address", seconds: float = 5.0) -> None:
    """A HOST:PORT cluster address must answer within `seconds` (Ray itself would retry for minutes)."""
    if address is None or address == "auto" or "://" in address:
        return
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=seconds).close()
    except (OSError, ValueError) as error:
        raise UsageError(f"{flag} {address}: no Ray cluster answers there ({error})") from None


def simulate(server_app, client_app, num_clients: int, resources: Resources) -> None:
    """Run the apps on the Simulation Engine with `num_clients` virtual SuperNodes (Ray already started)."""
    from flwr.simulation import run_simulation

    logging.getLogger("flwr").setLevel(logging.WARNING)
    client = {"num_cpus": resources.client_cpus, "num_gpus": resources.client_gpus}
    run_simulation(server_app, client_app, num_supernodes=num_clients, backend_config={"client_resources": client})
