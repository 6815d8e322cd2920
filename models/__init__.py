"""Model registry: the names (torch-free, for --help) and where each builder lives; building, checking and
loading (models/registry.py) load on first use (`from fedprivacy.models import build_model` works as usual)."""

from importlib import import_module

BUILDERS = {  # --model name: the module of this package that defines a builder of that name
    "mlp": "simple",
    "fc2": "simple",
    "lenet": "simple",
    "lenet5": "simple",
    "cnn": "simple",
    "resnet18": "resnet",
    "resnet20": "resnet",
    "vgg16": "vgg",
}
FULLY_CONNECTED = ("mlp", "fc2")  # first layer linear on the flattened image: what it sees is the image itself
LAZY = ("MODELS", "MODEL_COPIES", "build_model", "check_runs", "load_pretrained", "state_dict_mismatch")


def __getattr__(name: str) -> object:
    """The registry's functions and tables, imported (with torch) when first asked for."""
    if name not in LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.registry"), name)


__all__ = ["BUILDERS", "FULLY_CONNECTED", *LAZY]
