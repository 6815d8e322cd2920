"""`python -m fedprivacy.data.available DATASET BASE_DIR [WHAT]`: exit 0 when DATASET can be loaded from
BASE_DIR; otherwise print one line saying what is skipped, where it looked and how to fix it, and exit 1
(used by experiments/lib.sh)."""

import sys
from pathlib import Path

from fedprivacy.data.catalog import load_split
from fedprivacy.data.real import TORCHVISION
from fedprivacy.utils.errors import UsageError


def skip_line(dataset: str, base_dir: str, what: str) -> str:
    """The one line a script prints for a section whose dataset is missing."""
    download = " or add --download to fetch it" if dataset in TORCHVISION else ""
    return (
        f"skipped: {what}: --dataset {dataset} not found in {Path(base_dir).expanduser().resolve()}; set "
        f"BASE_DATADIR=/path/to/your/datasets (the line at the top of the script, or export it){download}"
    )


def main(argv: list[str]) -> int:
    dataset, base_dir, what = argv[0], argv[1], argv[2] if len(argv) > 2 else "this section"
    try:
        load_split(dataset, "test", base_dir)
    except UsageError:
        print(skip_line(dataset, base_dir, what), flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
