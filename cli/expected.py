"""How long rerunning some runs should take, from what their committed results measured: `make demo` prints
it first (python -m fedprivacy.cli.expected RESULT.json ...), so the figure is regenerated with the examples
(`make examples`) and never a hand-kept number. Reads only JSON: no torch."""

import json
import sys
from pathlib import Path

from fedprivacy.utils.progress import duration


def measured(path: Path) -> dict:
    """A result JSON's report; ValueError naming the file when it cannot be read or records no wall time."""
    try:
        report = json.loads(path.read_text())
        if not isinstance(report, dict) or "wall_seconds" not in report or "threads" not in report:
            raise ValueError("it records no wall_seconds and threads")
    except (OSError, UnicodeDecodeError, ValueError) as problem:
        raise ValueError(f"{path}: not a run's result JSON ({problem})") from None
    return report


def expected_line(results: list[Path]) -> str:
    """One line: the runs' measured seconds in all, and the threads they ran on."""
    reports = [measured(path) for path in results]
    seconds = sum(report["wall_seconds"] for report in reports)
    threads = sorted({report["threads"] for report in reports})
    return (
        f"expected duration: about {duration(seconds)} for {len(reports)} run(s) (as measured on "
        f"{', '.join(map(str, threads))} thread(s) when {results[0].parent} was written), plus start-up"
    )


def main(argv: list[str]) -> int:
    """Print the line, or one `error:` line (exit 2) when no result, or an unreadable one, is given."""
    try:
        if not argv:
            raise ValueError("give one or more result JSON files (e.g. images/examples/dlg_*.json)")
        print(expected_line([Path(name) for name in argv]))
    except ValueError as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
