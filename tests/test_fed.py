"""FedAvg simulation and the server-side attack: exact aggregation, the broadcast model as the
attack's starting point, a one-step one-image client recovered, and one-line errors for bad flags."""

import copy
from dataclasses import replace
from pathlib import Path

import pytest
import torch

import main_fed
from fedprivacy.cli.common import run_cli
from fedprivacy.data import Normalization, load_split
from fedprivacy.fl.client import train_locally
from fedprivacy.fl.federation import FedData, run_federation
from fedprivacy.fl.partition import partition
from fedprivacy.fl.protocol import FedSettings, LocalTraining, plan_round
from fedprivacy.fl.server import fedavg
from fedprivacy.models import build_model


@pytest.fixture(scope="module")
def digits() -> FedData:
    train, test = load_split("digits", "train"), load_split("digits", "test")
    images, labels = train.batch(list(range(300)))
    test_images, test_labels = test.batch(list(range(100)))
    shares = partition(labels.numpy(), 3, False, "dirichlet", 0.5, 2, 10, seed=0)
    return FedData(images, labels, shares, test_images, test_labels, Normalization((0.5,), (0.5,)))


def settings(**overrides) -> FedSettings:
    local = LocalTraining(epochs=2, batch_size=16, lr=0.1, momentum=0.5, weight_decay=1e-4)
    return FedSettings(
        **{"num_rounds": 2, "total_clients": 3, "fraction": 1.0, "local": local, "lr_decay": 0.5, **overrides}
    )


def test_fedavg_is_the_sample_weighted_mean() -> None:
    states = [
        {"w": torch.tensor([1.0, 2.0]), "n": torch.tensor(2)},
        {"w": torch.tensor([3.0, 6.0]), "n": torch.tensor(6)},
    ]
    averaged = fedavg(states, [1, 3])
    assert torch.equal(averaged["w"], torch.tensor([2.5, 5.0]))
    assert averaged["n"].dtype == torch.long and int(averaged["n"]) == 5


def test_attack_off_matches_a_reference_fedavg_exactly(digits: FedData) -> None:
    torch.manual_seed(0)
    model = build_model("cnn", 1, (8, 8), 10)
    reference = copy.deepcopy(model)
    config = settings()
    result = run_federation(model, digits, config, progress=False)
    for round_number in (1, 2):
        plan = plan_round(digits.shares, config, round_number)
        lr = 0.1 * 0.5 ** (round_number - 1)
        assert plan.selected == [0, 1, 2] and plan.attacked is None
        assert sorted(plan.samples[0]) == sorted(digits.shares[0])
        local = config.local_training(round_number)
        assert local.lr == lr
        states, counts = [], []
        for client in plan.selected:
            indices = plan.samples[client]
            images = digits.normalization.normalize(digits.train_images[indices])
            states.append(train_locally(reference, images, digits.train_labels[indices], local, "train").state_dict())
            counts.append(len(indices))
        total = sum(counts)
        reference.load_state_dict(
            {key: sum(n * s[key] for s, n in zip(states, counts, strict=True)) / total for key in states[0]}
        )
    for key, value in reference.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
    assert result.cases == [] and len(result.rounds) == 2
    assert result.rounds[-1]["accuracy"] > result.initial_accuracy


def test_fraction_selects_clients_and_the_small_client_trains_on_victim_images(digits: FedData) -> None:
    config = settings(total_clients=3, fraction=0.34, attack_rounds=frozenset({2}), rec_batch_size=4, victim_images=4)
    first, second = plan_round(digits.shares, config, 1), plan_round(digits.shares, config, 2)
    assert len(first.selected) == len(second.selected) == 1
    assert first.attacked is None and second.attacked == second.selected[0]
    assert len(second.samples[second.attacked]) == 4
    assert set(second.samples[second.attacked]) <= set(digits.shares[second.attacked])


def test_by_default_the_attacked_client_trains_on_all_its_data(digits: FedData) -> None:
    config = settings(attack_rounds=frozenset({1}), rec_batch_size=2)
    plan = plan_round(digits.shares, config, 1)
    assert plan.attacked is not None
    assert sorted(plan.samples[plan.attacked]) == sorted(digits.shares[plan.attacked])
    torch.manual_seed(0)
    result = run_federation(build_model("cnn", 1, (8, 8), 10), digits, replace(config, num_rounds=1), progress=False)
    (case,) = result.cases
    assert len(case.images) == len(digits.shares[plan.attacked]) > case.observation.num_images == 2
    assert case.observation.num_examples == len(case.images)


@pytest.mark.parametrize(
    ("flags", "scenario", "marker"), [([], "full_client", ""), (["--victim_images", "1"], "small_client", "_v1")]
)
def test_the_json_and_the_name_say_which_client_was_attacked(
    flags: list[str], scenario: str, marker: str, tmp_path: Path
) -> None:
    argv = ["--attack", "idlg", "--model", "lenet", "--num_rounds", "1", "--rec_epochs", "2", "--quiet"]
    report = main_fed.main([*argv, *flags, "--out_dir", str(tmp_path)])
    assert report["scenario"]["name"] == scenario
    realistic = [note for note in report["summary"]["notes"] if note.startswith("a realistic client")]
    assert bool(realistic) == (scenario == "full_client")  # named on the summary line
    assert Path(report["grid"]).name.endswith(f"_1rb_1.0rl{marker}_10c_1r_1e_10b_0.1l_0.5m.png")
    held = len(report["experiments"][0]["dataset_indices"])
    assert held == 1 if flags else held > 1


def test_attack_starts_from_the_broadcast_model_not_the_trained_one(digits: FedData) -> None:
    torch.manual_seed(0)
    model = build_model("cnn", 1, (8, 8), 10)
    config = settings(num_rounds=2, attack_rounds=frozenset({1, 2}), rec_batch_size=2)
    result = run_federation(model, digits, config, progress=False)
    rounds = [case.meta["round"] for case in result.cases]
    assert rounds == [1, 2]
    # Replay: the broadcast model of round 2 is the global model after round 1.
    torch.manual_seed(0)
    replay = build_model("cnn", 1, (8, 8), 10)
    broadcast = {1: copy.deepcopy(replay.state_dict())}
    run_federation(
        replay, digits, settings(num_rounds=1, attack_rounds=frozenset({1}), rec_batch_size=2), progress=False
    )
    broadcast[2] = replay.state_dict()
    for case in result.cases:
        observation = case.observation
        seen = dict(observation.model.named_parameters())
        local = observation.local_training
        images = observation.normalization.normalize(case.images)
        trained = dict(train_locally(observation.model, images, case.labels, local, "train").named_parameters())
        for (name, value), update in zip(seen.items(), observation.update, strict=True):
            assert torch.equal(value, broadcast[case.meta["round"]][name]), name
            assert torch.allclose(value + update, trained[name], atol=1e-6)
        assert not all(torch.equal(seen[name], trained[name]) for name in seen)
        assert local.lr == pytest.approx(0.1 * 0.5 ** (case.meta["round"] - 1))
        assert observation.num_images == 2 and local.epochs == 2 and local.momentum == 0.5


def test_one_step_one_image_client_is_recovered(tmp_path) -> None:
    argv = ["--dataset", "cifar10_sample", "--model", "lenet", "--attack", "idlg", "--total_clients", "2"]
    argv += ["--num_rounds", "1", "--iid", "--local_epochs", "1", "--rec_batch_size", "1", "--victim_images", "1"]
    argv += ["--batch_size", "50", "--client_momentum", "0"]
    report = main_fed.main([*argv, "--normalize", "--quiet", "--out_dir", str(tmp_path)])
    assert report["summary"]["psnr"] > 25
    assert report["summary"]["label_acc"] == 1.0
    assert report["experiments"][0]["round"] == 1
    stem = "fedavg_idlg_nzcifar10_sample_lenet_iid_300re_1rb_1.0rl_v1_2c_1r_1e_50b_0.1l_0.0m"
    assert {p.name for p in tmp_path.iterdir()} == {f"{stem}.png", f"{stem}.json", f"{stem}_accuracy.png"}


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--C", "0"], "--C"),
        (["--C", "1.5"], "--C"),
        (["--lr", "-1"], "--lr"),
        (["--attack", "nope"], "--attack"),
        (["--attack_rounds", "11"], "--attack_rounds"),
        (["--attack_rounds", "first"], "--attack_rounds"),
        (["--p_type", "fix_class", "--num_classes_per_client", "11"], "--num_classes_per_client"),
        (["--beta", "0"], "--beta"),
        (["--total_clients", "0"], "--total_clients"),
        (["--rec_batch_size", "5000"], "--rec_batch_size"),
        (["--dataset", "nope"], "--dataset"),
        (["--model", "nope"], "--model"),
        (["--attack", "idlg", "--known_labels"], "--known_labels"),
        (["--attack", "none", "--known_labels"], "--known_labels"),
        (["--attack", "rtf"], "--imprint"),
        (["--defense", "dpsgd", "--clip_norm", "1"], "--noise_multiplier"),
        (["--defense", "prune", "--prune_ratio", "1"], "--prune_ratio"),
    ],
)
def test_bad_flags_are_one_line_errors(flags: list[str], named: str, capsys, tmp_path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_cli(lambda: main_fed.main([*flags, "--quiet", "--out_dir", str(tmp_path)]))
    error = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2
    assert len(error.splitlines()) == 1 and error.startswith("error:") and named in error


def test_a_run_whose_every_attack_diverged_exits_non_zero(monkeypatch, capsys, tmp_path) -> None:
    import importlib

    from fedprivacy.attacks import ATTACKS
    from fedprivacy.utils.errors import AttackDiverged

    def diverge(observation, config):
        raise AttackDiverged("idlg: diverged on purpose")

    monkeypatch.setattr(importlib.import_module(ATTACKS["idlg"].method), "run", diverge)
    argv = ["--attack", "idlg", "--model", "lenet", "--num_rounds", "1", "--quiet", "--out_dir", str(tmp_path)]
    with pytest.raises(SystemExit) as exit_info:
        run_cli(lambda: main_fed.main(argv))
    assert exit_info.value.code == 1
    assert capsys.readouterr().err.startswith("error: every experiment failed (1 of 1 image(s) unscored)")
    (written,) = tmp_path.glob("*.json")
    assert '"status": "failed"' in written.read_text()


@pytest.mark.parametrize(("verdicts", "expected"), [({"not_converged": 1}, True), ({"recovered": 1}, False)])
def test_a_realistic_clients_failure_is_called_expected_unless_an_image_was_recovered(verdicts, expected) -> None:
    from fedprivacy.evaluation.report import federation_notes

    report = {
        "summary": {"final_accuracy": 0.9, "chance_accuracy": 0.1, "verdicts": verdicts},
        "scenario": {"name": "full_client"},
        "experiments": [{"dataset_indices": list(range(204))}],
        "args": {"client.epochs": 1, "client.batch_size": 10},
    }
    (note,) = federation_notes(report)
    assert note.startswith("a realistic client (it trained on all its 204 images, 21 local steps)")
    assert ("failure is the expected outcome here, not a fault" in note) == expected


@pytest.mark.parametrize(("final", "warned"), [(0.12, True), (0.2, False)])
def test_a_federation_at_chance_accuracy_is_warned_about(final: float, warned: bool) -> None:
    from fedprivacy.evaluation.report import federation_notes

    report = {"summary": {"final_accuracy": final, "chance_accuracy": 0.103}, "args": {}}
    notes = federation_notes(report)
    assert bool(notes) == warned and all(note.startswith("warning: test accuracy") for note in notes)
