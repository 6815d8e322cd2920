"""Property-based tests (Hypothesis) of every entry point's input handling and of the faults that can be
simulated in-process: flag values drawn inside and outside each flag's declared domain, malformed npz
files and image folders, the tools (cli.train_generator, benchmarks.audit), the scripts' environment
variables, a failing disk, concurrent name claims and signals. Every run either succeeds with whole
results, or exits 2 (1 for a fault during the work, 130/143 for Ctrl-C/SIGTERM) with exactly one line,
no traceback, nothing half-written and no earlier result lost. Attacks run in-process with tiny budgets."""

import argparse
import contextlib
import errno
import io
import json
import os
import shutil
import signal
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image

import main_fed
import main_grad
from benchmarks import audit
from fedprivacy.cli import train_generator
from fedprivacy.cli.common import OneLineParser, run_cli
from fedprivacy.utils import threads
from fedprivacy.utils.claims import CLAIM_SUFFIX, TEMPORARY
from fedprivacy.utils.domains import Count, Real

QUICK = settings(
    max_examples=12,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
RUNS = settings(QUICK, max_examples=6)
TINY = ["--attack", "idlg", "--rec_epochs", "1", "--model", "mlp", "--quiet"]
FED = ["--num_rounds", "1", "--total_clients", "2", "--attack", "none", "--model", "mlp", "--quiet"]
# Values a hostile user types: NaN, infinities, zero, negatives, huge, wrong types, odd spellings.
HOSTILE = ["nan", "inf", "-inf", "0", "-0", "-1", "-5", "1e400", "1e300", "1e-300", "abc", "", "1.5", "0x10", "2", "7"]
VALUES = st.one_of(
    st.sampled_from(HOSTILE),
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


class Captured(Exception):
    """Carries the parser out of an entry script's parse_args."""


def parser_of(parse_args: Callable) -> argparse.ArgumentParser:
    original = OneLineParser.parse_args

    def capture(self, *_args, **_kwargs):
        raise Captured(self)

    OneLineParser.parse_args = capture
    try:
        parse_args([])
    except Captured as captured:
        return captured.args[0]
    finally:
        OneLineParser.parse_args = original
    raise AssertionError("parse_args built no OneLineParser")


PARSERS = {
    "main_grad": main_grad.parse_args,
    "main_fed": main_fed.parse_args,
    "train_generator": train_generator.parse_args,
    "audit": audit.parse_args,
}
REQUIRED = {"train_generator": ["--out", "x.pt"]}


def numeric_flags(script: str) -> list[argparse.Action]:
    return [a for a in parser_of(PARSERS[script])._actions if isinstance(a.type, Real | Count)]


def enabling(script: str, dest: str) -> list[str]:
    """Flags that make the flag stored under `dest` apply (its AppliesTo rules hold), e.g. --imprint for --bins."""
    flags = []
    for rule in getattr(parser_of(PARSERS[script]), "rules", {}).get(dest, []):
        value = sorted(rule.values, key=str)[0]
        flags += [f"--{rule.decider}"] if value is True else [] if value is False else [f"--{rule.decider}", value]
    return flags


def run(entry: Callable, argv: list[str]) -> tuple[int, str]:
    """An entry point through run_cli in-process: (exit code, stderr)."""
    stderr = io.StringIO()
    code = 0
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        try:
            run_cli(lambda: entry(argv))
        except SystemExit as exit_info:
            code = exit_info.code
    return code, stderr.getvalue()


def assert_clean(code: int, stderr: str, out_dir: Path) -> None:
    """Success with a whole pair, or one `error:` line: with no output (2, bad input), or after writing a run
    whose every experiment failed (1); never a traceback or a partial file."""
    event(f"exit {code}")
    assert "Traceback" not in stderr
    assert code in (0, 1, 2), (code, stderr)
    files = sorted(p.name for p in out_dir.iterdir()) if out_dir.is_dir() else []
    assert not [name for name in files if name.startswith(".")], files  # no temporary file left
    if code == 0:
        jsons = [name for name in files if name.endswith(".json")]
        assert jsons and len(files) >= 2 * len(jsons)
        for name in jsons:
            json.loads((out_dir / name).read_text(), parse_constant=pytest.fail)  # strict: no NaN or Infinity
    else:
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:"), stderr
        if code == 2:
            assert files == []


def fresh_dir(factory: pytest.TempPathFactory) -> Path:
    """A new folder per example (pytest's tmp_path is one per test, and Hypothesis runs many examples)."""
    return factory.mktemp("example")


@pytest.mark.parametrize("script", sorted(PARSERS))
def test_every_numeric_flag_declares_a_domain(script: str) -> None:
    plain = [a.option_strings[0] for a in parser_of(PARSERS[script])._actions if a.type in (int, float)]
    assert plain == [] and numeric_flags(script)


@pytest.mark.parametrize("script", sorted(PARSERS))
@QUICK
@given(data=st.data())
def test_a_flag_value_is_parsed_into_its_domain_or_refused_in_one_line(script: str, data: st.DataObject) -> None:
    action = data.draw(st.sampled_from(numeric_flags(script)), label="flag")
    flag, text = action.option_strings[0], data.draw(VALUES, label="value")
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        try:
            argv = [f"{flag}={text}", *REQUIRED.get(script, []), *enabling(script, action.dest)]
            parsed = vars(PARSERS[script](argv))[action.dest]
        except SystemExit as exit_info:
            assert exit_info.code == 2
            (line,) = stderr.getvalue().strip().splitlines()
            assert line.startswith(f"error: argument {flag}: ") and str(action.type) in line
            return
    assert action.type.contains(parsed)


# Cheap flags of a tiny run and values around their domains; outside ones must stop before any output.
GRAD_FLAGS = ["--rec_lr", "--tv", "--seed", "--start_index", "--restarts", "--image_size", "--noise_scale"]


@RUNS
@given(flag=st.sampled_from(GRAD_FLAGS), text=st.sampled_from([*HOSTILE, "0.5", "3", "1e-3"]))
def test_main_grad_succeeds_or_refuses_in_one_line(
    tmp_path_factory: pytest.TempPathFactory, flag: str, text: str
) -> None:
    out_dir = fresh_dir(tmp_path_factory)
    defense = ["--defense", "gaussian"] if flag == "--noise_scale" else []
    code, stderr = run(main_grad.main, [*TINY, *defense, f"{flag}={text}", "--out_dir", str(out_dir)])
    assert_clean(code, stderr, out_dir)


FED_FLAGS = ["--lr", "--lr_decay", "--C", "--client_momentum", "--weight_decay", "--beta", "--batch_size"]


@RUNS
@given(flag=st.sampled_from(FED_FLAGS), text=st.sampled_from([*HOSTILE, "0.5", "1e10"]))
def test_main_fed_succeeds_fails_cleanly_or_refuses_in_one_line(
    tmp_path_factory: pytest.TempPathFactory, flag: str, text: str
) -> None:
    out_dir = fresh_dir(tmp_path_factory)
    code, stderr = run(main_fed.main, [*FED, f"{flag}={text}", "--out_dir", str(out_dir)])
    assert_clean(code, stderr, out_dir)


MUTATIONS = ["none", "none", "none", "shape", "nchw", "dtype", "scale", "nan", "count", "label", "label_dtype", "drop"]


@st.composite
def npz_arrays(draw: st.DrawFn) -> dict[str, np.ndarray]:
    """A well-formed npz's arrays (uint8 or [0, 1] floats, N,H,W[,C]) with at most one thing broken."""
    shape = (
        draw(st.integers(1, 3)),
        draw(st.integers(3, 6)),
        draw(st.integers(3, 6)),
        *draw(st.sampled_from([(), (1,), (3,)])),
    )
    rng = np.random.default_rng(draw(st.integers(0, 3)))
    unit = rng.random(shape)
    pixels = (
        (unit * 255).astype(np.uint8)
        if draw(st.booleans())
        else unit.astype(draw(st.sampled_from(["float32", "float64"])))
    )
    labels = rng.integers(0, 3, shape[0])
    arrays = {"test_x": pixels, "test_y": labels}
    mutation = draw(st.sampled_from(MUTATIONS))
    if mutation == "shape":
        arrays["test_x"] = pixels.reshape(draw(st.sampled_from([(-1,), (shape[0], -1), (1, 1, 1, 1, -1)])))
    elif mutation == "nchw" and pixels.ndim == 4:
        arrays["test_x"] = pixels.transpose(0, 3, 1, 2)
    elif mutation == "dtype":
        arrays["test_x"] = pixels.astype(draw(st.sampled_from(["bool", "<U1", "complex64", "int64"])))
    elif mutation == "scale":
        arrays["test_x"] = unit * draw(st.sampled_from([255.0, -1.0, 2.0, 1e30]))
    elif mutation == "nan":
        arrays["test_x"] = np.where(unit > 0.5, np.nan, unit)
    elif mutation == "count":
        arrays["test_y"] = np.resize(labels, shape[0] + draw(st.sampled_from([-1, 1])))
    elif mutation == "label":
        arrays["test_y"] = np.full(shape[0], draw(st.sampled_from([-1, 999999999, 2**62])))
    elif mutation == "label_dtype":
        arrays["test_y"] = labels.astype(draw(st.sampled_from(["float64", "<U1", "bool"])))
    elif mutation == "drop":
        del arrays[draw(st.sampled_from(["test_x", "test_y"]))]
    if draw(st.booleans()):
        arrays["classes"] = np.array(draw(st.sampled_from([["a", "b", "c"], ["a"], []])))
    return arrays


@settings(RUNS, max_examples=10)
@given(arrays=npz_arrays())
def test_a_drawn_npz_is_attacked_or_refused_in_one_line_naming_it(
    tmp_path_factory: pytest.TempPathFactory, arrays: dict[str, np.ndarray]
) -> None:
    folder = fresh_dir(tmp_path_factory)
    path = folder / "data.npz"
    np.savez(path, **arrays)
    out_dir = folder / "out"
    code, stderr = run(
        main_grad.main, [*TINY, "--dataset", "npz", "--base_data_dir", str(path), "--out_dir", str(out_dir)]
    )
    assert_clean(code, stderr, out_dir)
    assert code == 0 or str(path) in stderr


FILE_KINDS = ["png", "gray", "tiny", "text", "truncated", "empty"]


def write_image(path: Path, kind: str, seed: int) -> None:
    pixels = np.random.default_rng(seed).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    if kind in ("png", "gray", "tiny"):
        image = Image.fromarray(pixels if kind == "png" else pixels[..., 0] if kind == "gray" else pixels[:1, :1])
        image.save(path.with_suffix(".png"))
    elif kind == "truncated":
        buffer = io.BytesIO()
        Image.fromarray(np.repeat(np.repeat(pixels, 8, 0), 8, 1)).save(buffer, format="JPEG")
        path.with_suffix(".jpg").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    else:
        path.with_suffix(".png").write_text("" if kind == "empty" else "not an image")


@settings(RUNS, max_examples=8)
@given(
    layout=st.sampled_from(["flat", "train", "test", "both"]),
    classes=st.lists(st.lists(st.sampled_from(FILE_KINDS), min_size=0, max_size=3), min_size=0, max_size=3),
)
def test_a_drawn_image_folder_is_attacked_or_refused_in_one_line(
    tmp_path_factory: pytest.TempPathFactory, layout: str, classes: list[list[str]]
) -> None:
    folder = fresh_dir(tmp_path_factory)
    splits = {"flat": [""], "train": ["train"], "test": ["test"], "both": ["train", "test"]}[layout]
    for split in splits:
        for label, kinds in enumerate(classes):
            (folder / "data" / split / f"class{label}").mkdir(parents=True)
            for index, kind in enumerate(kinds):
                write_image(folder / "data" / split / f"class{label}" / f"{index}", kind, label + index)
    out_dir = folder / "out"
    flags = [*TINY, "--dataset", "imagefolder", "--base_data_dir", str(folder / "data"), "--out_dir", str(out_dir)]
    assert_clean(*run(main_grad.main, flags), out_dir)


# The tools: cli.train_generator and benchmarks.audit, with the same promise as the entry scripts.
GENERATOR_FLAGS = ["--steps", "--batch_size", "--latent", "--width", "--lr", "--gp", "--minutes", "--save_every"]
OUT_NAMES = ["g.pt", "g.pt", "deep/er/g.pt", "g", "sub/g.pt", "sub/", "g.png", "", "grid.pt", ".pt", "g.tar.gz"]


@settings(RUNS, max_examples=8)
@given(
    flag=st.sampled_from(GENERATOR_FLAGS), text=st.sampled_from([*HOSTILE, "1e38", "3"]), out=st.sampled_from(OUT_NAMES)
)
def test_train_generator_trains_or_refuses_in_one_line_and_never_replaces_a_file(
    tmp_path_factory: pytest.TempPathFactory, flag: str, text: str, out: str
) -> None:
    folder = fresh_dir(tmp_path_factory)
    (folder / "grid.png").write_text("another tool's grid")
    flags = ["--dataset", "digits", "--steps", "2", "--batch_size", "8", "--width", "4", "--latent", "4", "--quiet"]
    code, stderr = run(train_generator.main, [*flags, f"{flag}={text}", "--out", f"{folder}/{out}" if out else ""])
    event(f"exit {code}")
    assert "Traceback" not in stderr and code in (0, 1, 2), (code, stderr)
    assert (folder / "grid.png").read_text() == "another tool's grid"
    written = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    temporary = [name for name in written if TEMPORARY.match(Path(name).name) or name.endswith(CLAIM_SUFFIX)]
    assert temporary == []
    if code == 0:
        checkpoint = Path(out)
        assert {checkpoint.as_posix(), checkpoint.with_suffix(".png").as_posix()} <= set(written)
    else:
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:"), stderr
        assert written == ["grid.png"]


AUDIT_ARGUMENTS = st.lists(
    st.sampled_from(
        [
            ["--rows", "idlg"],
            ["--rows", "nope"],
            ["--columns", "none", "prune_0.9"],
            ["--columns"],
            ["--no_fed"],
            ["--jobs", "0"],
            ["--ray", "bogus"],
            ["--ray", "host:0"],
            ["--data_dir", "{missing}"],
            ["--data_dir", "~"],
            ["--fresh"],
        ]
    ),
    max_size=4,
)


@settings(QUICK, max_examples=10)
@given(arguments=AUDIT_ARGUMENTS)
def test_the_audit_runs_or_refuses_in_one_line_and_changes_only_its_cells(
    tmp_path_factory: pytest.TempPathFactory, arguments: list[list[str]]
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    folder = fresh_dir(tmp_path_factory)
    data = folder / "data"
    data.mkdir()
    for name in ("cifar10_subset.npz", "mnist_test.npz"):
        (data / name).write_bytes(b"")
    out = folder / "audit"
    shutil.copytree(audit.OUT, out, ignore=shutil.ignore_patterns("cells"))
    committed = json.loads((out / "audit.json").read_text())["cells"]
    argv = ["--data_dir", str(data), "--rows", "dlg", "--columns", "none"]
    argv += [part.format(missing=folder / "missing") for argument in arguments for part in argument]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(audit, "OUT", out)
        patch.setattr(audit, "CELLS", out / "cells")
        patch.setattr(audit, "GENERATOR", folder / "missing.pt")
        patch.setattr(audit, "cell_pool", lambda jobs, ray: ThreadPoolExecutor(1))
        patch.setattr(audit, "compute_cell", lambda *_: {"status": "failed", "why": "drawn", "wall_seconds": 0.0})
        code, stderr = run(audit.main, argv)
    event(f"exit {code}")
    assert "Traceback" not in stderr and code in (0, 2), (code, stderr)
    cells = json.loads((out / "audit.json").read_text())["cells"]
    changed = {(row, key) for row in cells for key in cells[row] if cells[row][key] != committed[row][key]}
    if code == 2:
        lines = [line for line in stderr.strip().splitlines() if "cell/s]" not in line]
        assert len(lines) == 1 and lines[0].startswith("error:"), stderr
        assert changed == set()
    else:
        assert changed and all(cells[row][key]["why"] == "drawn" for row, key in changed)


# The scripts' environment variables: BASE_DATADIR (the default of --base_data_dir), OMP_NUM_THREADS.
ENVIRONMENT = {
    "BASE_DATADIR": ["", "~", "~/nope.npz", "/nonexistent.npz", "\udcff.npz", "data_files", "."],
    "OMP_NUM_THREADS": ["", "0", "-1", "abc", "1.5", "1", "4097", str(2**31), str(2**64)],
}


@settings(RUNS, max_examples=10)
@given(variable=st.sampled_from(sorted(ENVIRONMENT)), data=st.data())
def test_the_scripts_environment_variables_run_or_refuse_in_one_line(
    tmp_path_factory: pytest.TempPathFactory, variable: str, data: st.DataObject
) -> None:
    value = data.draw(st.sampled_from(ENVIRONMENT[variable]), label="value")
    out_dir = fresh_dir(tmp_path_factory)
    dataset = ["--dataset", "npz"] if variable == "BASE_DATADIR" else []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(variable, value)
        patch.setattr(threads, "usable_cores", lambda: 1)  # the fallback for a value libgomp does not read
        code, stderr = run(main_grad.main, [*TINY, *dataset, "--out_dir", str(out_dir)])
    torch.set_num_threads(1)  # as conftest set it for the tests after this one
    assert_clean(code, stderr, out_dir)


# Faults of the machine and of concurrency, simulated in-process.
ERRNOS = [errno.ENOSPC, errno.EROFS, errno.EFBIG, errno.EDQUOT, errno.EIO, errno.EACCES]


@settings(RUNS, max_examples=8)
@given(where=st.sampled_from(["grid", "json", "rename", "set_aside"]), number=st.sampled_from(ERRNOS))
def test_a_failing_disk_ends_in_one_line_with_the_earlier_result_intact(
    tmp_path_factory: pytest.TempPathFactory, where: str, number: int
) -> None:
    from fedprivacy.cli import grad, runner
    from fedprivacy.utils import atomic

    out_dir = fresh_dir(tmp_path_factory)
    flags = [*TINY, "--out_dir", str(out_dir), "--overwrite"]
    main_grad.main(flags)
    before = {path.name: path.read_bytes() for path in out_dir.iterdir()}
    real_replace = atomic.os.replace

    def fail(*_args, **_kwargs) -> None:
        raise OSError(number, os.strerror(number))

    def replace(source, target) -> None:  # the new file's rename, or setting the old one aside, is refused
        if (where == "rename" and ".partial" in str(source)) or (where == "set_aside" and ".old" in str(target)):
            fail()
        real_replace(source, target)

    with pytest.MonkeyPatch.context() as patch:
        if where == "grid":
            patch.setattr(grad, "save_grid", fail)
        elif where == "json":
            patch.setattr(runner, "write_json", fail)
        else:
            patch.setattr(atomic.os, "replace", replace)
        code, stderr = run(main_grad.main, [*flags, "--seed", "1"])
    assert code == 1 and "Traceback" not in stderr
    (line,) = stderr.strip().splitlines()
    assert line.startswith("error: cannot write") and os.strerror(number) in line
    assert {path.name: path.read_bytes() for path in out_dir.iterdir()} == before


@settings(QUICK, max_examples=25)
@given(order=st.permutations(range(4)), runs=st.integers(2, 4), taken=st.booleans())
def test_concurrent_runs_claiming_one_name_keep_every_result(
    tmp_path_factory: pytest.TempPathFactory, order: list[int], runs: int, taken: bool
) -> None:
    """`runs` runs claim one stem in turn (as they start), then finish in a drawn order."""
    from fedprivacy.evaluation.report import output_paths
    from fedprivacy.utils.atomic import write_together

    folder = fresh_dir(tmp_path_factory)
    if taken:
        (folder / "r.json").write_text("an earlier result")
    claimed = [output_paths(folder, "r", overwrite=False) for _ in range(runs)]
    for index in [i for i in order if i < runs]:
        png, json_path = claimed[index]
        write_together(
            {png: lambda p, i=index: p.write_text(str(i)), json_path: lambda p, i=index: p.write_text(str(i))}
        )
    names = sorted(path.name for path in folder.iterdir())
    assert len({pair[0] for pair in claimed}) == runs
    assert [pair[1].read_text() for pair in claimed] == [str(i) for i in range(runs)]
    assert len(names) == 2 * runs + taken and not [name for name in names if name.startswith(".")]
    if taken:
        assert (folder / "r.json").read_text() == "an earlier result"


@settings(RUNS, max_examples=8)
@given(stop_at=st.integers(1, 3), stop=st.sampled_from(["SIGTERM", "SIGINT"]))
def test_a_signal_keeps_exactly_the_finished_experiments(
    tmp_path_factory: pytest.TempPathFactory, stop_at: int, stop: str
) -> None:
    import importlib

    from fedprivacy.attacks import get_attack

    out_dir = fresh_dir(tmp_path_factory)
    method, calls = importlib.import_module(get_attack("idlg").method), []
    attack = method.run

    def stopped(observation, config):
        calls.append(1)
        if len(calls) == stop_at:
            os.kill(os.getpid(), getattr(signal, stop))
        return attack(observation, config)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(method, "run", stopped)
        code, stderr = run(main_grad.main, [*TINY, "--num_exp", "3", "--out_dir", str(out_dir)])
    assert code == {"SIGTERM": 143, "SIGINT": 130}[stop] and "Traceback" not in stderr
    (line,) = stderr.strip().splitlines()
    assert line.startswith("interrupted:")
    written = sorted(out_dir.iterdir())
    assert not [path for path in written if path.name.startswith(".")]
    if stop_at == 1:
        assert written == []
    else:
        (report,) = [path for path in written if path.suffix == ".json"]
        assert len(json.loads(report.read_text())["experiments"]) == stop_at - 1
