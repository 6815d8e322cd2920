"""Functions as Ray tasks behind the concurrent.futures interface, so a process-pool loop (the audit's
cells) runs unchanged on a Ray cluster: `local` starts Ray on this machine, `auto` joins the running
cluster, HOST:PORT joins that one. Every node needs the repository (and data) at the driver's paths."""

from collections.abc import Callable
from concurrent.futures import Future

from fedprivacy.flower import require_flwr
from fedprivacy.flower.simulation import Resources, reachable, start_ray


class RayExecutor:
    """submit(fn, *args) -> Future, each call one Ray task of `cpus` CPUs; Ray stops on exit."""

    def __init__(self, address: str, cpus: float = 1.0) -> None:
        require_flwr("--ray")
        import ray

        self.ray, self.cpus = ray, cpus
        cluster = None if address == "local" else address
        reachable(cluster, "--ray")
        self.total = start_ray(Resources(client_cpus=cpus, address=cluster))

    def submit(self, fn: Callable, *args) -> Future:
        return self.ray.remote(num_cpus=self.cpus)(fn).remote(*args).future()

    def __enter__(self) -> "RayExecutor":
        return self

    def __exit__(self, *_) -> None:
        self.ray.shutdown()
