"""Run one breaching 0.1.2 attack on a given gradient, inside breaching's own virtual environment.

Started by benchmarks/cases_breaching.py with the interpreter of benchmarks/breaching_env.py; it imports
nothing of this project. Usage: python breaching_driver.py REQUEST.pt ANSWER.pt. The request holds the
model's parameters (in `model.parameters()` order), the shared gradient, the true batch (only to check
that breaching's model computes the same gradient), labels to hand over or None, the normalisation and
the iteration count; the answer holds the reconstruction (normalised space), the attack's wall time and
how many objective evaluations (closure calls) it made.
"""

import sys
import time

import breaching
import torch
from omegaconf import OmegaConf


def build_model(request: dict) -> tuple[torch.nn.Module, torch.nn.Module, object]:
    """breaching's own model for `request["model"]` carrying the request's parameters, its loss and config."""
    overrides = ["case=1_single_image_small", f"attack={request['attack']}", f"case.model={request['model']}"]
    overrides.append(f"attack.optim.max_iterations={request['iterations']}")
    cfg = breaching.get_config(overrides=overrides)
    model, loss_fn = breaching.cases.construct_model(cfg.case.model, cfg.case.data, pretrained=False)
    parameters = list(model.parameters())
    given = request["parameters"]
    shapes = [tuple(p.shape) for p in parameters], [tuple(p.shape) for p in given]
    if shapes[0] != shapes[1]:
        raise SystemExit(f"breaching's {request['model']} has parameter shapes {shapes[0]}, ours {shapes[1]}")
    with torch.no_grad():
        for parameter, value in zip(parameters, given, strict=True):
            parameter.copy_(value)
    return model, loss_fn, cfg


def gradient_gap(model: torch.nn.Module, loss_fn: torch.nn.Module, request: dict) -> float:
    """Largest difference between breaching's gradient of the true batch and the shared one, relative to the
    largest shared entry: near 1e-7 when the two models are the same function."""
    probe = model.train(request["model_mode"] == "train")
    loss = loss_fn(probe(request["images"]), request["true_labels"])
    gradient = torch.autograd.grad(loss, list(probe.parameters()))
    gap = max(float((g - s).abs().max()) for g, s in zip(gradient, request["gradient"], strict=True))
    return gap / max(float(s.abs().max()) for s in request["gradient"])


def count_evaluations(attacker: object) -> list[int]:
    """Wrap the attacker's objective closure so every evaluation (L-BFGS calls it several times a step)
    is counted; the returned one-element list holds the count."""
    count = [0]
    make_closure = attacker._compute_objective

    def counted(*args: object, **kwargs: object):
        closure = make_closure(*args, **kwargs)

        def evaluate():
            count[0] += 1
            return closure()

        return evaluate

    attacker._compute_objective = counted
    return count


def main(request_path: str, answer_path: str) -> None:
    request = torch.load(request_path, weights_only=False)
    torch.set_num_threads(request["threads"])
    torch.manual_seed(request["seed"])
    model, loss_fn, cfg = build_model(request)
    gap = gradient_gap(model, loss_fn, request)
    metadata = OmegaConf.to_container(cfg.case.data)
    metadata.update(mean=list(request["mean"]), std=list(request["std"]))
    # No buffers from the server or the user: breaching then attacks in training mode (batch statistics).
    payload = dict(parameters=request["parameters"], buffers=None, metadata=OmegaConf.create(metadata))
    labels = request["labels"]
    shared = dict(
        gradients=list(request["gradient"]),
        buffers=None,
        metadata=dict(num_data_points=len(request["images"]), labels=labels, local_hyperparams=None),
    )
    setup = dict(device=torch.device("cpu"), dtype=torch.float)
    attacker = breaching.attacks.prepare_attack(model, loss_fn, cfg.attack, setup)
    evaluations = count_evaluations(attacker)
    started = time.perf_counter()
    reconstruction, _ = attacker.reconstruct([payload], [shared], {}, dryrun=False)
    seconds = time.perf_counter() - started
    answer = dict(
        images=reconstruction["data"].detach(),
        labels=reconstruction["labels"].detach(),
        seconds=seconds,
        evaluations=evaluations[0],
        gradient_gap=gap,
        optimizer=str(OmegaConf.to_container(cfg.attack.optim)),
    )
    torch.save(answer, answer_path)


if __name__ == "__main__":
    main(*sys.argv[1:])
