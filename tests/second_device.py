"""A second device on the CPU, for tests: tensors that say they live elsewhere, so code that mixes them with
tensors it made on the CPU fails here as it would on CUDA, on a machine without a GPU.

An `Elsewhere` tensor wraps a CPU tensor and reports the device DEVICE. Every op runs on the wrapped CPU
tensors, so the numbers are bit-identical to a CPU run. As on CUDA, an op that mixes an Elsewhere tensor with
a CPU tensor of one or more dimensions raises (a 0-dim CPU tensor, a CPU index and a cross-device copy_ are
allowed, as CUDA allows them); so do `.numpy()` of an Elsewhere tensor and a CPU generator drawing on DEVICE.
Factories given device=DEVICE and `.to(DEVICE)` make Elsewhere tensors, `.cpu()` unwraps them.
"""

import contextlib
from collections.abc import Iterator

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten, tree_map

DEVICE = torch.device("meta")  # what Elsewhere tensors report; their data stays on the CPU
CROSS_DEVICE = {  # ops that CUDA runs with a CPU tensor among their inputs (beside 0-dim ones)
    torch.ops.aten.copy_.default,
    torch.ops.aten._to_copy.default,
    torch.ops.aten.index.Tensor,
    torch.ops.aten.index_put_.default,
    torch.ops.aten.index_put.default,
}


class Elsewhere(torch.Tensor):
    """A CPU tensor (`inner`) that reports DEVICE."""

    @staticmethod
    def __new__(cls, inner: torch.Tensor) -> "Elsewhere":
        return torch.Tensor._make_wrapper_subclass(
            cls,
            inner.shape,
            strides=inner.stride(),
            storage_offset=inner.storage_offset(),
            dtype=inner.dtype,
            device=DEVICE,
            requires_grad=inner.requires_grad,
        )

    def __init__(self, inner: torch.Tensor) -> None:
        self.inner = inner

    def __repr__(self) -> str:
        return f"Elsewhere({self.inner!r})"

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        with SecondDevice():
            return func(*args, **(kwargs or {}))


def unwrap(value):
    return value.inner if isinstance(value, Elsewhere) else value


def wrap(value):
    return Elsewhere(value) if isinstance(value, torch.Tensor) and not isinstance(value, Elsewhere) else value


def targets_device(kwargs: dict) -> bool:
    return kwargs.get("device") is not None and torch.device(kwargs["device"]) == DEVICE


class SecondDevice(TorchDispatchMode):
    """Runs every op on the wrapped CPU tensors and refuses the mixes CUDA refuses."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        tensors = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
        elsewhere = any(isinstance(t, Elsewhere) for t in tensors)
        if elsewhere and func not in CROSS_DEVICE:
            stray = [t for t in tensors if not isinstance(t, Elsewhere) and t.dim() > 0]
            if stray:
                raise RuntimeError(
                    f"{func}: a CPU tensor of shape {tuple(stray[0].shape)} meets tensors on the second device"
                )
        made_there = targets_device(kwargs)
        if made_there and kwargs.get("generator") is not None and kwargs["generator"].device.type == "cpu":
            raise RuntimeError(f"{func}: a CPU generator cannot draw tensors on the second device")
        if made_there:
            kwargs = {**kwargs, "device": torch.device("cpu")}
        moved_off = elsewhere and kwargs.get("device") is not None and not made_there  # .cpu()
        out = func(*tree_map(unwrap, args), **tree_map(unwrap, kwargs))
        if func._schema.name.endswith("_") and args and isinstance(args[0], torch.Tensor):
            return args[0]  # in place: the same (wrapped or plain) tensor
        return tree_map(wrap, out) if (elsewhere or made_there) and not moved_off else out


class Factories(TorchFunctionMode):
    """The Python-level calls the dispatcher does not see: torch.tensor / as_tensor onto DEVICE, and
    `.tolist()` / `.numpy()` of an Elsewhere tensor."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in (torch.tensor, torch.as_tensor) and targets_device(kwargs):
            made = func(*args, **{**kwargs, "device": "cpu"})
            with SecondDevice():
                return made.to(DEVICE)
        if func is torch.Tensor.tolist and isinstance(args[0], Elsewhere):
            return args[0].inner.tolist()
        if func is torch.Tensor.numpy and isinstance(args[0], Elsewhere):
            raise TypeError("can't convert a tensor on the second device to numpy; use .cpu() first")
        return func(*args, **kwargs)


@contextlib.contextmanager
def second_device() -> Iterator[torch.device]:
    """Within this block DEVICE is a second device; yields it."""
    with Factories(), SecondDevice():
        yield DEVICE
