"""Docs that hold: every relative link and section anchor in README.md and docs/ resolves, and every summary line
they quote is what its command prints."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from fedprivacy.attacks import ATTACKS
from fedprivacy.utils.errors import UsageError

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^)\s]+)\)")
HEADING = re.compile(r"#{1,6}\s+(.*)")


def prose(path: Path) -> list[tuple[int, str]]:
    """The numbered lines of a markdown file outside fenced code blocks."""
    lines, fenced = [], False
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            lines.append((number, line))
    return lines


def anchors(path: Path) -> set[str]:
    """GitHub's anchors of a markdown file's headings: lower case, punctuation dropped, spaces to hyphens, a
    repeated heading numbered -1, -2, ..."""
    counts: dict[str, int] = {}
    found = set()
    for _, line in prose(path):
        heading = HEADING.match(line)
        if heading:
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-")
            found.add(f"{slug}-{counts[slug]}" if slug in counts else slug)
            counts[slug] = counts.get(slug, 0) + 1
    return found


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    """Each relative link of `path` to a file that does not exist or to a section its file does not have."""
    problems = []
    for number, line in prose(path):
        for target in LINK.findall(line):
            if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
                continue
            file, _, anchor = target.partition("#")
            linked = (path.parent / file).resolve() if file else path
            if not linked.exists():
                problems.append(f"{path.relative_to(root)}:{number}: {target} does not exist")
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                problems.append(f"{path.relative_to(root)}:{number}: {target} names no section of {linked.name}")
    return problems


@pytest.mark.parametrize("path", DOCS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(path: Path) -> None:
    assert broken_links(path) == []


def test_the_checker_catches_a_missing_file_and_a_missing_section(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Top\n\n## Top\n\n[a](#top-1) [b](#nowhere) [c](gone.md) [d](page.md#top)\n")
    assert [problem.split(": ", 1)[1] for problem in broken_links(page, tmp_path)] == [
        "#nowhere names no section of page.md",
        "gone.md does not exist",
    ]


# Quoted runs: in a ```console block of README.md or docs/, a line `$ [VAR=value ...] .venv/bin/python main_*.py
# [flags]` followed by the summary line it printed. Every quoted run is rerun here from a scratch folder (so its
# outputs land in that folder's images/) and must print the quoted line, times aside.
QUOTED = re.compile(r"^\$ ((?:\w+=\S+ )*)\.venv/bin/python (main_grad\.py|main_fed\.py)(.*)$")
TIMES = re.compile(r"\d+(\.\d+)? s(/round)?\b")


def quoted_runs() -> list[tuple[str, dict[str, str], list[str], str]]:
    """(where, environment, argv, the quoted summary line) of every quoted run."""
    runs = []
    for path in DOCS:
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines):
            match = QUOTED.match(line)
            if match:
                environment = dict(pair.split("=", 1) for pair in match.group(1).split())
                where = f"{path.relative_to(ROOT)}:{number + 1}"
                runs.append((where, environment, [match.group(2), *shlex.split(match.group(3))], lines[number + 1]))
    return runs


def test_quoted_runs_are_found() -> None:
    assert any(argv[0] == "main_fed.py" for _, _, argv, _ in quoted_runs())


@pytest.mark.parametrize(
    ("where", "environment", "argv", "line"), quoted_runs(), ids=lambda v: v if ":" in str(v) else ""
)
def test_a_quoted_summary_line_is_what_its_command_prints(
    where: str, environment: dict, argv: list[str], line: str, tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / argv[0]), *argv[1:], "--quiet"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT), **environment}, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    printed = done.stdout.strip().splitlines()[-1]
    assert same_line(printed, line), f"{where} quotes {line!r}; its command now prints {printed!r}"


NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def same_line(printed: str, quoted: str) -> bool:
    """The same words, and numbers within 2% (the last digits of an optimisation may differ between CPUs), times
    aside."""
    printed, quoted = TIMES.sub("<time>", printed), TIMES.sub("<time>", quoted)
    if NUMBER.sub("#", printed) != NUMBER.sub("#", quoted):
        return False
    pairs = zip(map(float, NUMBER.findall(printed)), map(float, NUMBER.findall(quoted)), strict=True)
    return all(abs(a - b) <= 0.02 * max(abs(a), abs(b), 1.0) for a, b in pairs)


def test_quoted_lines_compare_words_exactly_and_numbers_closely() -> None:
    line = "fedavg dlg | PSNR 8.10 dB | SSIM 0.657 | label acc 100.0% | 31.8 s | final acc 88.9% | 4.0 s/round"
    assert same_line(line.replace("8.10", "8.12").replace("31.8 s", "2.0 s"), line)
    assert not same_line(line.replace("8.10", "8.39"), line)
    assert not same_line(line.replace("100.0%", "0.0%"), line)
    assert not same_line(line.replace("final acc", "final accuracy"), line)


# Suggested commands: every `python main_grad.py ...` / `main_fed.py ...` in a code block of README.md or docs/
# passes its dry run as typed (a full one: data loaded, model and observations built; only the flags where the
# command names a placeholder path such as /path/to/...).
SUGGESTED = re.compile(r"(?:\.venv/bin/)?python (main_grad\.py|main_fed\.py)([^#`]*)")


def suggested_commands() -> list[tuple[str, str, list[str]]]:
    """(where, script, flags) of every suggested command, continuation lines joined, quoted runs included."""
    commands = []
    for path in DOCS:
        text = path.read_text().replace("\\\n", " ")
        fenced = False
        for number, line in enumerate(text.splitlines(), 1):
            if line.lstrip().startswith("```"):
                fenced = not fenced
                continue
            if not (fenced or line.startswith("    ")):
                continue
            for script, flags in SUGGESTED.findall(line):
                commands.append((f"{path.relative_to(ROOT)}:{number}", script, shlex.split(flags)))
    return commands + quick_start()


def quick_start() -> list[tuple[str, str, list[str]]]:
    """The README's quick-start table: a column headed `.venv/bin/python main_grad.py` ... holds each row's flags."""
    lines = (ROOT / "README.md").read_text().splitlines()
    header = next(i for i, line in enumerate(lines) if "| `.venv/bin/python main_grad.py` ... |" in line)
    commands = []
    for number, line in enumerate(lines[header + 2 :], header + 3):
        if not line.startswith("|"):  # the end of the table
            break
        commands.append((f"README.md:{number}", "main_grad.py", shlex.split(line.split("`")[3])))
    return commands


def test_suggested_commands_are_found() -> None:
    scripts = {script for _, script, _ in suggested_commands()}
    assert scripts == {"main_grad.py", "main_fed.py"}
    attacks = [flags[flags.index("--attack") + 1] for _, _, flags in quick_start()]
    assert sorted(attacks) == sorted(ATTACKS), "the quick-start table lists each attack once"


@pytest.mark.parametrize(("where", "script", "flags"), suggested_commands(), ids=lambda v: v if ":" in str(v) else "")
def test_a_suggested_command_passes_its_dry_run_as_typed(
    where: str, script: str, flags: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import main_fed
    import main_grad

    monkeypatch.chdir(ROOT)
    missing = [
        flag for flag in flags if flag.startswith("/path/to/") or flag.endswith(".pt") and not Path(flag).exists()
    ]
    mode = "flags" if missing else "full"  # a placeholder path, or a checkpoint the doc has the user train first
    main = {"main_grad.py": main_grad.main, "main_fed.py": main_fed.main}[script]
    try:
        main([*flags, "--dry_run", mode, "--quiet"])
    except (SystemExit, UsageError) as stop:
        pytest.fail(f"{where}: {script} {' '.join(flags)} failed: {stop}")
