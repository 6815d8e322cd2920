"""Secure aggregation as its ideal functionality: what the server learns of a round when the clients' updates
are summed under masks (Bonawitz et al. 2017; Flower's SecAgg+), and the Observation an attack gets from it.

The ideal functionality hands the server the FedAvg aggregate of the round, sum_k n_k u_k / N (the mean update
by which the global model moves), the number of clients K and the total number of examples N (both public
under SecAgg: the protocol's weighting needs them), and nothing that names a client or holds one client's
update. A real protocol may reveal more (Flower's SecAgg+ shows node ids, each client's count and metrics, and
adds quantisation noise: flower/secagg.py); this is the guarantee, and the default scenario.

Read as one batch, the aggregate is the union of the round's batches: with one local step per client,
-aggregate / lr is exactly the mean gradient over all N images (tests/test_secure_aggregation.py); with
several steps it is still a linear mixture of the same N inputs in every layer, which is what CPA and Robbing
the Fed need. The pseudo-gradient divides by the per-client step count (fl.observation.client_steps).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from fedprivacy.data.normalization import Normalization
from fedprivacy.fl.observation import LocalTraining, Observation
from fedprivacy.fl.server import fedavg
from fedprivacy.fl.view import observe_update


@dataclass(frozen=True)
class SecureAggregate:
    """What the server learns of one round under secure aggregation: the example-weighted mean of the clients'
    updates by state name (trained minus broadcast values), how many clients took part and how many examples
    they hold in all. No field names a client."""

    update: dict[str, torch.Tensor]
    num_clients: int
    total_examples: int


def secure_aggregate(updates: Sequence[Mapping[str, torch.Tensor]], counts: Sequence[int]) -> SecureAggregate:
    """The ideal functionality for one round: FedAvg's weighted mean of the clients' `updates` (each a mapping
    of state names to tensors, as its client sent them) by their example `counts` (fl.server.fedavg: integer
    entries rounded), with the public number of clients and total count. Computed in the updates' dtype."""
    if not updates or len(updates) != len(counts):
        raise ValueError("secure aggregation needs one example count per client update")
    if any(count <= 0 for count in counts):
        raise ValueError(f"every client of a securely aggregated round trains on at least one example: {list(counts)}")
    return SecureAggregate(fedavg(updates, counts), len(updates), sum(counts))


def moved_by(state: Mapping[str, torch.Tensor], aggregate: SecureAggregate) -> dict[str, torch.Tensor]:
    """The global `state` after the round: each entry moved by the aggregate's mean update (computed in float64,
    cast back to the entry's dtype, integer entries rounded as FedAvg rounds them)."""
    moved = {}
    for name, value in state.items():
        new = value.double() + aggregate.update[name].to(value.device, torch.float64)
        moved[name] = new.to(value.dtype) if value.is_floating_point() else new.round().to(value.dtype)
    return moved


def observe_aggregate(
    model: nn.Module,
    aggregate: SecureAggregate,
    image_shape: tuple[int, ...],
    normalization: Normalization,
    model_mode: str,
    local: LocalTraining,
    num_images: int | None = None,
) -> Observation:
    """What the server observes of a securely aggregated round that started from broadcast `model`: the mean
    update of the trainable parameters (cast to their dtype and device), the public local-training settings,
    the clients' total count N and number K, and the pseudo-gradient -update / (lr x steps per client); the
    attack reconstructs `num_images` of the round's N images (default: all of them, the union batch)."""
    names = [name for name, parameter in model.named_parameters() if parameter.requires_grad]
    missing = [name for name in names if name not in aggregate.update]
    if missing:
        raise ValueError(f"the aggregate holds no update of parameter {missing[0]!r}")
    parameters = dict(model.named_parameters())
    update = tuple(aggregate.update[name].to(parameters[name].device, parameters[name].dtype) for name in names)
    return observe_update(
        model, update, aggregate.total_examples, image_shape, normalization, model_mode, local, num_images,
        aggregate.num_clients,
    )  # fmt: skip
