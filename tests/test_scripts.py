"""Every script in experiments/ under sh in dry-run mode: each command line it would run is recorded, then
checked by the entry script itself (--dry_run), so a renamed or mistyped flag fails here, not for a user.

The scripts run with PYTHON set to a recorder (a fresh clone: no real dataset, so their real-data sections
are checked with --dry_run flags and their embedded sections with a full --dry_run). One script also runs
for real, with the project's Python, from inside its own folder.
"""

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import main_fed
import main_grad
from benchmarks import audit
from fedprivacy.cli import train_generator
from fedprivacy.data import available
from fedprivacy.utils.data_dir import DATA_DIR

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted((ROOT / "experiments").rglob("*.sh"))
SCRIPTS = [path for path in SCRIPTS if path.name != "lib.sh"]
SEPARATOR = "\x1f"
RECORDER = """#!/bin/sh
# Stands in for python: a dataset is never there (a fresh clone); every other command is recorded.
if [ "$1" = "-m" ] && [ "$2" = "fedprivacy.data.available" ]; then exit 1; fi
for argument in "$@"; do printf '%s\\037' "$argument" >> "$RECORD"; done
printf '\\n' >> "$RECORD"
"""
ENTRIES: dict[str, Callable[[list[str]], object]] = {
    "main_grad.py": main_grad.main,
    "main_fed.py": main_fed.main,
    "-m fedprivacy.cli.train_generator": train_generator.main,
    "-m benchmarks.audit": audit.main,
}
SHELLS = [shell for shell in ("sh", "bash", "zsh") if shutil.which(shell)]


def record(script: Path, shell: str, tmp_path: Path) -> list[list[str]]:
    """The command lines `script` runs under `shell` with DRY_RUN=1, as argument lists."""
    recorder = tmp_path / "python"
    recorder.write_text(RECORDER)
    recorder.chmod(recorder.stat().st_mode | stat.S_IEXEC)
    log = tmp_path / f"{shell}.log"
    log.write_text("")
    environment = {**os.environ, "PYTHON": str(recorder), "RECORD": str(log), "DRY_RUN": "1"}
    environment["BASE_DATADIR"] = str(tmp_path / "no_datasets")
    done = subprocess.run([shell, str(script)], env=environment, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [line.split(SEPARATOR)[:-1] for line in log.read_text().splitlines()]


def entry_of(command: list[str]) -> tuple[Callable[[list[str]], object], list[str]]:
    """The in-process entry point of a recorded command and its flags."""
    if command[0] == "-m":
        return ENTRIES[f"-m {command[1]}"], command[2:]
    return ENTRIES[command[0]], command[1:]


def check(command: list[str]) -> None:
    """Run one recorded command's dry run in this process; any error fails the test with its message."""
    main, flags = entry_of(command)
    assert "--dry_run" in flags, command
    try:
        main([*flags, "--quiet"] if main is not audit.main else flags)
    except SystemExit as stop:
        pytest.fail(f"{' '.join(command)} exited {stop.code}")


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: str(path.relative_to(ROOT / "experiments")))
def test_every_command_of_every_script_passes_its_dry_run(
    script: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands = record(script, "sh", tmp_path)
    assert commands, f"{script} ran nothing"
    for shell in SHELLS[1:]:  # bash and zsh run the same commands as dash
        assert record(script, shell, tmp_path) == commands, shell
    monkeypatch.chdir(ROOT)
    for command in commands:
        check(command)


def test_a_mistyped_flag_fails_the_dry_run() -> None:
    with pytest.raises(pytest.fail.Exception):
        check(["main_grad.py", "--attack", "dlg", "--rec_epoch", "3", "--dry_run"])


def test_a_missing_dataset_is_one_line_saying_where_and_how(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert available.main(["cifar10", str(tmp_path), "the CIFAR-10 section"]) == 1
    (line,) = capsys.readouterr().out.strip().splitlines()
    assert line.startswith("skipped: the CIFAR-10 section") and str(tmp_path) in line
    assert "BASE_DATADIR=" in line and "--download" in line


def test_a_script_runs_for_real_from_its_own_folder(tmp_path: Path) -> None:
    """experiments/grad/rtf.sh under sh from experiments/grad: the skip lines, then the embedded section."""
    environment = {**os.environ, "PYTHON": sys.executable, "DRY_RUN": "1", "BASE_DATADIR": str(tmp_path)}
    done = subprocess.run(
        ["sh", "rtf.sh"], cwd=ROOT / "experiments" / "grad", env=environment, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert sum(line.startswith("skipped:") for line in lines) == 1
    assert sum(line.startswith("dry run (flags):") for line in lines) == 2
    assert sum(line.startswith("dry run:") for line in lines) == 1


@pytest.mark.parametrize("script", [s for s in SCRIPTS if s.parent.name in ("grad", "fed")], ids=lambda p: p.name)
def test_scripts_and_entry_scripts_share_one_dataset_default(script: Path) -> None:
    """Each script's editable BASE_DATADIR line defaults to what --base_data_dir defaults to (the audit's npz
    folder, experiments/audit.sh, is another kind of data)."""
    assert f'BASE_DATADIR="${{BASE_DATADIR:-{DATA_DIR}}}"' in script.read_text()
