"""How many CPU threads a run uses: every core this process may use, unless OMP_NUM_THREADS or --threads
says otherwise (torch alone would take os.cpu_count(), which ignores CPU affinity and container limits)."""

import os

import torch


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity), not every core of the machine."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_threads() -> int:
    """OMP_NUM_THREADS when it is a positive integer, else every usable core."""
    text = os.environ.get("OMP_NUM_THREADS", "")
    return int(text) if text.isdigit() and int(text) > 0 else usable_cores()


def use_threads(requested: int | None) -> int:
    """Set torch's intra-op threads to `requested` (None: default_threads()) and return the count."""
    threads = requested or default_threads()
    torch.set_num_threads(threads)
    return threads
