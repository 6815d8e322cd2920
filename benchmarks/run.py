"""Run benchmark cases and rebuild benchmarks/results.md.

Cases live in benchmarks/cases_*.py as `CASES = {name: function}`; each function returns one
row (a dict with a "table" key naming its table). Each row is kept as benchmarks/results/<name>.json,
so running some cases updates only their rows; the markdown table is rebuilt from all of them. Each row keeps
its wall time and the machine's load average when it started (the notes say so: timings on a shared machine).
Together the cases take hours, so nothing runs unless named:

    python -m benchmarks.run                 # list the cases with their recorded minutes; run nothing
    python -m benchmarks.run dlg_lenet idlg_lenet
    python -m benchmarks.run --all           # every case
    python -m benchmarks.run --rebuild       # rebuild results.md from the recorded rows; run nothing

A case module may choose the columns a table shows (`COLUMNS = {table title: (column, ...)}`) where its rows
keep more fields than a table can show; the rest show every field, and every row keeps all of them in its JSON.
"""

import argparse
import importlib
import json
import os
import re
import time
from pathlib import Path

from benchmarks.common import Skipped, machine

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
PROG = "python -m benchmarks.run"
# Columns that time a whole measured run (the rest are rates or parts of one): their sum is a row's recorded cost
# when the row predates run_seconds.
WHOLE_RUN = ("seconds", "attack_s", "wall_s", "sequential_s", "parallel_s")


def case_modules() -> dict[str, object]:
    """{module stem: module} for every benchmarks/cases_*.py."""
    return {path.stem: importlib.import_module(f"benchmarks.{path.stem}") for path in sorted(HERE.glob("cases_*.py"))}


def cases_by_module() -> dict[str, dict]:
    """{module stem: {case name: function}} for every benchmarks/cases_*.py."""
    return {stem: module.CASES for stem, module in case_modules().items()}


def chosen_columns() -> dict[str, tuple[str, ...]]:
    """{table title: the columns it shows} for the tables whose case module chooses them (COLUMNS)."""
    return {
        title: columns
        for module in case_modules().values()
        for title, columns in getattr(module, "COLUMNS", {}).items()
    }


def all_cases() -> dict:
    return {name: case for cases in cases_by_module().values() for name, case in cases.items()}


def recorded_seconds(row: dict) -> tuple[float | None, bool]:
    """A case's recorded cost in seconds and whether it is exact: the run's own wall time (run_seconds), else
    the sum of its whole-run timing columns (a lower bound: setup and scoring are not in them), else None."""
    if "run_seconds" in row:
        return row["run_seconds"], True
    timed = [
        value
        for key, value in row.items()
        if isinstance(value, int | float) and (key in WHOLE_RUN or key.endswith("_seconds"))
    ]
    if "s_per_round" in row and "rounds" in row:
        timed.append(row["s_per_round"] * row["rounds"])
    if "seconds_per_batch" in row:
        timed.append(row["seconds_per_batch"] * row["images"] / row["batch"])
    return (sum(timed), False) if timed else (None, False)


def listing() -> str:
    """Every case with its recorded minutes, per cases_*.py module, and how to run them."""
    lines, total, unknown = [], 0.0, 0
    for module, cases in cases_by_module().items():
        lines.append(f"{module}:")
        for name in cases:
            path = RESULTS / f"{name}.json"
            seconds, exact = recorded_seconds(json.loads(path.read_text())) if path.exists() else (None, False)
            if seconds is None:
                unknown += 1
                minutes = "not recorded" if path.exists() else "never run"
            else:
                total += seconds
                minutes = f"{'' if exact else '>= '}{seconds / 60:.1f} min"
            lines.append(f"  {name:<48} {minutes}")
    count = sum(len(cases) for cases in cases_by_module().values())
    return "\n".join(
        [
            *lines,
            f"{count} cases, about {total / 3600:.1f} hours recorded ({unknown} without a time; '>=' sums the "
            "row's own timing columns, without setup); the times were measured on a shared 2-core machine",
            f"nothing was run: name cases ({PROG} CASE ..., make bench CASES='CASE ...') or run every case "
            f"({PROG} --all, make bench ALL=1)",
        ]
    )


def cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return "" if value is None else str(value)


SELECTED = "a selection of the rows' fields; every field is in the row's JSON, benchmarks/results/<case>.json"
MACHINE_THREADS = (
    "read from the row's machine line (torch's thread count when the run started), as the row was recorded "
    "before rows kept their own threads column"
)


def row_cell(row: dict, column: str) -> str:
    """A row's cell; a row without its own threads count shows, in italics, the one its machine line records."""
    if column == "threads" and row.get("threads") is None:
        recorded = re.search(r"(\d+) threads", row.get("machine", ""))
        return f"_{recorded.group(1)}_" if recorded else ""
    return cell(row.get(column))


def row_note(row: dict) -> str:
    """A row's notes, and the machine's load when the row was measured, if recorded."""
    shared = f"load average {row['load']} when it started" if "load" in row else ""
    return "; ".join(part for part in (row.get("notes", ""), shared) if part)


def render() -> str:
    """Markdown: one table per 'table' key, columns in first-seen order, then each case's notes."""
    rows = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json"))]
    tables: dict[str, list[dict]] = {}
    for row in rows:
        tables.setdefault(row["table"], []).append(row)
    lines = [
        "# Benchmark results",
        "",
        "Rebuilt by `python -m benchmarks.run`; one JSON per case in `benchmarks/results/`.",
        "",
    ]
    chosen = chosen_columns()
    for title, members in tables.items():
        columns = [
            k
            for k in dict.fromkeys(k for row in members for k in row)
            if k not in ("table", "notes", "machine", "run_seconds", "load")
        ]
        if title in chosen:
            columns = [k for k in chosen[title] if k in columns]
        lines += [f"## {title}", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(row_cell(row, c) for c in columns) + " |" for row in members]
        if "threads" in columns and any(row.get("threads") is None for row in members):
            lines += ["", f"- threads in italics: {MACHINE_THREADS}"]
        if title in chosen:
            lines += ["", f"- {SELECTED}"]
        lines += [""] + [f"- {row['case']}: {note}" for row in members if (note := row_note(row))] + [""]
    machine = rows[0]["machine"] if rows else ""
    return "\n".join([*lines, f"Measured on: {machine}", ""])


def write_table() -> None:
    """Rebuild results.md from every recorded row and say where it is."""
    (HERE / "results.md").write_text(render())
    print(f"table: {HERE / 'results.md'}")


def main() -> None:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("cases", nargs="*", help="case names to run (none: list the cases and run nothing)")
    parser.add_argument("--all", action="store_true", help="run every case (hours; see the listing's total)")
    parser.add_argument("--list", action="store_true", help="list the cases with their recorded minutes and exit")
    parser.add_argument(
        "--rebuild", action="store_true", help="rebuild results.md from the recorded rows (JSONs) and run nothing"
    )
    args = parser.parse_args()
    if args.rebuild:
        if args.cases or args.all:
            raise SystemExit("error: --rebuild runs nothing; give either --rebuild or cases to run")
        write_table()
        return
    if args.list or not (args.cases or args.all):
        print(listing())
        return
    cases = all_cases()
    unknown = [name for name in args.cases if name not in cases]
    if unknown:
        raise SystemExit(f"error: unknown case(s) {', '.join(unknown)}; see {PROG} --list")
    if args.all and args.cases:
        raise SystemExit("error: --all runs every case; give either --all or case names")
    RESULTS.mkdir(exist_ok=True)
    measured_on = machine()
    for name in args.cases or list(cases):
        started, load = time.perf_counter(), f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        try:
            row = cases[name]()
        except Skipped as reason:
            print(f"{name}: skipped ({reason})")
            continue
        seconds = time.perf_counter() - started
        row = {"case": name, **row, "machine": measured_on, "run_seconds": round(seconds, 1), "load": load}
        (RESULTS / f"{name}.json").write_text(json.dumps(row, indent=2) + "\n")
        print(f"{name}: done in {seconds:.0f} s")
    write_table()


if __name__ == "__main__":
    main()
