"""Model registry: every model is built for the dataset's channels, image size and class count."""

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from models.resnet import resnet18, resnet20
from models.simple import cnn, fc2, lenet, lenet5, mlp
from models.vgg import vgg16
from utils.errors import UsageError

MODELS: dict[str, Callable[[int, tuple[int, int], int], nn.Module]] = {
    "mlp": mlp,
    "fc2": fc2,
    "lenet": lenet,
    "lenet5": lenet5,
    "cnn": cnn,
    "resnet18": resnet18,
    "resnet20": resnet20,
    "vgg16": vgg16,
}


def build_model(name: str, channels: int, image_size: tuple[int, int], num_classes: int) -> nn.Module:
    """Build a registered model by name; an unknown name lists the known ones."""
    if name not in MODELS:
        raise UsageError(f"--model {name!r} is unknown; choose one of: {', '.join(MODELS)}")
    return MODELS[name](channels, image_size, num_classes)


def load_pretrained(model: nn.Module, path: str | Path) -> nn.Module:
    """Load a state dict (optionally wrapped in {'state_dict': ...} with 'module.' prefixes)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise UsageError(f"--pretrained {path}: no such file")
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else checkpoint
    state = {key.removeprefix("module."): value for key, value in state.items()}
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        first = str(error).strip().splitlines()[0]
        raise UsageError(f"--pretrained {path} does not fit this --model: {first}") from error
    return model
