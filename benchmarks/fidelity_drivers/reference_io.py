"""What every fidelity driver shares: the request and answer files, the CPU patch, the shared weights, the
gradient gap, and the settings of a reference written as a script.

A driver runs one reference implementation (fetched outside this repository, benchmarks/references.md) on
the shared observation. It may patch only the reference's device and I/O, never its algorithm; every patch
it makes is named in `Run.patched` and lands in the benchmark row. Drivers run in the references' own
virtual environment with this checkout on PYTHONPATH (only to unpickle the shared model where a reference
takes a model object); they import nothing else of this project.
"""

import ast
import contextlib
import io
import sys
import time
from pathlib import Path

import torch
from torch import nn


class Run:
    """One driver run: the request, the patches made so far, the answer being built."""

    def __init__(self, request_path: str, answer_path: str):
        self.request = torch.load(request_path, weights_only=False)
        self.answer_path = answer_path
        self.patched: list[str] = []
        self.started = 0.0
        torch.set_num_threads(self.request["threads"])
        torch.manual_seed(self.request["seed"])
        sys.path.insert(0, str(self.request["reference"]))

    def patch(self, owner: object, name: str, value: object, why: str) -> None:
        """Replace `owner.name` (a device or I/O hook of the reference or of a library it calls) and record why."""
        setattr(owner, name, value)
        self.patched.append(why)

    def start(self) -> None:
        """Start the clock: what follows is the reference's attack."""
        self.started = time.perf_counter()

    def finish(self, images: torch.Tensor, labels: torch.Tensor | None, space: str, **extra: object) -> None:
        """Write the answer: images in `space` ("normalised" or "pixel"), labels, seconds since start(), extras."""
        answer = {
            "images": images.detach().float().cpu(),
            "labels": None if labels is None else labels.detach().cpu().long(),
            "space": space,
            "seconds": time.perf_counter() - self.started,
            "patched": list(dict.fromkeys(self.patched)),
            **extra,
        }
        torch.save(answer, self.answer_path)


def cpu_only(run: Run) -> None:
    """Make a CUDA-only reference run on the CPU: .cuda() is the identity and CUDA default tensors stay on the CPU."""
    run.patch(nn.Module, "cuda", lambda self, *args, **kwargs: self, "device: Module.cuda() kept on the CPU")
    run.patch(torch.Tensor, "cuda", lambda self, *args, **kwargs: self, "device: Tensor.cuda() kept on the CPU")
    run.patch(torch, "set_default_tensor_type", lambda *args: None, "device: CUDA default tensor type not set")
    run.patch(torch.cuda, "is_available", lambda: False, "device: torch.cuda.is_available() is False")


def load_parameters(model: nn.Module, parameters: list[torch.Tensor]) -> nn.Module:
    """Copy the shared parameters into a reference's own model, in `parameters()` order; shapes must agree."""
    own = list(model.parameters())
    shapes = [tuple(p.shape) for p in own], [tuple(p.shape) for p in parameters]
    if shapes[0] != shapes[1]:
        raise SystemExit(f"the reference's model has parameter shapes {shapes[0]}, the shared model {shapes[1]}")
    with torch.no_grad():
        for parameter, value in zip(own, parameters, strict=True):
            parameter.copy_(value)
    return model


def gradient_gap(model: nn.Module, run: Run, forward=None) -> float:
    """Largest difference between the reference model's cross-entropy gradient of the private batch and the
    shared gradient, relative to the largest shared entry (about 1e-7 when the models are the same function)."""
    request = run.request
    model.train(request["model_mode"] == "train")
    outputs = (forward or model)(request["images"])
    loss = nn.functional.cross_entropy(outputs, request["true_labels"])
    gradient = torch.autograd.grad(loss, [p for p in model.parameters() if p.requires_grad])
    shared = request["gradient"]
    gap = max(float((g - s).abs().max()) for g, s in zip(gradient, shared, strict=True))
    return gap / max(float(s.abs().max()) for s in shared)


def with_settings(path: Path, settings: dict, function: str | None = None):
    """The script at `path` compiled with the named settings (plain `name = value` assignments at the top level of
    `function`, or of the module) set to new values: a user's edit of the script's settings block, nothing else."""
    tree = ast.parse(path.read_text())
    body = tree.body
    if function is not None:
        body = next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == function).body
    found = set()
    for statement in body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
            if isinstance(target, ast.Name) and target.id in settings:
                statement.value = ast.copy_location(ast.Constant(settings[target.id]), statement.value)
                found.add(target.id)
    if found != set(settings):
        raise SystemExit(f"{path.name}: no setting named {sorted(set(settings) - found)}")
    return compile(tree, str(path), "exec")


def script_namespace(path: Path, settings: dict, function: str | None = None) -> dict:
    """Execute the script with its settings edited, not as __main__: its functions and globals, ready to patch."""
    namespace = {"__name__": "reference_script", "__file__": str(path)}
    exec(with_settings(path, settings, function), namespace)  # noqa: S102 - the fetched reference, on purpose
    return namespace


def shared_weights_init(run: Run, root: str):
    """A stand-in for a script's `weights_init` (applied with model.apply): when it reaches the root model (class
    name `root`) it loads the shared weights instead of drawing random ones."""

    def init(module: nn.Module) -> None:
        if type(module).__name__ == root:
            load_parameters(module, run.request["parameters"])

    return init


class RecordingLBFGS(torch.optim.LBFGS):
    """torch.optim.LBFGS unchanged, remembering the variables of every instance (a script's dummy images are
    locals of its loop; this is how the driver reads them)."""

    made: list[list[torch.Tensor]] = []
    made_at: list[float] = []  # perf_counter() at each construction

    def __init__(self, params, *args, **kwargs):
        params = list(params)
        RecordingLBFGS.made.append(params)
        RecordingLBFGS.made_at.append(time.perf_counter())
        super().__init__(params, *args, **kwargs)


@contextlib.contextmanager
def captured_stdout():
    """The reference's printed lines (some report their result only there), kept in a StringIO."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        yield buffer


class WithEmbedding(nn.Module):
    """The shared model with the interface a Cocktail Party Attack implementation expects of it: forward(x,
    return_z=True) also returns the input of the attacked linear layer, `attack_index` is that layer's weight
    among the parameters, `model_type` its kind. Parameters are the wrapped model's, in the same order."""

    def __init__(self, model: nn.Module, layer: str, model_type: str):
        super().__init__()
        self.model = model
        self.layer = dict(model.named_modules())[layer]
        names = [name for name, _ in model.named_parameters()]
        self.attack_index = names.index(f"{layer}.weight")
        self.model_type = model_type
        self.pretrained = True

    def forward(self, x: torch.Tensor, return_z: bool = False):
        seen = []
        handle = self.layer.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0]))
        try:
            output = self.model(x)
        finally:
            handle.remove()
        return (output, seen[0].flatten(1)) if return_z else output
