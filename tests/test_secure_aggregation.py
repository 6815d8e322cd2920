"""Secure aggregation's ideal functionality on tiny real rounds (the embedded CIFAR-10 images split among 3-4
clients): the server's view is FedAvg's weighted mean of the clients' updates and holds no single one; with one
local step it is the union batch's gradient; CPA, Robbing the Fed and label restoration read it as the union
batch; an attack that replays one client's training is refused in one line."""

import pytest
import torch

import main_fed
from fedprivacy.attacks import get_attack
from fedprivacy.attacks.fits import check
from fedprivacy.attacks.label_strategies import restore
from fedprivacy.attacks.rtf import expected_alone_share
from fedprivacy.cli.common import run_cli
from fedprivacy.data import Normalization
from fedprivacy.defenses.base import trainable_parameters
from fedprivacy.evaluation.metrics import flat_psnr, psnr, recognisable, ssim
from fedprivacy.evaluation.pairing import pair_by_mse
from fedprivacy.fl.client import client_update
from fedprivacy.fl.exchange import share_gradient
from fedprivacy.fl.federation import FedData, run_federation
from fedprivacy.fl.observation import LocalTraining, client_steps
from fedprivacy.fl.protocol import FedSettings, plan_round
from fedprivacy.fl.secure_aggregation import moved_by, observe_aggregate, secure_aggregate
from fedprivacy.fl.server import fedavg
from fedprivacy.models import build_model
from fedprivacy.models.imprint import find_imprint, imprint_model
from fedprivacy.utils.errors import UsageError

HALF = Normalization((0.5,) * 3, (0.5,) * 3)
SHAPE = (3, 32, 32)
ONE_STEP = LocalTraining(epochs=1, batch_size=8, lr=0.1)  # every client below holds at most 8 images


def model_of(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(name, 3, (32, 32), 10)


def clients_of(split, sizes: tuple[int, ...]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Consecutive embedded images split into clients of `sizes` images ([0, 1] pixels and labels)."""
    starts = [sum(sizes[:k]) for k in range(len(sizes))]
    return [split.batch(list(range(start, start + size))) for start, size in zip(starts, sizes, strict=True)]


def train_round(model, clients, local: LocalTraining, normalization: Normalization = HALF):
    """Each client's update by parameter name and trained state, as the clients compute them."""
    updates, states = [], []
    for images, labels in clients:
        update, state = client_update(model, normalization.normalize(images), labels, local, "train")
        updates.append(dict(zip(trainable_parameters(model), update, strict=True)))
        states.append(state)
    return updates, states


def flat(update) -> torch.Tensor:
    return torch.cat([u.flatten().double() for u in update])


def test_the_aggregate_is_the_weighted_mean_and_holds_no_single_update(cifar_sample) -> None:
    model = model_of("fc2")
    sizes = (3, 5, 8)
    local = LocalTraining(epochs=1, batch_size=4, lr=0.1)  # 1, 2 and 2 steps
    updates, states = train_round(model, clients_of(cifar_sample, sizes), local)
    aggregate = secure_aggregate(updates, sizes)
    assert (aggregate.num_clients, aggregate.total_examples) == (3, 16)
    for name in updates[0]:
        exact = sum(n * u[name].double() for u, n in zip(updates, sizes, strict=True)) / sum(sizes)
        assert torch.allclose(aggregate.update[name].double(), exact, rtol=1e-5, atol=1e-10)
    mean = flat(aggregate.update.values())
    for update in updates:
        single = flat(update.values())
        assert (mean - single).norm() > 0.3 * single.norm()
    observation = observe_aggregate(model, aggregate, SHAPE, HALF, "train", local)
    assert (observation.num_clients, observation.num_examples, observation.num_images) == (3, 16, 16)
    assert observation.labels is None and observation.local_steps() == client_steps(local, 16, 3) == 2
    assert torch.equal(flat(observation.update), flat(aggregate.update[n] for n in updates[0]))
    global_state = moved_by(model.state_dict(), aggregate)  # the server moves its model by the aggregate alone
    averaged = fedavg(states, sizes)
    assert all(torch.allclose(global_state[k], averaged[k], atol=1e-7) for k in averaged)


def test_one_local_step_each_gives_the_union_batch_gradient(cifar_sample) -> None:
    model = model_of("fc2")
    clients = clients_of(cifar_sample, (2, 4, 6))
    updates, _ = train_round(model, clients, ONE_STEP)
    observation = observe_aggregate(model, secure_aggregate(updates, (2, 4, 6)), SHAPE, HALF, "train", ONE_STEP)
    images, labels = (torch.cat(part) for part in zip(*clients, strict=True))
    union = flat(share_gradient(model, HALF.normalize(images), labels, HALF, "train").gradient)
    assert (flat(observation.gradient) - union).norm() < 1e-4 * union.norm()  # measured 4.7e-7: float32 rounding
    unweighted = sum(flat(u.values()) for u in updates) / 3 / -ONE_STEP.lr  # averaging without the counts
    assert (unweighted - union).norm() > 1e-2 * union.norm()  # measured 0.50


def test_cpa_unmixes_the_aggregate_into_the_images_of_every_client(cifar_sample) -> None:
    model = model_of("fc2")
    clients = clients_of(cifar_sample, (2, 4, 6, 8))
    updates, _ = train_round(model, clients, ONE_STEP)
    observation = observe_aggregate(model, secure_aggregate(updates, (2, 4, 6, 8)), SHAPE, HALF, "train", ONE_STEP)
    config = get_attack("cpa").configure(iterations=50, progress=False)  # lr 1e-3, TV 3.1: the defaults
    result = get_attack("cpa").run(observation, config)
    truth = torch.cat([images for images, _ in clients])
    pixels = HALF.denormalize(result.images).clamp(0, 1)
    pixels = pixels[pair_by_mse(pixels, truth)]
    assert len(pixels) == 20 and result.stats["clients_mixed"] == 4
    found = recognisable(psnr(pixels, truth), ssim(pixels, truth), flat_psnr(truth))
    assert found.float().mean() >= 0.9  # measured: all 20, mean PSNR 26.7 dB


def test_robbing_the_fed_recovers_the_images_alone_in_their_bin_from_the_aggregate(cifar_sample) -> None:
    torch.manual_seed(0)
    model = imprint_model(build_model("mlp", 3, (32, 32), 10), SHAPE, 128, HALF, None, cifar_sample.info)
    clients = clients_of(cifar_sample, (4, 4, 4, 4))
    updates, _ = train_round(model, clients, ONE_STEP)
    observation = observe_aggregate(model, secure_aggregate(updates, (4,) * 4), SHAPE, HALF, "train", ONE_STEP)
    result = get_attack("rtf").run(observation, get_attack("rtf").configure(progress=False))
    truth = torch.cat([images for images, _ in clients])
    with torch.no_grad():  # scoring side: which bin each private image fell in
        bins = (find_imprint(model)[1].imprint(HALF.normalize(truth).flatten(1)) > 0).sum(dim=1) - 1
    alone = torch.bincount(bins)[bins] == 1
    pixels = HALF.denormalize(result.images).clamp(0, 1)
    best = torch.stack([psnr(pixels, image.expand_as(pixels)).max() for image in truth])
    assert alone.sum() >= 10 and (best[alone] > 40).all()  # measured: 12 alone, all but one above 60 dB
    assert result.stats["clients_mixed"] == 4 and len(result.images) == 16
    assert result.stats["expected_alone_share"] == pytest.approx((127 / 128) ** 15)
    assert expected_alone_share(1, 128) == 1.0


def test_label_restoration_reads_the_aggregate_as_one_batch(cifar_sample) -> None:
    model = model_of("lenet5")
    identity = Normalization.identity(3)
    clients = clients_of(cifar_sample, (2, 4, 6, 8))
    updates, _ = train_round(model, clients, ONE_STEP, identity)
    observation = observe_aggregate(model, secure_aggregate(updates, (2, 4, 6, 8)), SHAPE, identity, "train", ONE_STEP)
    labels = torch.cat([labels for _, labels in clients]).tolist()

    def right(strategy: str) -> int:
        restored = restore(observation, strategy, torch.Generator().manual_seed(0)).tolist()
        return sum(min(restored.count(c), labels.count(c)) for c in set(labels))

    assert right("count") == 20 and right("ilrg") >= 18 and right("llg") >= 11  # measured 20, 19, 13


def test_an_attack_that_replays_one_clients_training_is_refused_on_an_aggregate(cifar_sample) -> None:
    model = model_of("fc2")
    updates, _ = train_round(model, clients_of(cifar_sample, (2, 2)), ONE_STEP)
    observation = observe_aggregate(model, secure_aggregate(updates, (2, 2)), SHAPE, HALF, "train", ONE_STEP)
    for name in ("ig_weight", "ig_multi"):
        with pytest.raises(UsageError) as refused:
            get_attack(name).run(observation, get_attack(name).configure(iterations=1, lr=0.1, tv=0.0, progress=False))
        assert "needs that client's own update" in str(refused.value) and "\n" not in str(refused.value)
        spec = get_attack(name)
        with pytest.raises(UsageError):  # the entry scripts' check before any work, given the scenario
            check(name, spec.needs, model, 4, 10, update=True, labels=False, aggregate=True)
        check(name, spec.needs, model, 4, 10, update=True, labels=False)  # one client's own update: allowed
    for name in ("dlg", "idlg", "ig_single", "grnn", "cpa"):
        get_attack(name).check(observation)  # they read the aggregate as one batch


def test_bad_rounds_are_refused() -> None:
    update = {"w": torch.ones(2)}
    with pytest.raises(ValueError, match="one example count per client"):
        secure_aggregate([update, update], [3])
    with pytest.raises(ValueError, match="at least one example"):
        secure_aggregate([update, update], [3, 0])


def test_the_federation_loop_attacks_the_rounds_aggregate_under_secure_aggregation(cifar_sample) -> None:
    images, labels = cifar_sample.batch(list(range(20)))
    shares = [list(range(0, 6)), list(range(6, 13)), list(range(13, 20))]
    data = FedData(images, labels, shares, images, labels, HALF)
    settings = FedSettings(
        num_rounds=2, total_clients=3, fraction=1.0, local=LocalTraining(epochs=1, batch_size=4, lr=0.1),
        attack_rounds=frozenset({2}), victim_images=5, secure_aggregation=True,
    )  # fmt: skip
    model, reference = model_of("fc2"), model_of("fc2")
    result = run_federation(model, data, settings, progress=False)
    for round_number in (1, 2):  # the same clients' training, averaged by FedAvg in the clear
        plan, local = plan_round(shares, settings, round_number), settings.local_training(round_number)
        cut = plan.samples if round_number == 2 else None
        assert cut is None or all(len(indices) == 5 for indices in cut.values())
        clients = [(images[plan.samples[c]], labels[plan.samples[c]]) for c in plan.selected]
        updates, states = train_round(reference, clients, local)
        counts = [len(plan.samples[c]) for c in plan.selected]
        if round_number == 2:
            (case,) = result.cases
            observation = case.observation
            assert (observation.num_clients, observation.num_examples, observation.num_images) == (3, 15, 15)
            assert case.meta["round"] == 2 and "client" not in case.meta and len(case.images) == 15
            exact = {n: sum(k * u[n].double() for u, k in zip(updates, counts, strict=True)) / 15 for n in updates[0]}
            assert torch.allclose(flat(observation.update), flat(exact.values()), rtol=1e-4, atol=1e-8)
            for update in updates:  # no single client's update
                assert (flat(observation.update) - flat(update.values())).norm() > 0.3 * flat(update.values()).norm()
        reference.load_state_dict(fedavg(states, counts))
    assert all(torch.allclose(model.state_dict()[k], v, atol=1e-6) for k, v in reference.state_dict().items())


def secagg_run(tmp_path, *flags: str) -> dict:
    argv = ["--secure_aggregation", "--model", "fc2", "--dataset", "cifar10_sample", "--total_clients", "4",
            "--num_rounds", "1", "--victim_images", "4", "--iid", "--quiet", "--out_dir", str(tmp_path)]  # fmt: skip
    return main_fed.main([*argv, *flags])


@pytest.mark.parametrize(
    ("flags", "recovered"),
    [(("--attack", "cpa", "--cpa.iterations", "300"), "SSIM"), (("--attack", "rtf", "--imprint"), "PSNR")],
)
def test_main_fed_attacks_the_aggregate_and_records_the_scenario(tmp_path, flags, recovered) -> None:
    report = secagg_run(tmp_path, *flags)
    written = sorted(path.name for path in tmp_path.iterdir())
    stem = written[0].removesuffix(".json")
    assert "_secagg_" in stem and written == [f"{stem}.json", f"{stem}.png", f"{stem}_accuracy.png"]
    assert report["scenario"]["name"] == "secure_aggregation"
    assert report["scenario"]["protocol"] == "ideal functionality"
    (experiment,) = report["experiments"]
    assert (experiment["num_clients"], experiment["total_examples"]) == (4, 16) and "client" not in experiment
    assert len(report["per_image"]) == 16  # the union of the round's images
    score = [row["ssim" if recovered == "SSIM" else "psnr"] for row in report["per_image"]]
    assert sum(s > (0.5 if recovered == "SSIM" else 30) for s in score) >= 8


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--attack", "ig_weight"], "needs that client's own update"),
        (["--attack", "ig_multi"], "needs that client's own update"),
        (["--attack", "cpa", "--rec_batch_size", "4"], "--rec_batch_size"),
        (["--attack", "cpa", "--secagg_max_weight", "8"], "--secagg_max_weight applies only with --engine flower"),
        (["--attack", "cpa", "--engine", "flower", "--secagg_max_weight", "2"], "a client may train on 4 examples"),
        (["--attack", "cpa", "--engine", "flower", "--total_clients", "1"], "needs at least 2 clients per round"),
        (
            ["--attack", "cpa", "--dataset", "digits", "--victim_images", "40", "--total_clients", "2"],
            "round's 80 images",
        ),
    ],
)
def test_what_secure_aggregation_rules_out_is_one_line_before_any_work(flags, named, capsys, tmp_path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_cli(lambda: secagg_run(tmp_path, *flags))
    error = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and len(error.splitlines()) == 1 and error.startswith("error:")
    assert named in error and not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "flags",
    [
        ["--secagg_payload", "weights"],
        ["--secagg_clipping_range", "1"],
        ["--engine", "flower", "--secagg_modulus_range", "64"],
    ],
)
def test_secagg_settings_without_secure_aggregation_are_refused(flags, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main_fed.parse_args(["--attack", "cpa", *flags])
    error = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and error.startswith(f"error: {flags[-2]} applies only with --secure_aggregation")


def test_the_audits_secagg_cells_run_main_fed_on_8_clients_holding_the_rows_batch(tmp_path) -> None:
    from benchmarks import audit

    for name in ("cpa", "rtf", "dlg"):
        (tmp_path / audit.ROWS[name].data).touch()
    column = next(column for column in audit.COLUMNS if column.key == "secagg")
    for name, batch in (("cpa", 8), ("rtf", 16), ("dlg", 1)):
        args = main_fed.parse_args(audit.secagg_flags(audit.ROWS[name], column, tmp_path, 1))
        assert args.secure_aggregation and (args.total_clients, args.victim_images) == (8, batch)
        assert (args.attack, args.num_rounds, args.iid, vars(args)["client.batch_size"]) == (name, 1, True, batch)


def test_a_federation_without_attack_also_records_secure_aggregation(tmp_path) -> None:
    argv = ["--secure_aggregation", "--attack", "none", "--model", "fc2", "--dataset", "cifar10_sample",
            "--total_clients", "4", "--num_rounds", "1", "--iid", "--quiet", "--out_dir", str(tmp_path)]  # fmt: skip
    report = main_fed.main(argv)
    (json_file,) = tmp_path.glob("*.json")
    assert "_secagg_" in json_file.name and report["scenario"]["protocol"] == "ideal functionality"
    assert report["args"]["secure_aggregation"] is True and "per_image" not in report
