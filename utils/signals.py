"""SIGTERM handled like Ctrl-C. `timeout`, `kill` and batch schedulers send SIGTERM, which would kill the
process with no word; instead it raises Terminated, a KeyboardInterrupt, where it arrives, so every place
that keeps the finished work on Ctrl-C keeps it on SIGTERM too, and the run ends with its own exit code
(143, where Ctrl-C gives 130). While results are written (`deferred`), either signal waits until the
files are complete."""

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from fedprivacy.utils.errors import Interrupted

CODES = {"Ctrl-C": 130, "SIGTERM": 143}  # 128 + the signal's number, as shells report them

_received: list[str] = []  # "SIGTERM" once one arrived in this run (Ctrl-C is KeyboardInterrupt's default)
_installed: list[bool] = []  # non-empty inside sigterm_as_interrupt (an entry point, not a library user's process)
_on_stop: list[Callable[[], None]] = []  # run when a signal stops the run, before the exception is raised


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C raises KeyboardInterrupt."""


def _terminate(_signum: int, _frame: object) -> None:
    _received.append("SIGTERM")
    for callback in _on_stop:
        callback()
    raise Terminated("SIGTERM")


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """A run (main thread only): SIGTERM raises Terminated inside the block; earlier signals are forgotten,
    and the process's own SIGTERM handling comes back after it."""
    _received.clear()
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    _installed[:] = [True]
    try:
        yield
    finally:
        _installed.clear()
        signal.signal(signal.SIGTERM, previous)


def reinstall() -> None:
    """After a library that installs its own SIGTERM handler started (Ray's driver prints a stack and exits):
    SIGTERM is ours again, inside sigterm_as_interrupt."""
    if _installed and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)


def on_stop(callback: Callable[[], None]) -> None:
    """Call `callback` when SIGTERM stops the run (e.g. to silence a library's logging of its dying workers)."""
    if callback not in _on_stop:
        _on_stop.append(callback)


def stopped_by() -> str:
    """What stopped the run: "SIGTERM" if one arrived, else "Ctrl-C"."""
    return _received[-1] if _received else "Ctrl-C"


def exit_code() -> int:
    return CODES[stopped_by()]


@contextmanager
def held() -> Iterator[list[str]]:
    """Ctrl-C and SIGTERM inside the block are recorded in the yielded list instead of raised (main thread)."""
    received: list[str] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    previous = {
        signal.SIGINT: signal.signal(signal.SIGINT, lambda *_: received.append("Ctrl-C")),
        signal.SIGTERM: signal.signal(signal.SIGTERM, lambda *_: received.append("SIGTERM")),
    }
    try:
        yield received
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        _received.extend(name for name in received[-1:] if name == "SIGTERM")


@contextmanager
def between_steps() -> Iterator[None]:
    """A training step finishes before Ctrl-C or SIGTERM stops the run (raised when the block ends), so the
    state saved on the way out is that of whole steps."""
    with held() as received:
        yield
    if received:
        raise Terminated("SIGTERM") if received[-1] == "SIGTERM" else KeyboardInterrupt


@contextmanager
def deferred(finished: str) -> Iterator[None]:
    """Ctrl-C or SIGTERM inside the block is held until the block ends (main thread only), so a result being
    written is finished first; then the run stops with Interrupted saying `finished` (what the block did)."""
    with held() as received:
        yield
    if received:
        raise Interrupted(f"{received[-1]} while the results were written; {finished}")
