"""Each verdict on a case built to produce it, with and without ground truth; what a share gives away in
closed form before any optimisation; the cost estimate; progress as log lines; and an import that leaves
the user's logging alone."""

import subprocess
import sys

import pytest
import torch
from torch import nn

from fedprivacy.attacks import AttackConfig, get_attack
from fedprivacy.attacks.analytic import leakage
from fedprivacy.attacks.cost import estimate_cost
from fedprivacy.data import Normalization
from fedprivacy.evaluation.report import summary_line
from fedprivacy.evaluation.runner import attack_cases, attempt
from fedprivacy.fl.case import Case
from fedprivacy.fl.exchange import share_gradient, share_update
from fedprivacy.fl.observation import LocalTraining
from fedprivacy.flower.quickstart import Net
from fedprivacy.models import build_model
from fedprivacy.utils.progress import LogLines, loss_bar

GREY = Normalization.identity(1)
HALF = Normalization((0.5,) * 3, (0.5,) * 3)


def config(attack: str, steps: int) -> AttackConfig:
    """The attack's budget (by its older name, rec_epochs) at lr 1, two trials, no stopping before both."""
    return get_attack(attack).configure(rec_epochs=steps, rec_lr=1.0, tv=0.0, restarts=2, min_trials=2, progress=False)


@pytest.fixture(scope="module")
def digit() -> tuple[torch.Tensor, torch.Tensor]:
    from fedprivacy.data import load_split

    return load_split("digits", "test").batch([0])


def shared(model: nn.Module, batch) -> Case:
    images, labels = batch
    return Case(share_gradient(model, GREY.normalize(images), labels, GREY, "train"), images, labels)


def test_recovered_when_the_restarts_agree_and_when_the_truth_says_so(digit) -> None:
    """iDLG on an 8x8 digit through LeNet matches in two L-BFGS steps, both restarts on the same image."""
    torch.manual_seed(0)
    case = shared(build_model("lenet", 1, (8, 8), 10), digit)
    blind = attempt(get_attack("idlg"), config("idlg", 2), case.observation).verdict(case.observation)
    assert blind.verdict == "recovered" and blind.evidence["matched_trials"] == 2
    assert blind.evidence["restart_spread_db"] > 40 and blind.evidence["match"] < 1e-6
    run = attack_cases(get_attack("idlg"), config("idlg", 2), [case])
    assert run.experiments[0]["verdict"] == "recovered" and run.summary["verdicts"] == {"recovered": 1}
    assert run.experiments[0]["verdict_evidence"]["truth"]["recognisable"] == 1
    assert "| verdict recovered |" in summary_line("idlg", run.summary, "grid.png")


def test_ambiguous_when_the_model_does_not_pin_the_image_down(digit) -> None:
    """A model that sees only four pooled pixel means: every restart matches exactly, each a different image."""
    torch.manual_seed(0)
    case = shared(nn.Sequential(nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(4, 10)), digit)
    blind = attempt(get_attack("idlg"), config("idlg", 5), case.observation).verdict(case.observation)
    assert blind.verdict == "ambiguous" and blind.evidence["matched"] and blind.evidence["match"] < 1e-8
    assert blind.evidence["restart_spread_db"] < 15 and "differ from each other" in blind.evidence["why"]
    run = attack_cases(get_attack("idlg"), config("idlg", 5), [case])
    assert (
        run.experiments[0]["verdict"] == "ambiguous"
        and "differ from the truth" in run.experiments[0]["verdict_evidence"]["why"]
    )


def test_not_converged_when_the_budget_is_too_small(digit) -> None:
    """Five Adam steps of ig_single leave the cosine distance far above its level; the curve says how far."""
    torch.manual_seed(0)
    case = shared(build_model("lenet", 1, (8, 8), 10), digit)
    short = get_attack("ig_single").configure(iterations=5, lr=0.1, tv=0.0, restarts=2, min_trials=2, progress=False)
    found = attempt(get_attack("ig_single"), short, case.observation).verdict(case.observation)
    evidence = found.evidence
    assert found.verdict == "not_converged" and evidence["match"] > evidence["matched_below"]
    assert evidence["trials"] == 2 and evidence["extrapolated_budget"] is not None
    assert set(evidence["extrapolated_budget"]) & {"evaluations", "why"}


def test_not_applicable_when_the_attack_lacks_what_it_needs(digit) -> None:
    """ig_multi differentiates through local training: a plain gradient does not serve it."""
    case = shared(build_model("lenet", 1, (8, 8), 10), digit)
    tried = attempt(get_attack("ig_multi"), config("ig_multi", 5), case.observation)
    found = tried.verdict(case.observation)
    assert tried.result is None and found.verdict == "not_applicable" and "update" in found.evidence["why"]


def test_the_blitz_cnn_gives_fc1s_400_input_features_away_at_one_image(cifar_sample) -> None:
    """One image, one local step of momentum SGD: every linear layer's input is read off its gradient."""
    net = Net()
    pixels, labels = cifar_sample.batch([0])
    local = LocalTraining(epochs=1, batch_size=32, lr=0.01, momentum=0.9)
    found = leakage(share_update(net, HALF.normalize(pixels), labels, HALF, "train", local))
    seen = {}
    net.fc1.register_forward_hook(lambda _m, inputs, _o: seen.update(fc1=inputs[0][0].detach()))
    net(HALF.normalize(pixels))
    fc1 = found.layers[0]
    assert (fc1.layer, fc1.reads, fc1.inputs.numel(), fc1.exact) == ("fc1", "features", 400, True)
    assert float((fc1.inputs - seen["fc1"]).abs().max() / seen["fc1"].abs().max()) < 1e-4
    assert found.labels == labels.tolist() and found.describe()["labels_exact"]
    assert found.sentence().startswith("read off exactly: fc1's 400 input features")


def test_a_first_layer_fc_gives_the_image_and_a_batch_gives_nothing(digit) -> None:
    from fedprivacy.data import load_split

    model = build_model("mlp", 1, (8, 8), 10)
    found = leakage(shared(model, digit).observation)
    assert found.layers[0].reads == "image" and found.layers[0].exact
    assert torch.allclose(found.layers[0].inputs, digit[0].flatten(), atol=1e-4)
    batch = load_split("digits", "test").batch([0, 1])
    assert leakage(shared(model, batch).observation).layers == []


def test_the_cost_estimate_counts_gradient_evaluations_and_times_one(digit) -> None:
    observation = shared(build_model("lenet", 1, (8, 8), 10), digit).observation
    lbfgs = estimate_cost(get_attack("idlg"), observation, config("idlg", 300))
    assert lbfgs.budget.evaluations == 300 * 2 * 25 and not lbfgs.budget.exact and lbfgs.seconds_per_evaluation > 0
    assert lbfgs.line().startswith("cost estimate: idlg: at most 15,000 gradient evaluations (300 L-BFGS steps x 2")
    adam = estimate_cost(get_attack("ig_single"), observation, config("ig_single", 100))
    assert adam.budget.evaluations == 200 and adam.budget.exact
    assert adam.seconds == pytest.approx(200 * adam.seconds_per_evaluation)


def test_progress_is_log_lines_where_no_terminal_shows_a_bar(capsys) -> None:
    bar = loss_bar(40, "idlg", enabled=True)  # pytest's stderr is no terminal
    assert isinstance(bar, LogLines)
    with bar:
        for _ in range(20):
            bar.set_postfix(loss="0.5")
            bar.update(2)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 10 and lines[4].startswith("idlg: 50% (20/40), loss 0.5, ")


def test_importing_the_package_leaves_the_root_logger_alone() -> None:
    code = (
        "import logging\n"
        "import fedprivacy.flower.audit, fedprivacy.flower.config, fedprivacy.defenses\n"
        "from fedprivacy.defenses.dpsgd import DPSGD\n"
        "DPSGD(1.0, 1.0).privacy([(0.5, 2)])\n"
        "root = logging.getLogger()\n"
        "print(len(root.handlers), root.level)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["0", str(30)]
