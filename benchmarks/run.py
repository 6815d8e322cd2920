"""Run benchmark cases and rebuild benchmarks/results.md.

Cases live in benchmarks/cases_*.py as `CASES = {name: function}`; each function returns one
row (a dict with a "table" key naming its table). Each row is kept as benchmarks/results/<name>.json,
so running some cases updates only their rows; the markdown table is rebuilt from all of them.

    python -m benchmarks.run                 # every case
    python -m benchmarks.run dlg_lenet idlg_lenet
    python -m benchmarks.run --list
"""

import argparse
import importlib
import json
import time
from pathlib import Path

from benchmarks.common import Skipped, machine

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def all_cases() -> dict:
    cases = {}
    for path in sorted(HERE.glob("cases_*.py")):
        cases.update(importlib.import_module(f"benchmarks.{path.stem}").CASES)
    return cases


def cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return "" if value is None else str(value)


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
    for title, members in tables.items():
        columns = [
            k for k in dict.fromkeys(k for row in members for k in row) if k not in ("table", "notes", "machine")
        ]
        lines += [f"## {title}", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(cell(row.get(c)) for c in columns) + " |" for row in members]
        lines += [""] + [f"- {row['case']}: {row['notes']}" for row in members if row.get("notes")] + [""]
    machine = rows[0]["machine"] if rows else ""
    return "\n".join([*lines, f"Measured on: {machine}", ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cases", nargs="*", help="case names (default: all)")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    args = parser.parse_args()
    cases = all_cases()
    if args.list:
        print("\n".join(cases))
        return
    unknown = [name for name in args.cases if name not in cases]
    if unknown:
        raise SystemExit(f"error: unknown case(s) {', '.join(unknown)}; see --list")
    RESULTS.mkdir(exist_ok=True)
    measured_on = machine()
    for name in args.cases or list(cases):
        started = time.perf_counter()
        try:
            row = cases[name]()
        except Skipped as reason:
            print(f"{name}: skipped ({reason})")
            continue
        row = {"case": name, **row, "machine": measured_on}
        (RESULTS / f"{name}.json").write_text(json.dumps(row, indent=2) + "\n")
        print(f"{name}: done in {time.perf_counter() - started:.0f} s")
    (HERE / "results.md").write_text(render())
    print(f"table: {HERE / 'results.md'}")


if __name__ == "__main__":
    main()
