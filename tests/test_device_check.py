"""The GPU check's commands (benchmarks/device_check.py) are valid flags for today's entry scripts, so the
day a GPU is lent none of its minutes go to a typo; and the check skips cleanly without CUDA."""

import subprocess
from pathlib import Path

import pytest
import torch

import main_fed
import main_grad
from benchmarks.device_check import CASES

ROOT = Path(__file__).resolve().parent.parent
ENTRY = {"main_grad.py": main_grad.main, "main_fed.py": main_fed.main}


@pytest.mark.parametrize(("name", "command"), CASES, ids=[name for name, _ in CASES])
def test_every_command_passes_a_flags_dry_run(name: str, command: list[str], tmp_path: Path) -> None:
    script, *flags = (part.replace("{out}", str(tmp_path)) for part in command)
    report = ENTRY[script]([*flags, "--device", "cpu", "--out_dir", str(tmp_path), "--dry_run", "flags"])
    assert report["dry_run"].startswith("dry run (flags):")


@pytest.mark.skipif(torch.cuda.is_available(), reason="the skip path is for machines without CUDA")
def test_the_check_skips_cleanly_without_cuda() -> None:
    done = subprocess.run(["sh", "benchmarks/device_check.sh"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert done.stdout.strip().startswith("skipped: no CUDA device")
