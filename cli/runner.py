"""The one skeleton both entry scripts run: check the flags (before any data is read), then describe the run
(--dry_run) or claim its name (utils/claims.py), run it, write its JSON and pictures together under that name,
and print its one-line summary. An entry script supplies the steps (cli/grad.py, cli/fed.py)."""

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from fedprivacy.attacks import AttackConfig, AttackSpec
from fedprivacy.attacks.cost import estimate_cost
from fedprivacy.evaluation.report import output_paths, write_json
from fedprivacy.fl.case import Case
from fedprivacy.utils.atomic import prepare_out_dir, write_together
from fedprivacy.utils.errors import Interrupted, RunFailed
from fedprivacy.utils.signals import stopped_by


@dataclass
class Outcome:
    """A finished run: its report, its pictures (report key -> (file-name suffix, writer)), its one-line summary
    given the pictures' paths, and, when it stopped early, why or what it kept."""

    report: dict
    result: Any = None  # the scored attack (evaluation.runner.RunResult), None when nothing was attacked
    pictures: dict[str, tuple[str, Callable[[Path], None]]] = field(default_factory=dict)
    summary: Callable[[dict[str, Path]], str] = lambda paths: ""
    failure: str | None = None  # a fault during the run (exit 1), after what it finished is written
    interrupted: str | None = None  # Ctrl-C: what the written result holds
    unscored: str | None = None  # every experiment failed: the summary line, then exit 1


class Entry(Protocol):
    """The steps of one entry script, and the files its result writes besides the PNG and the JSON (`ALSO`,
    suffixes after the name, e.g. "_accuracy.png")."""

    ALSO: tuple[str, ...]

    def check(self, args: Any) -> Any:
        """Every check that needs no data; what the flags decide."""

    def describe(self, args: Any, checked: Any) -> str:
        """--dry_run's line (with `full`, after loading the data and building the model)."""

    def stem(self, args: Any, checked: Any) -> str:
        """The result's file name without suffix."""

    def run(self, args: Any, checked: Any) -> Outcome:
        """The work; writes no files."""


def planned_paths(args: Any, stem: str, also: tuple[str, ...], claim: bool = True) -> tuple[Path, Path]:
    """The PNG and JSON the run writes: its name claimed in --out_dir (without `claim`: the name it would take
    now, what --dry_run announces)."""
    return output_paths(args.out_dir, stem, args.overwrite, also, claim)


def announce_cost(spec: AttackSpec, config: AttackConfig, cases: list[Case]) -> None:
    """Before the attack starts (unless --quiet, i.e. no progress bar): its cost estimate on the first case's
    observation (attacks/cost.py), for all the cases, on stderr beside the progress bars."""
    if config.progress and cases:
        print(estimate_cost(spec, cases[0].observation, config).line(len(cases)), file=sys.stderr, flush=True)


def run_unwritten(entry: Entry, args: Any) -> Outcome:
    """Check the flags and run, writing no files (the audit's cells): the report and the scored attack."""
    return entry.run(args, entry.check(args))


def main(entry: Entry, args: Any) -> dict:
    """Check, then describe or run, write and summarise; returns the report (or the dry run's line)."""
    checked = entry.check(args)
    if args.dry_run:
        line = entry.describe(args, checked)
        print(line)
        return {"dry_run": line}
    prepare_out_dir(args.out_dir)
    png, json_path = planned_paths(args, entry.stem(args, checked), entry.ALSO)
    outcome = entry.run(args, checked)
    paths = {key: png.with_name(f"{json_path.stem}{suffix}.png") for key, (suffix, _) in outcome.pictures.items()}
    writers = {paths[key]: writer for key, (_, writer) in outcome.pictures.items()}
    outcome.report |= {key: str(path) for key, path in paths.items()}
    writers[json_path] = lambda path: write_json(path, outcome.report)
    write_together(writers)
    if outcome.failure:
        raise RunFailed(f"{outcome.failure}; written to {json_path}")
    if outcome.interrupted:
        raise Interrupted(f"{stopped_by()}; {outcome.interrupted} in {json_path}")
    print(outcome.summary(paths))
    if outcome.unscored:
        raise RunFailed(f"{outcome.unscored}; written to {json_path}")
    return outcome.report
