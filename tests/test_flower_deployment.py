"""docs/flower.md's app under Flower's Deployment Engine on 127.0.0.1, as the docs run it: a SuperLink and two
SuperNodes on one host (distinct Runtime API ports, insecure, loopback only, free ports) as real processes,
one audited round submitted with `flwr run` and its settings from `--run-config`, the round not waiting for
the audit; the scored JSON with its verdict and the partition checked. Every process started here, and each
one they started, is stopped by pid."""

import json
import subprocess
import time
from pathlib import Path

import pytest

pytest.importorskip("flwr")

from tests.flower_processes import BIN, MARKER, environment, free_port, stop_marked, wait_for_port, write_app  # noqa: E402


def test_one_audited_round_through_a_loopback_deployment(tmp_path: Path) -> None:
    app, home, work, out = write_app(tmp_path / "app"), tmp_path / "home", tmp_path / "work", tmp_path / "audit"
    for folder in (home, work):
        folder.mkdir()
    link, node_ports = free_port(), (free_port(), free_port())
    (home / "config.toml").write_text(
        f'[superlink]\ndefault = "loopback"\n\n[superlink.loopback]\naddress = "127.0.0.1:{link}"\ninsecure = true\n'
    )
    env = environment(home)
    logs = [open(tmp_path / f"{name}.log", "w") for name in ("superlink", "node0", "node1")]  # noqa: SIM115
    settings = f'audit-attack="idlg" audit-steps=2 audit-out="{out}" audit-truth="{tmp_path / "truth"}"'
    started: list[subprocess.Popen] = []
    try:
        started.append(
            subprocess.Popen(
                [str(BIN / "flower-superlink"), "--insecure", "--host", "127.0.0.1", "--port", str(link)]
                + ["--disable-runtime-dependency-installation"],
                cwd=work,
                env=env,
                stdout=logs[0],
                stderr=subprocess.STDOUT,
            )
        )
        wait_for_port(link, 60)
        for partition, port in enumerate(node_ports):
            started.append(
                subprocess.Popen(
                    [str(BIN / "flower-supernode"), "--insecure", "--superlink", f"127.0.0.1:{link}"]
                    + ["--host", "127.0.0.1", "--port", str(port)]
                    + ["--node-config", f"partition-id={partition} num-partitions=2"],
                    cwd=work,
                    env=env,
                    stdout=logs[1 + partition],
                    stderr=subprocess.STDOUT,
                )
            )
        for port in node_ports:
            wait_for_port(port, 60)
        done = subprocess.run(
            [str(BIN / "flwr"), "run", str(app), "loopback", "--stream", "--run-config", settings],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        deadline = time.monotonic() + 60
        while not list(out.glob("flower_idlg_r1_n*.json")) and time.monotonic() < deadline:
            time.sleep(1)
        (path,) = out.glob("flower_idlg_r1_n*.json")
    finally:
        stop_marked(env[MARKER])
        for process in started:  # reap them
            process.wait(timeout=30)
        for log in logs:
            log.close()
    report = json.loads(path.read_text())
    assert report["scored"] and report["num_images"] == 1 and report["partition"] in (0, 1)
    assert report["local_training"]["momentum"] == 0.9 and report["local_training"]["batch_size"] == 32
    assert report["verdict"] == "not_converged" and report["verdict_evidence"]["trials"] == 2
    assert report["per_image"][0]["label_ok"] and path.with_suffix(".npz").stat().st_size > 0
    assert "queued" in done.stdout + done.stderr and "cost estimate: idlg: at most 100" in done.stdout + done.stderr
