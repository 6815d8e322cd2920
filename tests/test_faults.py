"""Regression tests for issue 28's classes: the machine failing under a run, concurrency, overwriting,
signals, the tools (cli.train_generator, benchmarks.audit), the environment, values that break the
maths, and messages that misled; and issue 27's naming (a fresh clone's first run writes the canonical
names, --dry_run announces the name a run writes). Each run is tiny and in-process unless a real process
is the point."""

import errno
import importlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import main_fed
import main_grad
from benchmarks import audit
from fedprivacy.attacks import get_attack
from fedprivacy.cli import grad, runner, train_generator
from fedprivacy.cli.common import run_cli
from fedprivacy.evaluation.report import output_paths
from fedprivacy.fl.public import PublicData, generator_record
from fedprivacy.utils import atomic, signals
from fedprivacy.utils.errors import RunFailed, UsageError

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--attack", "idlg", "--rec_epochs", "1", "--model", "mlp", "--quiet"]
FED = ["--num_rounds", "2", "--total_clients", "2", "--attack", "none", "--model", "mlp", "--quiet"]
GENERATOR = ["--dataset", "digits", "--batch_size", "8", "--width", "4", "--latent", "4", "--quiet"]


def one_line(capsys: pytest.CaptureFixture, run, code: int) -> str:
    """Run an entry point through run_cli; it must exit with `code` after exactly one stderr line (besides
    progress bars)."""
    with pytest.raises(SystemExit) as exit_info:
        run_cli(run)
    lines = [line for line in capsys.readouterr().err.strip().splitlines() if "cell/s]" not in line]
    assert exit_info.value.code == code, lines
    assert len(lines) == 1 and "Traceback" not in lines[0], lines
    return lines[0]


def files(folder: Path) -> list[str]:
    """Every name in `folder`, hidden ones included (a temporary file left behind shows here)."""
    return sorted(path.name for path in folder.iterdir())


def contents(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in files(folder)}


def dead_pid() -> int:
    """The id of a process that has ended."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


# 1. The machine fails under the run: one line, exit 1, the earlier result intact, nothing half-written.
@pytest.mark.parametrize("fault", ["full_disk", "read_only", "file_size_limit"])
def test_a_machine_fault_while_writing_keeps_the_earlier_result(
    fault: str, capsys: pytest.CaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flags = [*TINY, "--out_dir", str(tmp_path), "--overwrite"]
    main_grad.main(flags)
    before = contents(tmp_path)
    if fault == "full_disk":

        def full(path: Path, _report: dict) -> None:
            path.write_text("{")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(runner, "write_json", full)
    elif fault == "read_only":
        real = atomic.os.replace

        def read_only(source, target) -> None:
            if ".partial" in str(source):
                raise OSError(errno.EROFS, os.strerror(errno.EROFS))
            real(source, target)

        monkeypatch.setattr(atomic.os, "replace", read_only)
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    if fault == "file_size_limit":  # ulimit -f: the grid (~12 KB) is beyond it; Python ignores SIGXFSZ, writes fail
        resource.setrlimit(resource.RLIMIT_FSIZE, (8192, limits[1]))
    try:
        line = one_line(capsys, lambda: main_grad.main([*flags, "--seed", "1"]), code=1)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
    assert line.startswith("error: cannot write") and "no earlier result was replaced" in line
    assert contents(tmp_path) == before


def test_an_earlier_result_that_cannot_be_put_back_is_named(
    capsys: pytest.CaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flags = [*TINY, "--out_dir", str(tmp_path), "--overwrite"]
    main_grad.main(flags)
    real = atomic.os.replace

    def sticky(source, target) -> None:  # only setting the old files aside works; every other rename fails
        if ".old" not in str(target):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real(source, target)

    monkeypatch.setattr(atomic.os, "replace", sticky)
    line = one_line(capsys, lambda: main_grad.main(flags), code=1)
    kept = [name for name in files(tmp_path) if ".old" in name]
    assert kept and all(f"is kept as {name}" in line for name in kept) and "puts it back" in line


# 2. Concurrency: names are claimed when a run starts, so concurrent runs keep every result.
def test_a_run_started_while_another_holds_the_name_writes_its_own(tmp_path: Path) -> None:
    flags = [*TINY, "--out_dir", str(tmp_path)]
    name = Path(main_grad.main([*flags, "--dry_run", "flags"])["dry_run"].split("would write ")[1]).stem
    first_png, first_json = output_paths(tmp_path, name, overwrite=False)  # a run started, not finished yet
    second = Path(main_grad.main(flags)["grid"])  # started later, finished first
    atomic.write_together({first_png: lambda p: p.write_text("first"), first_json: lambda p: p.write_text("first")})
    assert (first_png.name, second.name) == (f"{name}.png", f"{name}_run2.png")
    assert first_png.read_text() == "first" and second.is_file() and len(files(tmp_path)) == 4  # no claim left


CLAIMER = """
import sys
from pathlib import Path
from fedprivacy.utils.claims import claim_name
print(" ".join(claim_name(Path(sys.argv[1]), "r", (".png", ".json"), False) for _ in range(15)), flush=True)
sys.stdin.read()  # hold the names until told to end
"""


def test_two_processes_claiming_one_folder_get_distinct_names(tmp_path: Path) -> None:
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, str(tmp_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=environment,
            cwd=ROOT,
        )
        for _ in range(2)
    ]
    names = [name for run in runs for name in run.stdout.readline().split()]
    for run in runs:
        run.communicate(timeout=60)
    assert all(run.returncode == 0 for run in runs)
    assert len(names) == 30 and len(set(names)) == 30
    assert files(tmp_path) == []  # each process released its claims when it ended


def test_two_identical_runs_started_together_into_one_folder_keep_both_results(tmp_path: Path) -> None:
    """The issue's case as a user meets it: two main_grad.py processes, same flags, same --out_dir."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, str(ROOT / "main_grad.py"), *TINY, "--out_dir", str(tmp_path)]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment,
                             cwd=tmp_path) for _ in range(2)]  # fmt: skip
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err for _, err in outputs]
    grids = {out.strip().splitlines()[-1].rsplit(" | ", 1)[1] for out, _ in outputs}  # each summary's PNG
    assert len(grids) == 2 and all(Path(grid).is_file() for grid in grids)
    assert len(files(tmp_path)) == 4 and all(Path(grid).with_suffix(".json").is_file() for grid in grids)


# 3. Overwriting: all old or all new; what cannot be replaced is refused or ends cleanly.
def test_overwrite_with_a_failed_federation_leaves_no_mixed_set(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    flags = [*FED, "--attack", "idlg", "--rec_epochs", "1", "--out_dir", str(tmp_path)]
    main_fed.main(flags)
    assert len([name for name in files(tmp_path) if name.endswith(".png")]) == 2  # grid and accuracy curve
    line = one_line(capsys, lambda: main_fed.main([*flags, "--overwrite", "--lr_decay", "1e12"]), code=1)
    assert "try --lr_decay <= 1" in line  # class 8: the decay grew the rate, not --lr
    (written,) = tmp_path.glob("*.json")
    assert json.loads(written.read_text())["status"] == "failed"
    assert sorted(files(tmp_path)) == sorted([written.name, written.stem + "_accuracy.png"])


def test_overwrite_of_a_folder_squatting_the_name_is_refused_before_the_run(
    capsys: pytest.CaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "idlg_1n_unzcifar10_sample_mlp_1rb.png").mkdir()
    monkeypatch.setattr(grad, "run", lambda args, checked: pytest.fail("the run started"))
    line = one_line(capsys, lambda: main_grad.main([*TINY, "--out_dir", str(tmp_path), "--overwrite"]), code=2)
    assert "is a folder, not an earlier result" in line and files(tmp_path) == ["idlg_1n_unzcifar10_sample_mlp_1rb.png"]


def test_overwrite_of_a_file_that_cannot_be_moved_keeps_it(
    capsys: pytest.CaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flags = [*TINY, "--out_dir", str(tmp_path), "--overwrite"]
    main_grad.main(flags)
    before, real = contents(tmp_path), atomic.os.replace

    def immutable(source, target) -> None:  # chattr +i: the old JSON cannot be renamed
        if str(source).endswith(".json") and ".partial" not in str(source):
            raise OSError(errno.EPERM, os.strerror(errno.EPERM))
        real(source, target)

    monkeypatch.setattr(atomic.os, "replace", immutable)
    assert "Operation not permitted" in one_line(capsys, lambda: main_grad.main(flags), code=1)
    assert contents(tmp_path) == before


@pytest.mark.parametrize(
    ("out", "problem"),
    [("", "empty"), ("{tmp}/sub/", "is a folder"), ("{tmp}/gen.png", "sample sheet"), ("{tmp}/grid.pt", "exists")],
)
def test_train_generator_refuses_outputs_it_would_misplace(
    out: str, problem: str, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    (tmp_path / "grid.png").write_text("a grid another tool wrote")
    line = one_line(capsys, lambda: train_generator.main([*GENERATOR, "--out", out.format(tmp=tmp_path)]), code=2)
    assert problem in line and (tmp_path / "grid.png").read_text() == "a grid another tool wrote"


def test_train_generator_refuses_an_out_another_run_is_writing(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        (tmp_path / ".gen.claim").write_text(str(sleeper.pid))
        line = one_line(capsys, lambda: train_generator.main([*GENERATOR, "--out", str(tmp_path / "gen.pt")]), 2)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert f"another run (process {sleeper.pid})" in line and files(tmp_path) == [".gen.claim"]


# 4. Signals: SIGTERM like Ctrl-C (exit 143), a signal while writing waits, stale temporary files cleaned.
def test_sigterm_keeps_the_finished_experiments(
    capsys: pytest.CaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    method, calls = importlib.import_module(get_attack("idlg").method), []
    attack = method.run

    def terminated_second(observation, config):
        calls.append(1)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGTERM)  # what `timeout` sends
        return attack(observation, config)

    monkeypatch.setattr(method, "run", terminated_second)
    own = signal.getsignal(signal.SIGTERM)
    line = one_line(capsys, lambda: main_grad.main([*TINY, "--num_exp", "3", "--out_dir", str(tmp_path)]), code=143)
    assert line.startswith("interrupted: SIGTERM;")
    (written,) = tmp_path.glob("*.json")
    report = json.loads(written.read_text())
    assert report["interrupted"] is True and len(report["experiments"]) == 1
    assert signal.getsignal(signal.SIGTERM) is own  # the process's own handling is back


def test_a_signal_while_the_results_are_renamed_waits_for_them(
    capsys: pytest.CaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = atomic.os.replace

    def signalled(source, target) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        real(source, target)

    monkeypatch.setattr(atomic.os, "replace", signalled)
    line = one_line(capsys, lambda: main_grad.main([*TINY, "--out_dir", str(tmp_path)]), code=143)
    assert "SIGTERM while the results were written; they were written whole" in line
    assert len(files(tmp_path)) == 2 and json.loads(next(tmp_path.glob("*.json")).read_text())["summary"]


def test_the_next_run_cleans_what_a_killed_run_left(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    pid = dead_pid()
    (tmp_path / f".x.partial{pid}.png").write_text("half")
    (tmp_path / f".old.old{pid}.json").write_text("an earlier result set aside by a killed --overwrite")
    (tmp_path / ".y.claim").write_text(str(pid))
    (tmp_path / f".z.partial{os.getpid()}.png").write_text("a live run's")
    main_grad.main([*TINY, "--out_dir", str(tmp_path)])
    note = capsys.readouterr().err
    assert "removed 1 half-written file(s)" in note and "put back old.json" in note
    names = files(tmp_path)
    assert (tmp_path / "old.json").read_text().startswith("an earlier result")
    assert f".x.partial{pid}.png" not in names and ".y.claim" not in names and f".z.partial{os.getpid()}.png" in names


def test_sigterm_is_ours_again_after_a_library_took_it() -> None:
    """Ray's driver installs a SIGTERM handler that dies with a stack; the engine reinstalls ours."""
    own = signal.getsignal(signal.SIGTERM)
    with signals.sigterm_as_interrupt():
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signals.reinstall()
        with pytest.raises(signals.Terminated):
            os.kill(os.getpid(), signal.SIGTERM)
        assert signals.stopped_by() == "SIGTERM" and signals.exit_code() == 143
    signals.reinstall()  # outside an entry point: a library user's process keeps its own handling
    assert signal.getsignal(signal.SIGTERM) is own


# 5. The tools: benchmarks.audit and cli.train_generator.
@pytest.fixture
def audit_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """benchmarks.audit writing into a copy of the committed table, its cells computed in-process."""
    out = tmp_path / "audit"
    shutil.copytree(audit.OUT, out, ignore=shutil.ignore_patterns("cells"))
    monkeypatch.setattr(audit, "OUT", out)
    monkeypatch.setattr(audit, "CELLS", out / "cells")
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setattr(audit, "cell_pool", lambda jobs, ray: ThreadPoolExecutor(1))
    data = tmp_path / "data"
    data.mkdir()
    for name in ("cifar10_subset.npz", "mnist_test.npz"):
        (data / name).write_bytes(b"")
    return data


def test_audit_with_missing_data_is_refused_and_keeps_the_table(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    before = (audit.OUT / "audit.md").read_bytes()
    line = one_line(capsys, lambda: audit.audit(audit.parse_args(["--data_dir", str(tmp_path)])), code=2)
    assert "cifar10_subset.npz, mnist_test.npz missing" in line and (audit.OUT / "audit.md").read_bytes() == before


def test_a_partial_audit_changes_only_the_cells_it_ran(audit_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    committed = json.loads((audit.OUT / "audit.json").read_text())["cells"]
    picture = (audit.OUT / "audit.png").read_bytes()
    cell = {"status": "failed", "why": "planted", "wall_seconds": 0.0}
    monkeypatch.setattr(audit, "compute_cell", lambda name, column, data_dir: dict(cell))
    audit.main(["--data_dir", str(audit_copy), "--rows", "idlg", "--columns", "none", "--no_fed"])
    cells = json.loads((audit.OUT / "audit.json").read_text())["cells"]
    assert cells["idlg"]["none"]["why"] == "planted"
    cells["idlg"]["none"] = committed["idlg"]["none"]
    assert cells == committed and (audit.OUT / "audit.png").read_bytes() == picture
    assert "| idlg | failed: planted |" in (audit.OUT / "audit.md").read_text()


def test_ctrl_c_in_an_audit_keeps_the_table(
    audit_copy: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = {name: (audit.OUT / name).read_bytes() for name in ("audit.md", "audit.json", "audit.png")}

    def interrupted(*_args):
        raise KeyboardInterrupt

    monkeypatch.setattr(audit, "compute_cell", interrupted)
    flags = ["--data_dir", str(audit_copy), "--rows", "idlg", "--columns", "none", "--no_fed"]
    line = one_line(capsys, lambda: audit.audit(audit.parse_args(flags)), code=130)
    assert line.startswith("interrupted: Ctrl-C after 0 of 1 cells")
    assert {name: (audit.OUT / name).read_bytes() for name in before} == before and files(audit.CELLS) == []


@pytest.mark.parametrize(
    ("flags", "problem"),
    [(["--ray", "bogus"], "is not auto, HOST:PORT"), (["--ray", "127.0.0.1:99999"], "is not auto, HOST:PORT")],
)
def test_audit_flags_are_one_line(flags: list[str], problem: str, capsys: pytest.CaptureFixture) -> None:
    assert problem in one_line(capsys, lambda: audit.main(flags), code=2)


def test_an_audit_into_a_checkout_it_cannot_write_is_one_line(
    audit_copy: Path, capsys: pytest.CaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "file").write_text("")
    monkeypatch.setattr(audit, "CELLS", tmp_path / "file" / "cells")  # cannot be created: a read-only checkout
    line = one_line(capsys, lambda: audit.audit(audit.parse_args(["--data_dir", str(audit_copy), "--no_fed"])), 2)
    assert "cannot write there" in line


def test_train_generator_refuses_a_generator_beyond_memory(
    capsys: pytest.CaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(train_generator, "train_step", lambda *args: pytest.fail("training started"))
    flags = [*GENERATOR, "--width", str(10**8), "--out", str(tmp_path / "g.pt")]
    assert "would need" in one_line(capsys, lambda: train_generator.main(flags), code=2)
    assert files(tmp_path) == []


def test_train_generator_stops_on_non_finite_losses_writing_nothing(
    capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    flags = [*GENERATOR, "--loss", "dcgan", "--lr", "3e38", "--steps", "3", "--out", str(tmp_path / "g.pt")]
    line = one_line(capsys, lambda: train_generator.main(flags), code=1)
    assert "step 1: the losses became non-finite" in line and "nothing was written" in line
    assert files(tmp_path) == []


def test_train_generator_saves_the_steps_done_on_sigterm(
    capsys: pytest.CaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real, steps = train_generator.train_step, []

    def terminated_third(*args):
        steps.append(1)
        if len(steps) == 3:
            os.kill(os.getpid(), signal.SIGTERM)
        return real(*args)

    monkeypatch.setattr(train_generator, "train_step", terminated_third)
    out = tmp_path / "g.pt"
    line = one_line(capsys, lambda: train_generator.main([*GENERATOR, "--steps", "50", "--out", str(out)]), 143)
    assert "the generator after 3 steps is in" in line  # the signalled step finished first
    assert files(tmp_path) == ["g.png", "g.pt"]
    assert train_generator.read_checkpoint(out, "--out")["meta"]["steps"] == 3


# 6. The environment: the plotting backend, home-relative paths, names that are not UTF-8.
def test_a_plotting_backend_matplotlib_does_not_know_is_replaced() -> None:
    code = "import fedprivacy, matplotlib.pyplot as plt; print(plt.get_backend())"
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "MPLBACKEND": "no_such_backend", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0 and done.stdout.strip().lower() == "agg"
    assert done.stderr.strip().splitlines() == [
        "note: MPLBACKEND='no_such_backend' is not a matplotlib backend; figures are written with Agg"
    ]


def test_a_home_relative_out_dir_is_written_where_it_was_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    report = main_grad.main([*TINY, "--out_dir=~/results"])
    assert Path(report["grid"]).parent == tmp_path / "results" and Path(report["grid"]).is_file()
    assert report["args"]["out_dir"] == str(tmp_path / "results")


@pytest.mark.parametrize("flag", ["--out_dir", "--base_data_dir", "--pretrained"])
def test_a_path_that_is_not_utf8_is_one_line(flag: str, capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    name = os.fsdecode(os.fsencode(str(tmp_path)) + b"/\xff")
    line = one_line(capsys, lambda: main_grad.main([*TINY, flag, name]), code=2)
    assert line.startswith(f"error: argument {flag}: ") and "not valid UTF-8" in line


# 7. Values the libraries cannot take or that break the maths: refused before any work, or a case's divergence.
@pytest.mark.parametrize(
    ("entry", "flags", "problem"),
    [
        (main_grad.main, ["--dataset", "digits", "--normalize", "--norm_stats", "imagenet"], "for 3 channels"),
        (main_grad.main, ["--num_classes", str(2**63)], "<= 9223372036854775807"),
        (main_grad.main, ["--threads", str(2**31)], "<= 4096"),
        (main_grad.main, ["--rec_lr", "1e300"], "<= 3.40282e+38"),
        (main_fed.main, ["--lr_decay", "1e30", "--num_rounds", "3"], "in round 3 of --num_rounds 3"),
    ],
)
def test_values_beyond_the_libraries_are_one_line(
    entry, flags: list[str], problem: str, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    base = TINY if entry is main_grad.main else FED
    assert problem in one_line(capsys, lambda: entry([*base, *flags, "--out_dir", str(tmp_path)]), code=2)


def test_omp_num_threads_beyond_torch_is_one_line(
    capsys: pytest.CaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", str(2**31))
    flags = [*TINY, "--out_dir", str(tmp_path)]
    assert "OMP_NUM_THREADS=2147483648" in one_line(capsys, lambda: main_grad.main(flags), code=2)


def test_a_step_that_overflows_float32_is_that_case_diverging(tmp_path: Path) -> None:
    flags = ["--attack", "ig_single", "--rec_epochs", "3", "--rec_lr", "3e38", "--model", "mlp", "--quiet"]
    with pytest.raises(RunFailed, match="every experiment failed"):  # its only case diverged: exit 1 (issue 27)
        main_grad.main([*flags, "--out_dir", str(tmp_path)])
    (written,) = tmp_path.glob("*.json")
    report = json.loads(written.read_text())
    assert (
        report["experiments"][0]["status"] == "diverged" and "overflowed float32" in report["experiments"][0]["error"]
    )


# 8. Messages that misled: a refused GGL generator is offered only fixes that exist.
def test_a_generator_trained_on_an_embedded_sample_gets_possible_fixes_only() -> None:
    meta = {"dataset": "cifar10_sample", "split": "train", "num_images": 20}
    with pytest.raises(UsageError) as grad_side:
        generator_record(meta, PublicData("cifar10_sample", "data_files", None, private="test"), range(0, 1))
    assert "--start_index 20" not in str(grad_side.value) and "train split" not in str(grad_side.value).split(";")[1]
    assert "--num_images K" in str(grad_side.value)
    with pytest.raises(UsageError) as fed_side:
        generator_record(meta, PublicData("cifar10_sample", "data_files", None, private="train"), range(0))
    assert "--start_index" not in str(fed_side.value) and "another dataset" in str(fed_side.value)


# Issue 27: the runs' default folder holds no committed result, so a first run in a fresh clone writes the
# canonical name; the committed examples live apart, in images/examples/.
def test_a_first_run_in_a_fresh_clone_writes_the_canonical_name() -> None:
    root = Path(__file__).resolve().parent.parent
    tracked = subprocess.run(["git", "-C", str(root), "ls-files", "images"], capture_output=True, text=True, check=True)
    assert tracked.stdout.split() and all(name.startswith("images/examples/") for name in tracked.stdout.split())
    assert main_grad.parse_args([]).out_dir == "images"


def test_dry_run_announces_the_name_the_run_writes(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    flags = [*TINY, "--out_dir", str(tmp_path)]
    main_grad.main(flags)
    announced = main_grad.main([*flags, "--dry_run", "flags"])["dry_run"].split("would write ")[1]
    assert announced == main_grad.main(flags)["grid"] and announced.endswith("_run2.png")
