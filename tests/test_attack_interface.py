"""Every attack declares typed capabilities and options (with its defaults, units and presets in one place);
one check turns a mismatch into one line; one restart loop keeps the best finite trial."""

import math
from dataclasses import fields

import pytest
import torch
from torch import nn
from tqdm import tqdm

import main_grad
from fedprivacy.attacks import ATTACKS, Capabilities, all_presets
from fedprivacy.attacks.fits import check
from fedprivacy.attacks.restarts import best_trial
from fedprivacy.utils.domains import Count, Real
from fedprivacy.utils.errors import AttackDiverged, UsageError


def test_every_attack_declares_capabilities_typed_options_and_a_budget() -> None:
    for spec in ATTACKS.values():
        assert isinstance(spec.needs, Capabilities) and spec.needs.describe()
        assert spec.budget(spec.options_with())
        for item in fields(spec.options):
            assert item.metadata["help"]
            if isinstance(item.default, (int, float)) and not isinstance(item.default, bool):
                assert isinstance(item.metadata["domain"], (Real, Count)), item.name
            if "rec_epochs" in item.metadata["aliases"]:  # the budget names its unit
                assert item.metadata["unit"], f"{spec.name}.{item.name}"


def test_every_preset_resolves_to_options_of_its_attack() -> None:
    assert all_presets()
    for name in all_presets():
        attack, _, preset = name.partition(".")
        options = ATTACKS[attack].options_with(preset)
        assert all(getattr(options, key) == value for key, value in ATTACKS[attack].preset(preset).items())
    inherited = ATTACKS["cpa"].options_with("original_vgg16")
    assert (inherited.iterations, inherited.temperature) == (25000, 7.7)  # from cpa.paper, then its own


@pytest.mark.parametrize(
    ("flags", "value"),
    [(["--attack", "ggl", "--ggl.budget"], "0"), (["--attack", "ggl", "--kl_weight"], "-1"), (["--cpa.fi_lr"], "nan")],
)
def test_option_flags_refuse_values_outside_their_domain_in_one_line(capsys, flags: list[str], value: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main_grad.parse_args([*flags, value])
    assert exit_info.value.code == 2 and len(capsys.readouterr().err.strip().splitlines()) == 1


MLP = nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 3))


@pytest.mark.parametrize(
    ("needs", "images", "update", "labels", "message"),
    [
        (Capabilities(), 1, False, True, "does not take known labels"),
        (Capabilities(max_batch=1), 2, False, False, "at most 1 image"),
        (Capabilities(min_batch=2), 1, False, False, "at least 2 images per batch; pass --rec_batch_size 2"),
        (Capabilities(imprint=True), 1, False, False, "needs --imprint"),
        (Capabilities(update=True), 1, False, False, "needs a shared weight update"),
        (Capabilities(linear_width=True), 9, False, False, "separates at most 8"),
    ],
)
def test_one_check_gives_one_line_errors(needs, images: int, update: bool, labels: bool, message: str) -> None:
    with pytest.raises(UsageError, match=message) as error:
        check("x", needs, MLP, images, 3, update=update, labels=labels)
    assert "\n" not in str(error.value)
    check("x", Capabilities(label_layer=True, linear_width=True), MLP, 8, 3, update=False, labels=False)


def test_label_restoration_needs_a_final_layer_unless_labels_are_known() -> None:
    convolutional = nn.Sequential(nn.Conv2d(3, 3, 1), nn.Flatten())
    needs = Capabilities(label_layer=True, known_labels=True)
    with pytest.raises(UsageError, match="pass --known_labels"):
        check("x", needs, convolutional, 1, 3, update=False, labels=False)
    check("x", needs, convolutional, 1, 3, update=False, labels=True)


def test_restart_loop_keeps_the_best_finite_trial_and_stops_when_good_enough() -> None:
    losses = [math.nan, 3.0, 1.0, 2.0]
    with tqdm(disable=True) as bar:
        best = best_trial("x", 4, lambda index: (losses[index], index), bar)
        assert (best.loss, best.result, best.trials, best.diverged) == (1.0, 2, 4, 1)
        early = best_trial("x", 4, lambda index: (losses[index], index), bar, good_enough=lambda loss: loss < 5)
        assert (early.result, early.trials) == (1, 2)
        with pytest.raises(AttackDiverged, match="every one of 2 trials"):
            best_trial("x", 2, lambda index: (math.inf, None), bar)


def test_observation_labels_are_absent_unless_granted(cifar_sample) -> None:
    from fedprivacy.fl.exchange import client_share, share_gradient

    images, labels = cifar_sample.batch([0])
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))
    half = cifar_sample.info.stats
    assert share_gradient(model, images, labels, half, "train").labels is None
    granted = client_share(model, images, labels, half, "train", None, grant_labels=True)
    assert torch.equal(granted.labels, labels)
