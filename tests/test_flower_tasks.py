"""benchmarks.audit --ray: functions run as Ray tasks (one local Ray start) give what they give in this
process; a cluster address that does not answer is one line."""

import pytest
import torch

pytest.importorskip("flwr")

from fedprivacy.fl.server import fedavg  # noqa: E402
from fedprivacy.flower.tasks import RayExecutor  # noqa: E402
from fedprivacy.utils.errors import UsageError  # noqa: E402


def test_ray_tasks_return_what_a_local_call_returns() -> None:
    states = [{"w": torch.arange(4.0) * k} for k in range(1, 4)]
    with RayExecutor("local") as pool:
        futures = [pool.submit(fedavg, states, counts) for counts in ([1, 1, 1], [1, 2, 3])]
        results = [future.result(timeout=120) for future in futures]
    assert pool.total >= 1
    assert torch.equal(results[0]["w"], fedavg(states, [1, 1, 1])["w"])
    assert torch.equal(results[1]["w"], torch.arange(4.0) * (14 / 6))


def test_a_ray_cluster_that_does_not_answer_is_one_line() -> None:
    with pytest.raises(UsageError, match=r"^--ray 127.0.0.1:1: no Ray cluster answers there \("):
        RayExecutor("127.0.0.1:1")
