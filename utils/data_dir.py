"""Where real datasets are looked for unless told: $BASE_DATADIR, else data_files/ (gitignored), the default that
the scripts in experiments/ set too (relative to the repository root there, to the working directory here)."""

import os

DATA_DIR = "data_files"


def base_data_dir() -> str:
    """--base_data_dir's default."""
    return os.environ.get("BASE_DATADIR", DATA_DIR)
