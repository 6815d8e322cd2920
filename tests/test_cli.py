"""main_grad.py end to end: outputs and one-line errors for bad input, never a traceback."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import main_grad
from fedprivacy.cli.common import run_cli

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("flags", "names"),
    [
        (["--attack", "nope"], "--attack"),
        (["--model", "nope"], "--model"),
        (["--dataset", "nope"], "--dataset"),
        (["--dataset", "cifar10", "--base_data_dir", "/no/such/dir"], "--base_data_dir"),
        (["--num_exp", "500"], "--num_exp"),
        (["--rec_batch_size", "0"], "--rec_batch_size"),
        (["--pretrained", "/no/such/file.th"], "--pretrained"),
        (["--model_mode", "sideways"], "--model_mode"),
        (["--defense", "nope"], "--defense"),
        (["--num_classes", "5"], "--num_classes"),
        (["--defense", "prune"], "--prune_ratio"),
        (["--defense", "gaussian", "--noise_scale", "-1"], "--noise_scale"),
        (["--defense", "clip", "--clip_norm", "1", "--prune_ratio", "0.5"], "--prune_ratio"),
        (["--defense", "dpsgd", "--clip_norm", "1", "--noise_multiplier", "1", "--model", "resnet20"], "dpsgd"),
        (["--min_trials", "0"], "--min_trials"),
        (["--min_trials", "3"], "--dlg.restarts is 1"),  # more trials than the attack runs
        (["--attack", "cpa", "--min_trials", "2"], "--min_trials applies only with --attack dlg"),
        (["--progress", "sideways"], "--progress"),
        (["--progress", "lines"], "--quiet shows none"),  # the test adds --quiet
    ],
)
def test_bad_input_is_one_line(flags: list[str], names: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_cli(lambda: main_grad.main([*flags, "--quiet"]))
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and names in lines[0]


def test_a_real_process_prints_no_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "main_grad.py", "--attack", "nope"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()] and "Traceback" not in result.stderr


def test_run_writes_grid_and_json_and_never_overwrites(tmp_path: Path) -> None:
    flags = ["--attack", "idlg", "--rec_epochs", "3", "--quiet", "--out_dir", str(tmp_path)]
    first = main_grad.main(flags)
    second = main_grad.main(flags)
    assert Path(first["grid"]).exists() and Path(second["grid"]).exists()
    assert first["grid"] != second["grid"]
    report = json.loads(Path(second["grid"]).with_suffix(".json").read_text())
    assert set(report["summary"]) >= {"psnr", "ssim", "lpips", "label_acc", "seconds"}
    assert {"psnr", "ssim", "label_ok"} <= set(report["per_image"][0])
    assert report["summary"]["label_acc"] == 1.0


@pytest.mark.parametrize("script", ["main_grad", "main_fed"])
def test_every_flag_states_its_default(script: str) -> None:
    import argparse

    parser = __import__(script).build_parser()
    actions = [action for action in parser._actions if action.help not in (argparse.SUPPRESS, None)]
    actions = [action for action in actions if action.dest != "help"]
    assert len(actions) > 60
    assert [action.option_strings[0] for action in actions if "default" not in action.help] == []


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--attack", "dlg", "--cpa.temperature", "3"],
            "--cpa.temperature applies only with --attack cpa, not with --attack dlg",
        ),
        (["--attack", "dlg", "--T", "3"], "--T applies only with --attack cpa, not with --attack dlg"),
        (
            ["--attack", "rtf", "--imprint", "--rec_epochs", "3"],
            "--rec_epochs applies only with --attack cpa, dlg, ggl, grnn",
        ),
        (["--attack", "dlg", "--local_lr", "0.1"], "--local_lr applies only with --attack ig_multi, ig_weight"),
        (["--preset", "cpa.paper", "--attack", "dlg"], "--preset cpa.paper is a preset of --attack cpa"),
        (["--preset", "dlg.nope"], "dlg has: dlg.paper, dlg.original"),
    ],
)
def test_a_flag_for_another_attack_is_refused_in_one_line(flags, message: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main_grad.parse_args(flags)
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and line.startswith("error: ") and message in line


def options_of(*flags: str):
    from fedprivacy.cli import grad

    return grad.check(main_grad.parse_args([*flags, "--device", "cpu"])).config.options


def test_older_names_presets_and_namespaced_flags_resolve_alike() -> None:
    older = options_of("--attack", "cpa", "--rec_epochs", "25000", "--rec_lr", "1e-3", "--decor", "5.3", "--T", "7.7",
                       "--tv", "0.1", "--nv", "0.13", "--l1", "5", "--fi", "1")  # fmt: skip
    assert options_of("--preset", "cpa.original_vgg16") == older
    namespaced = options_of("--preset", "cpa.paper", "--cpa.decor", "5.3", "--cpa.temperature", "7.7",
                            "--cpa.tv", "0.1", "--cpa.one_sign", "0.13", "--cpa.l1", "5")  # fmt: skip
    assert namespaced == older
    assert options_of("--preset", "cpa.paper", "--cpa.iterations", "7").iterations == 7  # flags over the preset
    assert options_of("--attack", "dlg", "--rec_epochs", "3", "--dlg.steps", "4").steps == 4  # the last one given
    assert options_of("--attack", "dlg", "--dlg.steps", "4", "--rec_epochs", "3").steps == 3


def test_both_scripts_share_one_client_vocabulary() -> None:
    import main_fed
    from fedprivacy.cli import fed, grad

    older = grad.check(main_grad.parse_args(["--attack", "ig_multi", "--rec_batch_size", "4", "--local_epochs", "2",
                                             "--local_batch_size", "2", "--local_lr", "0.01"])).local  # fmt: skip
    new = grad.check(main_grad.parse_args(["--attack", "ig_multi", "--rec_batch_size", "4", "--client.epochs", "2",
                                           "--client.batch_size", "2", "--client.lr", "0.01"])).local  # fmt: skip
    assert older == new and (new.epochs, new.batch_size, new.lr) == (2, 2, 0.01)
    assert grad.check(main_grad.parse_args(["--attack", "ig_weight", "--rec_batch_size", "3"])).local.batch_size == 3
    federation = fed.check(main_fed.parse_args(["--client.lr", "0.05", "--client_momentum", "0.9"])).settings.local
    assert (federation.lr, federation.momentum, federation.batch_size) == (0.05, 0.9, 10)


def test_every_preset_is_documented() -> None:
    from fedprivacy.attacks import all_presets

    page = (ROOT / "docs" / "presets.md").read_text()
    assert [name for name in all_presets() if f"`{name}`" not in page and name.replace(".", "`, `") not in page] == []


GGL = ["--attack", "ggl", "--ggl.generator", "gen.pt"]


@pytest.mark.parametrize(
    ("script", "flags", "message"),
    [  # one case per family of flags that would be accepted and then ignored
        ("main_grad", ["--bins", "64"], "--bins applies only with --imprint, not without --imprint"),
        (
            "main_fed",
            ["--client_cpus", "2"],
            "--client_cpus applies only with --engine flower, not with --engine local",
        ),
        ("main_fed", ["--ray_address", "auto"], "--ray_address applies only with --engine flower"),
        ("main_grad", ["--noise_scale", "0.1"], "--noise_scale applies only with --defense gaussian, laplacian, not"),
        (
            "main_fed",
            ["--defense", "prune", "--prune_ratio", "0.5", "--dp_delta", "1e-3"],
            "--dp_delta applies only with --defense dpsgd, not with --defense prune",
        ),  # fmt: skip
        ("main_grad", ["--norm_stats", "dataset"], "--norm_stats applies only with --normalize, not without"),
        ("main_grad", ["--download"], "--download applies only with --dataset cifar10, cifar100, fmnist, mnist, not"),
        ("main_fed", ["--base_data_dir", "x"], "--base_data_dir applies only with --dataset cifar10, cifar100,"),
        ("main_fed", ["--iid", "--p_type", "fix_class"], "--p_type applies only without --iid, not with --iid"),
        ("main_fed", ["--iid", "--beta", "0.3"], "--beta applies only without --iid"),
        (
            "main_fed",
            ["--p_type", "fix_class", "--min_samples", "3"],
            "--min_samples applies only with --p_type dirichlet",
        ),
        (
            "main_fed",
            ["--num_classes_per_client", "3"],
            "--num_classes_per_client applies only with --p_type fix_class",
        ),
        (
            "main_fed",
            ["--attack", "none", "--attack_rounds", "1"],
            "--attack_rounds applies only with an attack, not with --attack none",
        ),  # fmt: skip
        ("main_fed", ["--attack", "none", "--victim_images", "4"], "--victim_images applies only with an attack"),
        ("main_fed", ["--attack", "none", "--rec_batch_size", "4"], "--rec_batch_size applies only with an attack"),
        (
            "main_grad",
            ["--trial_batch", "2"],
            "--trial_batch applies only with --attack grnn, ig_multi, ig_single, "
            "ig_weight, ggl with --ggl.search adam, not with --attack dlg",
        ),  # fmt: skip
    ],
)
def test_a_flag_that_would_be_ignored_is_refused_in_one_line(script: str, flags, message: str, capsys) -> None:
    """The parser knows which flags apply to which engine, defense, dataset, split and attack (declared next to
    each flag group) and refuses the others before any work."""
    with pytest.raises(SystemExit) as exit_info:
        __import__(script).parse_args(flags)
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and line.startswith("error: ") and message in line


@pytest.mark.parametrize(
    ("flags", "message"),
    [  # an option (or knob) with no effect under the options it resolved to (attacks/config: When)
        (
            [*GGL, "--ggl.iterations", "5"],
            "--ggl.iterations applies only with --ggl.search adam, not with --ggl.search cma",
        ),  # fmt: skip
        ([*GGL, "--ggl.search", "adam", "--budget", "9"], "--budget applies only with --ggl.search cma"),
        ([*GGL, "--rec_lr", "0.5"], "--rec_lr applies only with --ggl.search adam"),
        ([*GGL, "--trial_batch", "2"], "--trial_batch applies only with --ggl.search adam, not with --ggl.search cma"),
        (
            ["--attack", "cpa", "--model", "fc2", "--rec_batch_size", "4", "--fi_epochs", "5"],
            "--fi_epochs applies only with --model lenet, lenet5, cnn, resnet18, resnet20, vgg16, not with --model fc2",
        ),  # fmt: skip
        (
            ["--attack", "ig_single", "--known_labels", "--ig_single.label_strategy", "llg"],
            "--ig_single.label_strategy applies only without --known_labels, not with --known_labels",
        ),  # fmt: skip
    ],
)
def test_an_option_without_effect_under_the_resolved_options_is_refused(flags, message: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_cli(lambda: main_grad.main([*flags, "--dry_run", "flags"]))
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and line.startswith("error: ") and message in line


def test_the_same_flags_are_taken_where_they_apply() -> None:
    """The refusals above are about the setting, not the flag: each is accepted where it has an effect."""
    import main_fed

    assert main_grad.parse_args(["--attack", "rtf", "--imprint", "--bins", "64"]).bins == 64
    assert main_grad.parse_args(["--normalize", "--norm_stats", "dataset"]).norm_stats == "dataset"
    assert main_grad.parse_args(["--dataset", "mnist", "--download", "--base_data_dir", "x"]).download
    assert main_grad.parse_args(["--attack", "ig_single", "--trial_batch", "2"]).trial_batch == 2
    cnn = options_of("--attack", "cpa", "--model", "cnn", "--rec_batch_size", "4", "--cpa.fi_iterations", "5")
    assert cnn.fi_iterations == 5
    assert main_fed.parse_args(["--engine", "flower", "--client_cpus", "2"]).client_cpus == 2
    assert main_fed.parse_args(["--p_type", "fix_class", "--num_classes_per_client", "3"]).num_classes_per_client == 3
    assert main_fed.parse_args(["--defense", "soteria", "--prune_ratio", "0.5"]).prune_ratio == 0.5


def test_rgb_on_colour_images_is_refused(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_cli(lambda: main_grad.main(["--rgb", "--out_dir", str(tmp_path)]))
    line = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2
    assert line == "error: --rgb applies only to grey images; --dataset cifar10_sample has 3 channels"


@pytest.mark.parametrize("script", ["main_grad", "main_fed"])
def test_each_script_prints_the_attacks_cost_estimate_before_it_starts(script: str, tmp_path: Path, capsys) -> None:
    flags = ["--attack", "dlg", "--rec_epochs", "2", "--out_dir", str(tmp_path)]
    if script == "main_fed":
        flags += ["--num_rounds", "1", "--total_clients", "2", "--model", "mlp"]
    __import__(script).main(flags)
    err = capsys.readouterr().err
    (line,) = [line for line in err.splitlines() if line.startswith("cost estimate: ")]
    assert line.startswith("cost estimate: dlg: at most 50 gradient evaluations (2 L-BFGS steps x 1 trial(s))")
    assert err.index("cost estimate: ") < err.index("dlg trial")  # before the attack's progress


@pytest.mark.parametrize("script", ["main_grad", "main_fed"])
def test_the_run_knobs_reach_the_attack_and_the_reports_args(script: str) -> None:
    """--min_trials and --progress reach AttackConfig and the args the JSON records; their defaults as --help says."""
    from fedprivacy.cli import fed, grad

    entry = grad if script == "main_grad" else fed
    parse = __import__(script).parse_args
    args = parse(["--attack", "idlg", "--idlg.restarts", "3", "--min_trials", "2", "--progress", "bar"])
    checked = entry.check(args)
    assert (checked.config.min_trials, checked.config.progress) == (2, "bar")
    assert {"min_trials": 2, "progress": "bar"}.items() <= entry.flags(args, checked).items()
    config = entry.check(parse(["--attack", "idlg", "--quiet"])).config
    assert (config.min_trials, config.progress) == (1, False)
    assert entry.check(parse(["--attack", "idlg"])).config.progress == "auto"


def test_min_trials_keeps_a_good_enough_first_trial_from_stopping_the_second(tmp_path: Path, capsys) -> None:
    """iDLG matches an 8x8 digit in a few steps: one trial, unless --min_trials 2; the JSON's args record both
    knobs, and --progress lines writes a line per 10% of each trial."""
    flags = ["--dataset", "digits", "--attack", "idlg", "--idlg.steps", "5", "--idlg.restarts", "2", "--threads", "1"]
    trials = {}
    for least in ("1", "2"):
        out = tmp_path / least
        report = main_grad.main([*flags, "--min_trials", least, "--progress", "lines", "--out_dir", str(out)])
        saved = json.loads(Path(report["grid"]).with_suffix(".json").read_text())
        assert (saved["args"]["min_trials"], saved["args"]["progress"]) == (int(least), "lines")
        trials[least] = len(saved["experiments"][0]["trial_matches"])
    assert trials == {"1": 1, "2": 2}
    assert "idlg trial 2: 100% (10/10)" in capsys.readouterr().err


def test_progress_styles_pick_a_bar_or_lines_whatever_the_terminal() -> None:
    from tqdm import tqdm

    from fedprivacy.utils.progress import LogLines, loss_bar

    assert isinstance(loss_bar(10, "x", "lines"), LogLines) and isinstance(loss_bar(10, "x", "auto"), LogLines)
    bar = loss_bar(10, "x", "bar")  # pytest's stderr is no terminal, yet a bar was asked for
    assert isinstance(bar, tqdm) and not bar.disable
    assert loss_bar(10, "x", False).disable


@pytest.mark.parametrize("script", ["main_grad", "main_fed"])
@pytest.mark.parametrize(
    "flags", [["--min_trials", "0"], ["--progress", "sideways"], ["--quiet", "--progress", "bar"]], ids=str
)
def test_both_scripts_refuse_a_bad_run_knob_in_one_line(script: str, flags: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        __import__(script).parse_args(flags)
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and line.startswith("error: ") and flags[-2] in line
