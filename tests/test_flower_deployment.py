"""The documented app under Flower's Deployment Engine on 127.0.0.1: a SuperLink and two SuperNodes as
real processes (insecure, loopback only, free ports), one audited round submitted with `flwr run`, the
attack's scored result checked; every process started here, and each child it spawned, is stopped by pid."""

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("flwr")

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DOC = (ROOT / "docs" / "flower.md").read_text()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {seconds} s")


def process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, start time) of every process, from /proc."""
    table = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            table[int(stat.parent.name)] = (int(fields[1]), fields[19])
    return table


def descendants(pid: int, table: dict[int, tuple[int, str]]) -> list[int]:
    """The processes `pid` spawned, recursively."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        children = [child for child, (ppid, _) in table.items() if ppid == parent]
        found += children
        todo += children
    return found


def signal_alive(pids: dict[int, str], sig: int) -> None:
    """Send `sig` to each pid still running the process recorded (same start time: no reused pid)."""
    table = process_table()
    for pid, started in pids.items():
        if table.get(pid, (0, None))[1] == started:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)


def stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM every started process and each descendant by pid; SIGKILL what is left after 20 s."""
    table = process_table()
    pids = {p: table[p][1] for process in processes for p in (*descendants(process.pid, table), process.pid)}
    signal_alive(pids, signal.SIGTERM)
    deadline = time.monotonic() + 20
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
    while time.monotonic() < deadline and any(p in process_table() for p in pids):
        time.sleep(0.5)
    signal_alive(pids, signal.SIGKILL)
    for process in processes:
        process.wait(timeout=10)


def test_one_audited_round_through_a_loopback_deployment(tmp_path: Path) -> None:
    app, home, work = tmp_path / "app", tmp_path / "home", tmp_path / "work"
    for folder in (app, home, work):
        folder.mkdir()
    (code,) = re.findall(r"```python\n(.*?)```", DOC, re.S)
    (toml,) = re.findall(r"```toml\n(.*?)```", DOC, re.S)
    (app / "quickstart.py").write_text(code)
    (app / "pyproject.toml").write_text(toml)
    link, node_ports = free_port(), (free_port(), free_port())
    (home / "config.toml").write_text(
        f'[superlink]\ndefault = "loopback"\n\n[superlink.loopback]\naddress = "127.0.0.1:{link}"\ninsecure = true\n'
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "FLWR_HOME": str(home),
        "FLWR_TELEMETRY_ENABLED": "0",
    }
    logs = [open(tmp_path / f"{name}.log", "w") for name in ("superlink", "node0", "node1")]  # noqa: SIM115
    started: list[subprocess.Popen] = []

    def launch(command: list[str], log) -> None:
        started.append(subprocess.Popen(command, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT))

    try:
        launch(
            [str(BIN / "flower-superlink"), "--insecure", "--host", "127.0.0.1", "--port", str(link)]
            + ["--disable-runtime-dependency-installation"],
            logs[0],
        )
        wait_for_port(link, 60)
        for partition, port in enumerate(node_ports):
            launch(
                [str(BIN / "flower-supernode"), "--insecure", "--superlink", f"127.0.0.1:{link}"]
                + ["--host", "127.0.0.1", "--port", str(port)]
                + ["--node-config", f"partition-id={partition} num-partitions=2"],
                logs[1 + partition],
            )
        for port in node_ports:
            wait_for_port(port, 60)
        done = subprocess.run(
            [str(BIN / "flwr"), "run", str(app), "loopback", "--stream"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        deadline = time.monotonic() + 60
        while not list((work / "images").glob("flower_ig_multi_r1_n*.json")) and time.monotonic() < deadline:
            time.sleep(1)
        (path,) = (work / "images").glob("flower_ig_multi_r1_n*.json")
    finally:
        stop(started)
        for log in logs:
            log.close()
    assert all(process.poll() is not None for process in started)
    report = json.loads(path.read_text())
    assert report["scored"] and report["num_images"] == 4 and len(report["per_image"]) == 4
    assert report["local_training"]["momentum"] == 0.9 and report["local_training"]["batch_size"] == 32
    assert all(row["psnr"] > 5 for row in report["per_image"]) and path.with_suffix(".png").stat().st_size > 0
