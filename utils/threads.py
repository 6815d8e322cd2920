"""How many CPU threads a run uses: every core this process may use, unless OMP_NUM_THREADS or --threads
says otherwise (torch alone would take os.cpu_count(), which ignores CPU affinity and container limits)."""

import os

import torch

from fedprivacy.utils.domains import THREADS
from fedprivacy.utils.errors import UsageError


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity), not every core of the machine."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_threads() -> int:
    """OMP_NUM_THREADS when it is a positive integer (torch's limit refused in one line), else every usable core."""
    text = os.environ.get("OMP_NUM_THREADS", "")
    if not (text.isdigit() and int(text) > 0):
        return usable_cores()
    if not THREADS.contains(int(text)):
        raise UsageError(f"OMP_NUM_THREADS={text}: not {THREADS}; lower it, or pass --threads N")
    return int(text)


def use_threads(requested: int | None) -> int:
    """Set torch's intra-op threads to `requested` (None: default_threads()) and return the count."""
    threads = requested or default_threads()
    torch.set_num_threads(threads)
    return threads
