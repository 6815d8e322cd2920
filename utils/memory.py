"""Refuse, before any work, a size that would not fit in this machine's memory, with the estimate."""

import os

from fedprivacy.utils.errors import UsageError

FLOAT_BYTES = 4


def physical_memory() -> int:
    """Bytes of RAM on this machine."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def readable(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if size < 1024 or unit == "PB":
            return f"{size:.3g} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def require_memory(what: str, floats: int, hint: str) -> None:
    """A UsageError when `floats` float32 values for `what` exceed the RAM; `hint` names the flag to lower."""
    needed, available = floats * FLOAT_BYTES, physical_memory()
    if needed > available:
        raise UsageError(
            f"{what} would need {readable(needed)} of memory, this machine has {readable(available)}; {hint}"
        )
