"""Building models by name: every model is built for the dataset's channels, image size and class count;
checking that it runs; loading pretrained weights."""

import copy
from collections.abc import Callable
from importlib import import_module
from pathlib import Path

import torch
from torch import nn

from fedprivacy.models import BUILDERS
from fedprivacy.utils.errors import UsageError
from fedprivacy.utils.memory import require_memory

MODELS: dict[str, Callable[[int, tuple[int, int], int], nn.Module]] = {
    name: getattr(import_module(f"fedprivacy.models.{module}"), name) for name, module in BUILDERS.items()
}
MODEL_COPIES = 4  # the clients' model, the server's copy, the shared gradient and the attack's working copy


def build_model(name: str, channels: int, image_size: tuple[int, int], num_classes: int) -> nn.Module:
    """Build a registered model by name; an unknown name lists the known ones."""
    if name not in MODELS:
        raise UsageError(f"--model {name!r} is unknown; choose one of: {', '.join(MODELS)}")
    with torch.device("meta"):  # count the parameters without allocating them
        size = sum(p.numel() for p in MODELS[name](channels, image_size, num_classes).parameters())
    require_memory(
        f"--model {name} for {num_classes} classes of {channels}x{image_size[0]}x{image_size[1]} images",
        MODEL_COPIES * size,
        "lower --image_size or use a smaller --model",
    )
    return MODELS[name](channels, image_size, num_classes)


def check_runs(model: nn.Module, name: str, shape: tuple[int, int, int], batch: int, mode: str) -> None:
    """Before any work: one forward pass of a copy of `model` on `batch` blank images in `mode`; a model that
    cannot take them (e.g. BatchNorm in training mode on one 1x1 feature map) is a one-line UsageError."""
    probe = copy.deepcopy(model).train(mode == "train")
    device = next(probe.parameters()).device
    try:
        with torch.no_grad():
            probe(torch.zeros((batch, *shape), device=device))
    except (RuntimeError, ValueError) as error:
        reason = str(error).strip().splitlines()[0][:160]
        raise UsageError(
            f"--model {name} cannot run on {'x'.join(map(str, shape))} images in batches of {batch} in {mode} mode "
            f"({reason}); try a larger --image_size"
        ) from None


def load_pretrained(model: nn.Module, path: str | Path) -> nn.Module:
    """Load a state dict (optionally wrapped in {'state_dict': ...} with 'module.' prefixes); a file that
    is not one, or does not fit `model`, is a one-line UsageError saying what differs."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise UsageError(f"--pretrained {path}: no such file")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a file that is not a checkpoint
        reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise UsageError(f"--pretrained {path}: not a torch checkpoint ({reason})") from None
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else checkpoint
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UsageError(f"--pretrained {path}: holds a {type(state).__name__}, not a state dict of tensors by name")
    state = {str(key).removeprefix("module."): value for key, value in state.items()}
    try:
        model.load_state_dict(state)
    except RuntimeError as error:  # torch's own check (it tolerates e.g. old BatchNorm files), explained here
        problem = state_dict_mismatch(model.state_dict(), state) or str(error).strip().splitlines()[0]
        raise UsageError(f"--pretrained {path} does not fit this --model: {problem}") from None
    return model


def state_dict_mismatch(expected: dict[str, torch.Tensor], given: dict[str, torch.Tensor]) -> str | None:
    """The missing and unexpected keys and the first differing shape, in words; None when `given` fits."""
    missing = [key for key in expected if key not in given]
    unexpected = [key for key in given if key not in expected]
    shapes = [key for key in expected if key in given and given[key].shape != expected[key].shape]
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing key(s) ({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''})")
    if unexpected:
        listed = ", ".join(unexpected[:3]) + (", ..." if len(unexpected) > 3 else "")
        parts.append(f"{len(unexpected)} unexpected key(s) ({listed})")
    if shapes:
        key = shapes[0]
        parts.append(f"{key} is {tuple(given[key].shape)} in the file, {tuple(expected[key].shape)} in the model")
    return "; ".join(parts) or None
