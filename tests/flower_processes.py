"""Helpers of the two end-to-end Flower tests: the documented app written to a folder outside the repository,
free loopback ports, and stopping every process a test started (by pid), including those Flower detaches
(the managed local SuperLink) or Ray starts: each carries the test's own marker in its environment."""

import contextlib
import os
import re
import signal
import socket
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DOC = (ROOT / "docs" / "flower.md").read_text()
MARKER = "FEDPRIVACY_TEST_PROCESSES"


def write_app(folder: Path) -> Path:
    """docs/flower.md's app (its python and toml blocks) written as `audited_app.py` and `pyproject.toml`."""
    (code,) = re.findall(r"```python\n(.*?)```", DOC, re.S)
    (toml,) = re.findall(r"```toml\n(.*?)```", DOC, re.S)
    folder.mkdir(parents=True)
    (folder / "audited_app.py").write_text(code)
    (folder / "pyproject.toml").write_text(toml)
    return folder


def environment(home: Path) -> dict[str, str]:
    """The test's environment: this checkout importable as `fedprivacy` (the stand-in for the documented
    `pip install -e`), the venv's Flower commands on PATH, a Flower home of its own, and the marker."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "FLWR_HOME": str(home),
        "FLWR_TELEMETRY_ENABLED": "0",
        MARKER: uuid.uuid4().hex,
    }


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


def start_times() -> dict[int, str]:
    """pid -> start time of every process, from /proc (to never signal a reused pid)."""
    table = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            table[int(stat.parent.name)] = stat.read_text().rsplit(")", 1)[1].split()[19]
    return table


def marked(marker: str) -> dict[int, str]:
    """pid -> start time of every process of ours whose environment carries `marker`."""
    found = {}
    for pid, started in start_times().items():
        with contextlib.suppress(OSError):
            if f"{MARKER}={marker}".encode() in (Path("/proc") / str(pid) / "environ").read_bytes().split(b"\0"):
                found[pid] = started
    found.pop(os.getpid(), None)
    return found


def signal_alive(pids: dict[int, str], sig: int) -> None:
    table = start_times()
    for pid, started in pids.items():
        if table.get(pid) == started:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)


def stop_marked(marker: str, seconds: float = 20.0) -> None:
    """SIGTERM every process carrying `marker`, SIGKILL what is left after `seconds`."""
    pids = marked(marker)
    signal_alive(pids, signal.SIGTERM)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and set(marked(marker)) & set(pids):
        time.sleep(0.5)
    signal_alive(marked(marker), signal.SIGKILL)
