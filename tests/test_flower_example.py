"""docs/flower.md's example runs as written: a 2-node Flower simulation (its own Ray) whose audited
round writes the scored PNG and JSON of one client's reconstruction."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("flwr")

ROOT = Path(__file__).resolve().parent.parent


def test_the_documented_app_runs_as_written_and_scores_its_audit(tmp_path: Path) -> None:
    (code,) = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "flower.md").read_text(), re.S)
    (tmp_path / "app.py").write_text(code)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FLWR_TELEMETRY_ENABLED": "0"}
    done = subprocess.run(
        [sys.executable, "app.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (path,) = (tmp_path / "images").glob("flower_ig_multi_r1_n*.json")
    report = json.loads(path.read_text())
    assert report["scored"] and report["num_images"] == 4 and len(report["per_image"]) == 4
    assert report["local_training"] == {"epochs": 1, "batch_size": 32, "lr": 0.01, "momentum": 0.9, "weight_decay": 0.0}
    assert all(row["psnr"] > 5 for row in report["per_image"]) and 0 <= report["summary"]["label_acc"] <= 1
    assert path.with_suffix(".png").stat().st_size > 0
