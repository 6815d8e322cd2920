"""docs/flower.md's app, kept in a folder outside the repository, runs audited under `flwr run` on the local
simulation federation as written (2 virtual SuperNodes, its own Ray), with the audit's settings from
`--run-config`: every audited reply's JSON has a verdict with its evidence, the blitz CNN's fc1 inputs are
read off analytically, and the log shows the cost estimate, the progress and the summary line. The managed
SuperLink Flower starts in the background (and Ray's processes) are stopped by pid."""

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("flwr")

from tests.flower_processes import MARKER, environment, free_port, stop_marked, write_app  # noqa: E402


def test_the_documented_app_runs_audited_under_flwr_run(tmp_path: Path) -> None:
    app, out, truth = write_app(tmp_path / "app"), tmp_path / "audit", tmp_path / "truth"
    env = environment(tmp_path / "home")
    env["FLWR_LOCAL_SUPERLINK_HTTP_API_PORT"], env["FLWR_LOCAL_CONTROL_API_PORT"] = str(free_port()), str(free_port())
    settings = f'audit-steps=20 audit-out="{out}" audit-truth="{truth}"'
    command = ["flwr", "run", ".", "--stream", "--federation-config", "num-supernodes=2", "--run-config", settings]
    try:
        done = subprocess.run(command, cwd=app, env=env, capture_output=True, text=True, timeout=400)
    finally:
        stop_marked(env[MARKER])
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-3000:]
    (path,) = out.glob("flower_ig_multi_r1_n*.json")
    report = json.loads(path.read_text())
    assert report["scored"] and report["num_images"] == 1 and report["partition"] in (0, 1)
    assert report["attack_settings"]["iterations"] == 20 and report["attack_settings"]["restarts"] == 2
    assert report["verdict"] in ("recovered", "ambiguous", "not_converged")
    evidence = report["verdict_evidence"]
    assert evidence["trials"] == 2 and evidence["match_measure"] == "cosine distance"
    (fc1, *_) = evidence["analytic"]["layer_inputs"]
    assert (fc1["layer"], fc1["reads"], fc1["size"], fc1["exact"]) == ("fc1", "features", 400, True)
    arrays = np.load(path.with_suffix(".npz"))
    assert arrays["pixels"].shape == (1, 3, 32, 32) and arrays["analytic_fc1"].shape == (400,)
    assert "cost estimate: ig_multi: 40 gradient evaluations" in log and "ig_multi trial 1-2: 50% (20/40)" in log
    assert f"verdict {report['verdict']} | analytic: read off exactly: fc1's 400 input features" in log
