"""`make bench` without case names lists the cases with their recorded minutes and runs nothing; the tool's
help names the command that runs it."""

import json
import os
import subprocess
import sys

import pytest

from benchmarks import run


def test_without_case_names_it_lists_every_case_and_runs_nothing(monkeypatch, capsys) -> None:
    table = (run.HERE / "results.md").stat().st_mtime_ns
    monkeypatch.setattr(sys, "argv", ["run.py"])
    run.main()
    out = capsys.readouterr().out
    assert "nothing was run" in out and "make bench ALL=1" in out
    assert all(name in out for name in run.all_cases())
    assert "dlg_lenet " in out and " min" in out and "hours recorded" in out
    assert (run.HERE / "results.md").stat().st_mtime_ns == table


def test_recorded_minutes_prefer_the_runs_wall_time_then_its_timing_columns() -> None:
    assert run.recorded_seconds({"run_seconds": 90.0, "seconds": 10}) == (90.0, True)
    assert run.recorded_seconds({"grnn_seconds": 30, "dlg_seconds": 12, "it_per_s": 4}) == (42, False)
    assert run.recorded_seconds({"s_per_round": 2.0, "rounds": 10}) == (20.0, False)
    assert run.recorded_seconds({"psnr": 30.0}) == (None, False)


def test_help_names_the_command(monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "argv", ["run.py", "--help"])
    with pytest.raises(SystemExit):
        run.main()
    assert capsys.readouterr().out.startswith("usage: python -m benchmarks.run")


def test_a_table_whose_module_chooses_columns_shows_only_those(monkeypatch, tmp_path) -> None:
    rows = [{"case": "a", "table": "T", "psnr": 1.5, "kept_in_json": 2}, {"case": "b", "table": "U", "psnr": 3.0}]
    for row in rows:
        (tmp_path / f"{row['case']}.json").write_text(json.dumps({**row, "machine": "m"}))
    monkeypatch.setattr(run, "RESULTS", tmp_path)
    monkeypatch.setattr(run, "chosen_columns", lambda: {"T": ("case", "psnr", "absent")})
    table = run.render()
    assert "| case | psnr |\n" in table and "| a | 1.5 |" in table and run.SELECTED in table
    assert "| case | psnr |\n|---|---|\n| b | 3 |" in table  # table U: every field


def test_rebuild_writes_the_table_from_the_rows_and_runs_nothing(monkeypatch, tmp_path, capsys) -> None:
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "a.json").write_text(json.dumps({"case": "a", "table": "T", "psnr": 2.0, "machine": "m"}))
    monkeypatch.setattr(run, "HERE", tmp_path)
    monkeypatch.setattr(run, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(run, "all_cases", lambda: pytest.fail("--rebuild ran a case"))
    monkeypatch.setattr(sys, "argv", ["run.py", "--rebuild"])
    run.main()
    assert "| a | 2 |" in (tmp_path / "results.md").read_text()


FIDELITY_PROBE = """
import sys
from pathlib import Path
from benchmarks import cases_fidelity, fidelity, run
from benchmarks.common import Skipped
drivers = Path(cases_fidelity.__file__).with_name("fidelity_drivers")
listed = run.all_cases()
loaded = [m for m in list(sys.modules.values()) if str(getattr(m, "__file__", None) or "").startswith(
    (str(fidelity.REFS), str(drivers)))]
try:
    listed["fidelity_dlg"]()
    skipped = ""
except Skipped as reason:
    skipped = str(reason)
print(sorted(name for name in listed if name.startswith("fidelity_")), loaded, skipped, sep="\\n")
"""


def test_the_fidelity_cases_are_listed_and_load_no_reference(tmp_path) -> None:
    """The ledger's cases import nothing of the references or their drivers (absent on CI), and a case whose
    reference is missing is skipped with how to get it, before any work."""
    env = {**os.environ, "FIDELITY_REFS": str(tmp_path / "absent"), "PYTHONPATH": str(run.HERE.parent)}
    done = subprocess.run([sys.executable, "-c", FIDELITY_PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    names, loaded, skipped = done.stdout.strip().splitlines()[-3:]
    for attack in ("dlg", "idlg", "ig_single", "ig_weight", "ig_multi", "grnn", "ggl", "cpa", "rtf"):
        assert f"'fidelity_{attack}'" in names
    assert loaded == "[]"
    assert "git clone https://github.com/" in skipped and str(tmp_path / "absent") in skipped
