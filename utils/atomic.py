"""Results written whole: the output folder checked before the run, and a set of files (PNG + JSON)
written under temporary names and renamed into place together, so an old pair is replaced by the
new pair or not at all."""

import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from fedprivacy.utils.errors import UsageError


def prepare_out_dir(path: str | Path) -> Path:
    """--out_dir created if missing and checked writable, before any work; else a one-line UsageError."""
    if not str(path).strip():
        raise UsageError("--out_dir: empty; give a folder (it is created if missing)")
    out = Path(path).expanduser()
    try:
        if out.exists() and not out.is_dir():
            raise UsageError(f"--out_dir {path}: is a file, not a folder")
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-check-"):
            pass
    except OSError as error:
        raise UsageError(f"--out_dir {path}: cannot write there ({error.strerror or error})") from None
    return out


def partial_name(target: Path, kind: str) -> Path:
    """A hidden sibling of `target` with the same suffix (matplotlib picks the format from it)."""
    return target.with_name(f".{target.stem}.{kind}{os.getpid()}{target.suffix}")


def write_together(writers: Mapping[Path, Callable[[Path], None]]) -> None:
    """Call each writer on a temporary name; only when all have finished, rename them all into place.
    A failure (or Ctrl-C) anywhere leaves the targets as they were and no temporary file behind."""
    partial = {target: partial_name(target, "partial") for target in writers}
    try:
        for target, write in writers.items():
            write(partial[target])
        replace_all(partial)
    finally:
        for path in partial.values():
            path.unlink(missing_ok=True)


def replace_all(partial: Mapping[Path, Path]) -> None:
    """Rename each temporary file onto its target; existing targets are set aside first and put back
    if any rename fails, so the targets end all new or all old."""
    backups: dict[Path, Path] = {}
    placed: list[Path] = []
    try:
        for target, path in partial.items():
            if target.exists():
                backups[target] = partial_name(target, "old")
                os.replace(target, backups[target])
            os.replace(path, target)
            placed.append(target)
    except BaseException:
        for target in placed:
            target.unlink(missing_ok=True)
        for target, backup in backups.items():
            os.replace(backup, target)
        raise
    for backup in backups.values():
        backup.unlink()
