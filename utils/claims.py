"""Result names claimed atomically, and what killed runs left behind.

A run reserves its result's name when it starts: an exclusive create (O_EXCL) of the hidden marker
`.{name}.claim` holding its process id. A second run into the same folder finds the marker and numbers its
own result (`_run2`, ...), so both are kept whichever finishes first; the marker goes when the result is
written or the run ends. A name is free when none of its files exists (the committed example outputs live
in images/examples/, apart from the runs' default folder, so a first run writes the canonical name). Temporary files
carry the writer's process id (utils/atomic.py), so the next run in a folder removes those of runs that
are gone, and puts back an earlier result a killed --overwrite had set aside. Process ids are those of
this machine: a folder shared by several machines' runs is not cleaned across them."""

import atexit
import os
import re
import sys
import time
from contextlib import suppress
from pathlib import Path

from fedprivacy.utils.errors import UsageError

CLAIM_SUFFIX = ".claim"
TEMPORARY = re.compile(r"^\.(?P<stem>.+)\.(?P<kind>partial|old)(?P<pid>\d+)(?P<suffix>\.[^.]*)?$")
EMPTY_CLAIM_SECONDS = 10.0  # a marker still empty after this long lost its writer between create and write

_held: set[Path] = set()  # markers this process holds
_claimed: dict[Path, Path] = {}  # each file of a claimed name -> its marker


def temporary_name(target: Path, kind: str) -> Path:
    """A hidden sibling of `target` marked `kind` and this process, with `target`'s suffix (matplotlib and
    PIL pick the format from it)."""
    return target.with_name(f".{target.stem}.{kind}{os.getpid()}{target.suffix}")


def running(pid: int) -> bool:
    """Whether a process of this id runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def holder(marker: Path) -> int | None:
    """The live process holding `marker`, or None when the marker is missing or its writer is gone."""
    try:
        text = marker.read_text().strip()
        age = time.time() - marker.stat().st_mtime
    except OSError:  # no marker (or none readable): nobody holds the name
        return None
    if not text.isdigit():
        return None if age > EMPTY_CLAIM_SECONDS else -1
    pid = int(text)
    return pid if running(pid) else None


def take(marker: Path) -> bool:
    """Claim `marker` by exclusive create; a stale one (its process gone) is replaced. False when a live
    process (this one included) holds it."""
    for _ in range(2):
        try:
            descriptor = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if holder(marker) is not None:
                return False
            with suppress(OSError):  # a stale marker; one that cannot be removed keeps the name taken
                marker.unlink(missing_ok=True)
            continue
        with os.fdopen(descriptor, "w") as handle:
            handle.write(str(os.getpid()))
        _held.add(marker)
        return True
    return False


def release(marker: Path) -> None:
    if marker in _held:
        _held.discard(marker)
        with suppress(OSError):  # a folder turned read-only: the next run there removes it (clean_stale)
            marker.unlink(missing_ok=True)


def release_all() -> None:
    """Give up every name this process still holds (the run ended without writing them)."""
    for marker in list(_held):
        release(marker)


atexit.register(release_all)


def unwritten(written: list[Path]) -> list[Path]:
    """Files of the same claimed names as `written` that exist but are not among them: what an earlier
    result left that the new one does not write (e.g. a grid, when the new run failed before attacking);
    replacing the result removes them, so the set on disk is all old or all new."""
    markers = {_claimed[target] for target in written if target in _claimed}
    return [
        target
        for target, marker in _claimed.items()
        if marker in markers and target not in written and os.path.lexists(target)
    ]


def release_for(targets: list[Path]) -> None:
    """Release the claims of these files (written now)."""
    for target in targets:
        marker = _claimed.pop(target, None)
        if marker is not None:
            release(marker)


def free(target: Path) -> bool:
    """A result may be written under `target`: nothing is there."""
    return not os.path.lexists(target)


def claim_name(folder: Path, stem: str, suffixes: tuple[str, ...], overwrite: bool, reserve: bool = True) -> str:
    """The name a run writes its result under in `folder` (files `{name}{suffix}`): `stem` itself when it is
    free (or with `overwrite`), else the first free `{stem}_run{n}`. With `reserve` the name is claimed
    (held until the result is written or the run ends); without, it is what a run would claim now."""
    run = 0
    while True:
        run += 1
        name = stem if run == 1 else f"{stem}_run{run}"
        targets = [folder / f"{name}{suffix}" for suffix in suffixes]
        if not overwrite and not all(free(target) for target in targets):
            continue
        if overwrite:
            squatted = [target for target in targets if target.is_dir()]
            if squatted:
                raise UsageError(f"--overwrite: {squatted[0]} is a folder, not an earlier result; move it away")
        marker = folder / f".{name}{CLAIM_SUFFIX}"
        if not reserve:
            if holder(marker) is None:
                return name
        elif take(marker) or (overwrite and marker in _held):  # an earlier run of this process that failed
            if overwrite or all(free(target) for target in targets):
                _claimed.update(dict.fromkeys(targets, marker))
                return name
            release(marker)  # a run that held the name finished in between
            continue
        if overwrite:
            raise UsageError(
                f"--overwrite: another run (process {holder(marker)}) is writing {folder / name}.*; "
                "wait for it or drop --overwrite to keep both results"
            )


def claim_exact(targets: list[Path], flag: str) -> None:
    """Reserve these exact files (e.g. a checkpoint and its sample sheet) for this run; they share the
    marker of their name, so a result of another tool with that name waits or is numbered. A live run
    holding them is a UsageError naming `flag`."""
    marker = exact_marker(targets[0])
    if not take(marker):
        raise UsageError(
            f"{flag} {targets[0]}: another run (process {holder(marker)}) is writing it; choose another path"
        )
    _claimed.update(dict.fromkeys(targets, marker))


def require_unclaimed(targets: list[Path], flag: str) -> None:
    """What claim_exact would refuse, checked without claiming (a dry run)."""
    pid = holder(exact_marker(targets[0]))
    if pid is not None:
        raise UsageError(f"{flag} {targets[0]}: another run (process {pid}) is writing it; choose another path")


def exact_marker(target: Path) -> Path:
    return target.with_name(f".{target.stem}{CLAIM_SUFFIX}")


def clean_stale(folder: Path) -> None:
    """Remove the temporary files and claims of runs that are gone, put back an earlier result that a
    killed --overwrite had set aside (when its name is still free), and say so in one line."""
    removed, restored, kept = 0, [], []
    try:
        entries = [entry for entry in folder.iterdir() if entry.name.startswith(".")]
    except OSError:
        return
    for entry in entries:
        if entry.name.endswith(CLAIM_SUFFIX) and entry.is_file():
            if holder(entry) is None:
                entry.unlink(missing_ok=True)
            continue
        match = TEMPORARY.match(entry.name)
        if match is None or running(int(match["pid"])):
            continue
        target = folder / f"{match['stem']}{match['suffix'] or ''}"
        with suppress(OSError):  # whatever cannot be cleaned is tried again by the next run
            if match["kind"] == "partial":
                entry.unlink(missing_ok=True)
                removed += 1
            elif not os.path.lexists(target):
                os.replace(entry, target)
                restored.append(target.name)
            else:
                kept.append(entry.name)
    notes = [f"removed {removed} half-written file(s) of killed runs"] if removed else []
    notes += [f"put back {', '.join(restored)}, set aside by a killed --overwrite"] if restored else []
    notes += [f"left {', '.join(kept)} (an earlier result a killed --overwrite set aside)"] if kept else []
    if notes:
        print(f"note: {folder}: {'; '.join(notes)}", file=sys.stderr)
