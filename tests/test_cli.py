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
