"""--device resolved to a torch device before any work: CUDA when available unless told otherwise."""

import torch

from fedprivacy.utils.errors import UsageError


def resolve_device(name: str | None) -> torch.device:
    """--device: CUDA when available unless told otherwise; an unavailable CUDA device is an error."""
    if name is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"--device {name}: CUDA is not available here; use --device cpu")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise UsageError(
            f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s), cuda:0 upwards"
        )
    return device
