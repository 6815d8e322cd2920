"""Results written whole: the output folder checked before the run, and a set of files (PNG + JSON)
written under temporary names and renamed into place together, so an old pair is replaced by the
new pair or not at all. A write the machine cannot finish (a full disk, a folder turned read-only, a
file-size limit) leaves the folder as it was and ends the run in one line (WriteFailed, exit 1)."""

import os
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from pathlib import Path

from fedprivacy.utils import claims, signals
from fedprivacy.utils.errors import RunFailed, UsageError


class WriteFailed(RunFailed):
    """The results could not be written (the machine refused); nothing was replaced or left half-written."""


def prepare_out_dir(path: str | Path, flag: str = "--out_dir") -> Path:
    """`flag`'s folder created if missing and checked writable, before any work (else a one-line UsageError);
    what killed runs left there is cleaned up (utils/claims.py)."""
    if not str(path).strip():
        raise UsageError(f"{flag}: empty; give a folder (it is created if missing)")
    out = Path(path).expanduser()
    probe = claims.temporary_name(out / "write-check", "partial")
    try:
        if out.exists() and not out.is_dir():
            raise UsageError(f"{flag} {path}: is a file, not a folder")
        out.mkdir(parents=True, exist_ok=True)
        os.close(os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        probe.unlink()
    except OSError as error:
        raise UsageError(f"{flag} {path}: cannot write there ({error.strerror or error})") from None
    claims.clean_stale(out)
    return out


def partial_name(target: Path, kind: str) -> Path:
    """A hidden sibling of `target` with the same suffix (matplotlib picks the format from it)."""
    return claims.temporary_name(target, kind)


def write_together(writers: Mapping[Path, Callable[[Path], None]], release: bool = True) -> None:
    """Call each writer on a temporary name; only when all have finished, rename them all into place.
    A failure (or Ctrl-C) anywhere leaves the targets as they were and no temporary file behind; a signal
    while the files are renamed waits until they are in place. The targets' claimed name is then released,
    unless `release` is False (a checkpoint saved again later)."""
    partial = {target: partial_name(target, "partial") for target in writers}
    written = ", ".join(str(target) for target in writers)
    try:
        for target, write in writers.items():
            attempt(target, lambda target=target, write=write: write(partial[target]))
        with signals.deferred(f"they were written whole: {written}"):
            replace_all(partial, claims.unwritten(list(writers)))
    finally:
        for path in partial.values():
            path.unlink(missing_ok=True)
    if release:
        claims.release_for(list(writers))


def attempt(target: Path, action: Callable[[], None]) -> None:
    """Run one step of writing `target`; an error of the machine (OSError) becomes WriteFailed naming it."""
    try:
        action()
    except OSError as error:
        reason = error.strerror or str(error) or type(error).__name__
        raise WriteFailed(
            f"cannot write {target} ({reason}); no earlier result was replaced and nothing half-written is left"
        ) from None


def replace_all(partial: Mapping[Path, Path], remove: Sequence[Path] = ()) -> None:
    """Rename each temporary file onto its target and delete the files in `remove` (an earlier result's
    files the new one does not write); existing targets are set aside first and put back if any step
    fails, so the targets end all new or all old."""
    backups: dict[Path, Path] = {}
    placed: list[Path] = []
    try:
        for target in [*partial, *remove]:
            if os.path.lexists(target):
                backups[target] = partial_name(target, "old")
                attempt(target, lambda target=target: os.replace(target, backups[target]))
            if target in partial:
                attempt(target, lambda target=target: os.replace(partial[target], target))
                placed.append(target)
    except BaseException as error:
        for target in placed:
            target.unlink(missing_ok=True)
        stranded = []
        for target, backup in backups.items():
            try:
                os.replace(backup, target)
            except OSError:  # the machine refuses this rename too: the next run in this folder puts it back
                stranded.append(f"{target.name} is kept as {backup.name}")
        if stranded and isinstance(error, WriteFailed):
            reason = str(error).split("; ")[0]
            raise WriteFailed(
                f"{reason}; the earlier result could not be put back: {', '.join(stranded)} (the next run in "
                f"{backup.parent} puts it back)"
            ) from None
        raise
    for backup in backups.values():
        with suppress(OSError):  # e.g. a folder that squatted the name: left for the user, named by the next run
            backup.unlink(missing_ok=True)
