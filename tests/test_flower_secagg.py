"""Flower's SecAgg+ (flwr 1.42's legacy workflow, the mod on every client) as the server's view of a round, on
Flower's Simulation Engine (one Ray start for this module, 127.0.0.1 only, stopped at the end): 3 clients of
3, 5 and 8 embedded CIFAR-10 images train FC-2, and the aggregate Flower's server unmasks equals the ideal
functionality's within SecAgg+'s quantisation bound, one round per setting and through main_fed's federation loop
on both engines; Flower shows each client's count beside it; a round that yields no aggregate is an error; unsafe
settings are one line before any work."""

import copy
from dataclasses import replace
from functools import partial

import pytest
import torch

pytest.importorskip("flwr")

from flwr.serverapp import ServerApp  # noqa: E402

from fedprivacy.data import Normalization  # noqa: E402
from fedprivacy.fl.federation import FedData, run_federation  # noqa: E402
from fedprivacy.fl.protocol import FedSettings, LocalTraining  # noqa: E402
from fedprivacy.fl.secure_aggregation import observe_aggregate, secure_aggregate  # noqa: E402
from fedprivacy.flower.engine import nodes_by_client, run_flower_federation  # noqa: E402
from fedprivacy.flower.secagg import (  # noqa: E402
    SecAggPlusClients,
    SecAggPlusSettings,
    secagg_client_app,
    secagg_round,
    train_planned,
)
from fedprivacy.flower.simulation import Resources, simulate, start_ray  # noqa: E402
from fedprivacy.models import build_model  # noqa: E402
from fedprivacy.utils.errors import UsageError  # noqa: E402

HALF = Normalization((0.5,) * 3, (0.5,) * 3)
SHARES = [[0, 1, 2], [3, 4, 5, 6, 7], list(range(8, 16))]
SETTINGS = FedSettings(num_rounds=3, total_clients=3, fraction=1.0, local=LocalTraining(epochs=1, batch_size=4, lr=0.1))
ROUNDS = {
    1: SecAggPlusSettings(max_weight=8.0, clipping_range=1.0),  # tuned: the update, weighted by n / 8
    2: SecAggPlusSettings(payload="weights"),  # Flower's defaults on the weights, as Flower's example sends them
    3: SecAggPlusSettings(max_weight=8.0),  # a broadcast the clients cannot load: every client fails
}


@pytest.fixture(scope="module")
def federation(cifar_sample) -> tuple[torch.nn.Module, FedData]:
    images, labels = cifar_sample.batch(list(range(16)))
    torch.manual_seed(0)
    return build_model("fc2", 3, (32, 32), 10), FedData(images, labels, SHARES, images, labels, HALF)


@pytest.fixture(scope="module")
def flower_rounds(federation) -> dict:
    """Each round's SecAggRound, or the error it raised, from one simulation of 3 virtual clients."""
    import ray

    model, data = federation
    resources = Resources(client_cpus=1.0)
    start_ray(resources)
    ref = ray.put((model, data))
    outcomes = {}
    server = ServerApp()

    @server.main()
    def main(grid, context) -> None:
        node_of = nodes_by_client(grid, SETTINGS.total_clients)
        for round_number, settings in ROUNDS.items():
            broadcast = model.state_dict()
            if round_number == 3:
                broadcast.pop(next(reversed(broadcast)))
            try:
                outcomes[round_number] = secagg_round(grid, context, round_number, broadcast, node_of, settings)
            except RuntimeError as error:
                outcomes[round_number] = str(error)

    try:
        simulate(server, secagg_client_app(ref, SETTINGS, "cpu"), SETTINGS.total_clients, resources)
        yield outcomes
    finally:
        ray.shutdown()


def ideal_round(model, data: FedData, round_number: int, weights: bool):
    """The ideal functionality on the same clients' training (run here), in float64, and the largest |value| a
    client sends (its update, or its weights)."""
    broadcast = {name: value.double() for name, value in model.state_dict().items()}
    updates, counts, largest = [], [], 0.0
    for client in range(SETTINGS.total_clients):
        state, count = train_planned(model, data, SETTINGS, "cpu", round_number, client, model.state_dict())
        update = {name: state[name].double() - broadcast[name] for name in broadcast}
        sent = state if weights else update
        largest = max(largest, max(float(value.abs().max()) for value in sent.values()))
        updates.append(update)
        counts.append(count)
    return secure_aggregate(updates, counts), counts, largest


@pytest.mark.parametrize("round_number", [1, 2])
def test_flowers_aggregate_is_the_ideal_one_within_the_quantisation_bound(federation, flower_rounds, round_number):
    model, data = federation
    settings = ROUNDS[round_number]
    flower = flower_rounds[round_number]
    assert not isinstance(flower, str), flower
    ideal, counts, largest = ideal_round(model, data, round_number, settings.payload == "weights")
    assert (flower.aggregate.num_clients, flower.aggregate.total_examples) == (3, 16) and sorted(counts) == [3, 5, 8]
    assert not settings.clips(counts, largest)
    bound = settings.error_bound(counts, largest)
    errors = torch.cat([(flower.aggregate.update[k] - ideal.update[k]).flatten() for k in ideal.update])
    assert float(errors.abs().max()) <= bound + 1e-9  # + the float32 rounding of training in another process
    rms, expected = float(errors.pow(2).mean().sqrt()), settings.noise_rms(3, 16)
    assert 0.5 < rms / expected < 1.1  # SecAgg+'s rounding noise is real, of the size the server can state
    update = torch.cat([value.flatten() for value in ideal.update.values()])
    if round_number == 1:  # tuned: the aggregate is the ideal one to a 1e-4 of its largest entry
        assert bound < 1e-4 * float(update.abs().max())
    observation = observe_aggregate(model, flower.aggregate, (3, 32, 32), HALF, "train", SETTINGS.local_training(1))
    assert observation.num_clients == 3 and observation.update[0].dtype == torch.float32


def test_flower_also_shows_the_server_each_clients_count(flower_rounds) -> None:
    flower = flower_rounds[1]
    assert sorted(flower.num_examples) == [3, 5, 8] and len(set(flower.node_ids)) == 3
    assert flower.metrics == ({}, {}, {})


def test_a_round_that_produced_no_aggregate_is_an_error(flower_rounds) -> None:
    halted = "round 3: SecAgg+ produced no aggregate (it halted: a client failed or too few took part)"
    assert flower_rounds[3] == halted


@pytest.mark.parametrize(
    ("settings", "clients", "largest", "says"),
    [
        (SecAggPlusSettings(), 1, None, "needs at least 2 clients per round"),
        (SecAggPlusSettings(quantization_range=2**30), 4, None, "would wrap around silently"),
        (SecAggPlusSettings(quantization_range=2**31, modulus_range=2**32), 1 + 1, None, "int32"),
        (SecAggPlusSettings(modulus_range=2**33), 2, None, "at most 2^32"),
        (SecAggPlusSettings(modulus_range=3 * 2**22), 2, None, "modulus_range must be a power of 2"),
        (SecAggPlusSettings(max_weight=8.0), 2, 32, "--secagg_max_weight 8: a client may train on 32 examples"),
        (SecAggPlusSettings(payload="gradient"), 2, None, "--secagg_payload gradient: choose one of update, weights"),
    ],
)
def test_unsafe_settings_are_one_line_before_any_work(settings, clients, largest, says) -> None:
    with pytest.raises(UsageError) as refused:
        settings.check(clients, largest)
    assert says in str(refused.value) and "\n" not in str(refused.value)


def test_the_flower_engine_under_secagg_plus_matches_the_local_ideal_one(federation, flower_rounds):
    """The one federation loop on Flower's engine with SecAgg+ (flower_rounds keeps Ray up): the attacked round's
    Observation and the moved global model equal the local engine's ideal functionality within SecAgg+'s bound."""
    model, data = federation
    settings = replace(SETTINGS, num_rounds=1, attack_rounds=frozenset({1}), secure_aggregation=True)
    secagg = ROUNDS[1]
    transport = partial(SecAggPlusClients, settings=secagg)
    flower_model, local_model = copy.deepcopy(model), copy.deepcopy(model)
    flower = run_flower_federation(
        flower_model, data, settings, Resources(client_cpus=1.0), False, secagg_client_app, transport
    )
    local = run_federation(local_model, data, settings, progress=False)
    _, counts, largest = ideal_round(model, data, 1, weights=False)
    bound = secagg.error_bound(counts, largest) + 1e-7  # + float32 rounding of the observed update
    (flower_case,), (local_case,) = flower.cases, local.cases
    assert flower_case.observation.num_clients == local_case.observation.num_clients == 3
    assert flower_case.observation.num_examples == local_case.observation.num_examples == 16
    assert torch.equal(flower_case.images, local_case.images)
    for ours, theirs in zip(flower_case.observation.update, local_case.observation.update, strict=True):
        assert float((ours - theirs).abs().max()) <= bound
    for name, value in local_model.state_dict().items():
        assert float((flower_model.state_dict()[name] - value).abs().max()) <= bound
