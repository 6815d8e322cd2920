"""Committed outputs are the code's current outputs. The examples in images/examples/ (written by `make examples`)
are checked against fresh runs: the demo's first experiment is rerun with the demo's own flags (read from the
Makefile) and must give the same fields and numbers; the default federation's JSON must have the fields a fresh
run writes, and the README and docs/federation.md must quote its numbers."""

import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest

import main_fed
import main_grad
from fedprivacy.cli import fed
from fedprivacy.cli.expected import expected_line, main
from fedprivacy.utils.progress import duration

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "images" / "examples"
REGENERATE = "regenerate the examples with `make examples` and commit them"


def demo_recipe() -> list[str]:
    """The lines of the Makefile's demo recipe."""
    return re.search(r"^demo:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.MULTILINE).group(1).splitlines()


def demo_flags() -> list[list[str]]:
    """The main_grad.py flags of each command of the Makefile's demo recipe, without its --out_dir."""
    commands = []
    for line in demo_recipe():
        if "main_grad.py" not in line:
            continue
        flags = shlex.split(line.split("main_grad.py", 1)[1])
        at = flags.index("--out_dir")
        commands.append(flags[:at] + flags[at + 2 :])
    return commands


OUTCOME_KEYED = ("verdict", "verdicts", "verdict_evidence")  # their fields depend on the outcome


def shape(value: object) -> object:
    """The fields of a JSON value, recursively: a dict's keys, a list's first item, any other value alike."""
    if isinstance(value, dict):
        return {key: "value" if key in OUTCOME_KEYED else shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value and isinstance(value[0], dict | list) else []
    return "value"


def committed(pattern: str) -> dict:
    (path,) = EXAMPLES.glob(pattern)
    return json.loads(path.read_text())


@pytest.mark.parametrize("flags", demo_flags(), ids=lambda flags: flags[flags.index("--attack") + 1])
def test_the_demos_committed_json_is_what_the_code_writes(flags: list[str], tmp_path: Path) -> None:
    """The demo's first image again (one thread, as the demo): same fields, same labels, PSNR within 0.5 dB."""
    attack = flags[flags.index("--attack") + 1]
    example = committed(f"{attack}_*.json")
    fresh = main_grad.main([*flags, "--num_exp", "1", "--threads", "1", "--quiet", "--out_dir", str(tmp_path)])
    fresh = json.loads(Path(fresh["grid"]).with_suffix(".json").read_text())
    assert shape(fresh) == shape(example), REGENERATE
    ignored = {"num_exp", "out_dir", "quiet", "threads"}
    assert {k: v for k, v in fresh["args"].items() if k not in ignored} == {
        k: v for k, v in example["args"].items() if k not in ignored
    }, f"the committed {attack} example was not made with the Makefile's demo flags; {REGENERATE}"
    new, old = fresh["per_image"][0], example["per_image"][0]
    assert (new["label"], new["predicted_label"]) == (old["label"], old["predicted_label"]), REGENERATE
    assert new["psnr"] == pytest.approx(old["psnr"], abs=0.5), REGENERATE


def test_the_demo_first_prints_its_expected_duration_as_its_committed_examples_measured() -> None:
    """make demo's first line reads the seconds of exactly the demo's committed examples (no hand-kept figure)."""
    first = demo_recipe()[0]
    assert "fedprivacy.cli.expected" in first, "the demo should say how long it takes before it starts"
    named = sorted(path for pattern in shlex.split(first.split("fedprivacy.cli.expected", 1)[1])
                   for path in ROOT.glob(pattern))  # fmt: skip
    demo = sorted(next(EXAMPLES.glob(f"{flags[flags.index('--attack') + 1]}_*.json")) for flags in demo_flags())
    assert named == demo
    seconds = sum(json.loads(path.read_text())["wall_seconds"] for path in demo)
    line = expected_line(named)
    assert line.startswith("expected duration: about ") and f"about {duration(seconds)} for {len(demo)} run(s)" in line


def test_the_default_federations_committed_json_has_the_fields_the_code_writes(tmp_path: Path) -> None:
    example = committed("fedavg_*.json")
    args = main_fed.parse_args([])
    defaults = fed.flags(args, fed.check(args))  # what a report records of its flags
    assert {k: v for k, v in example["args"].items() if k not in ("out_dir", "overwrite")} == {
        k: v for k, v in defaults.items() if k not in ("out_dir", "overwrite")
    }, f"images/examples/ should hold the default main_fed.py run; {REGENERATE}"
    fresh = main_fed.main(
        ["--num_rounds", "1", "--rec_epochs", "1", "--threads", "1", "--quiet", "--out_dir", str(tmp_path)]
    )
    assert shape(json.loads(Path(fresh["grid"]).with_suffix(".json").read_text())) == shape(example), REGENERATE


def test_the_docs_quote_the_default_federations_numbers() -> None:
    summary = committed("fedavg_*.json")["summary"]
    assert f"{100 * summary['final_accuracy']:.1f}% test" in (ROOT / "README.md").read_text()
    federation = " ".join((ROOT / "docs" / "federation.md").read_text().split())
    quoted = f"PSNR {summary['psnr']:.2f} dB, SSIM {summary['ssim']:.3f}"
    assert quoted in federation and f"final accuracy {100 * summary['final_accuracy']:.1f}%" in federation


@pytest.mark.parametrize("argv", [[], ["README.md"], ["no_such_result.json"]])
def test_the_expected_duration_tool_refuses_what_is_not_a_result_in_one_line(argv: list[str], capsys) -> None:
    assert main([str(ROOT / name) if name.endswith(".md") else name for name in argv]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: ")


def test_git_tracks_nothing_that_the_install_or_a_run_rewrites() -> None:
    """A fresh clone stays clean after `make demo` and `make test`: no build metadata, caches or run outputs are
    committed outside images/examples/ (pip install -e . rewrites *.egg-info; runs write to images/)."""
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    generated = re.compile(r"(^|/)([^/]+\.egg-info|__pycache__|\.pytest_cache|\.ruff_cache)/|^images/(?!examples/)")
    assert [path for path in listed.stdout.splitlines() if generated.search(path)] == []
