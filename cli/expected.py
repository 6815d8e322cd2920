"""How long rerunning some runs should take, from what their committed results measured: `make demo` prints
it first (python -m fedprivacy.cli.expected RESULT.json ...), so the figure is regenerated with the examples
(`make examples`) and never a hand-kept number. Reads only JSON: no torch."""

import json
import sys
from pathlib import Path

from fedprivacy.utils.progress import duration


def expected_line(results: list[Path]) -> str:
    """One line: the runs' measured seconds in all, and the threads they ran on."""
    reports = [json.loads(path.read_text()) for path in results]
    seconds = sum(report["wall_seconds"] for report in reports)
    threads = sorted({report["threads"] for report in reports})
    return (
        f"expected duration: about {duration(seconds)} for {len(reports)} run(s) (as measured on "
        f"{', '.join(map(str, threads))} thread(s) when {results[0].parent} was written), plus start-up"
    )


if __name__ == "__main__":
    print(expected_line([Path(name) for name in sys.argv[1:]]))
