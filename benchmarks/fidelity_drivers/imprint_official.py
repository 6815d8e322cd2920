"""Fidelity driver for Robbing the Fed as published in breaching (JonasGeiping/breaching): its ImprintBlock in
front of the shared base model, its ImprintAttacker on the client's gradient, as its
minimal_example_robbing_the_fed.py wires them. Usage: python imprint_official.py REQUEST.pt ANSWER.pt.

The malicious block is the attack, so each implementation puts its own in front of the same base model and the
same private batch; the client's gradient is computed here through breaching's block (the gradient gap checks
the base model against the shared one). Nothing is patched: the attacker runs on the CPU as `setup`.
"""

import sys
from collections import namedtuple

import torch
from reference_io import Run, gradient_gap


def attack_config():
    """The attack config of its minimal example (its config/attack/imprint.yaml, as attributes)."""
    impl = namedtuple("impl", ["dtype", "mixed_precision", "JIT"])("float", False, "")
    fields = dict(type="analytic", attack_type="imprint-readout", label_strategy=None, normalize_gradients=False)
    fields |= dict(sort_by_bias=False, text_strategy="no-preprocessing", token_strategy="decoder-bias")
    fields |= dict(token_recovery="from-limited-embedding", breach_reduction="weight", breach_padding=True, impl=impl)
    return type("attack_cfg", (), fields)


def main(request_path: str, answer_path: str) -> None:
    run = Run(request_path, answer_path)
    from breaching.attacks.analytic_attack import ImprintAttacker
    from breaching.cases.malicious_modifications.imprint import ImprintBlock

    request = run.request
    base = request["model"]
    gap = gradient_gap(base, run)
    shape = tuple(request["images"].shape[1:])
    mean, std = request["normalization"]
    metadata = type("data_cfg", (), dict(modality="vision", shape=shape, mean=mean, std=std, normalize=True))
    metadata.classes = request["num_classes"]
    setup = dict(device=torch.device("cpu"), dtype=torch.float)
    run.start()
    block = ImprintBlock(shape, num_bins=request["settings"]["bins"])
    model = torch.nn.Sequential(block, base)
    secrets = {"ImprintBlock": dict(weight_idx=0, bias_idx=1, shape=shape, structure=block.structure)}
    loss_fn = torch.nn.CrossEntropyLoss()
    attacker = ImprintAttacker(model, loss_fn, attack_config(), setup)
    payload = [dict(parameters=list(model.parameters()), buffers=list(model.buffers()), metadata=metadata)]
    loss = loss_fn(model(request["images"]), request["true_labels"])
    shared = dict(gradients=torch.autograd.grad(loss, model.parameters()), buffers=None)
    shared["metadata"] = dict(num_data_points=len(request["images"]), labels=None, local_hyperparams=None)
    reconstruction, _ = attacker.reconstruct(payload, [shared], secrets, dryrun=False)
    run.finish(reconstruction["data"], None, "normalised", gradient_gap=gap, iterations=1)


if __name__ == "__main__":
    main(*sys.argv[1:])
