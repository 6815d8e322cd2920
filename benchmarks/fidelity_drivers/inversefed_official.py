"""Fidelity driver for Inverting Gradients' official code (JonasGeiping/invertinggradients, the inversefed
library): GradientReconstructor for a gradient, FedAvgReconstructor for a weight update, as its notebooks call
them. Usage: python inversefed_official.py REQUEST.pt ANSWER.pt.

inversefed takes the model, (mean, std), a config dict and the target as arguments, so nothing is patched; it
attacks the shared model object on the CPU. Its update convention is trained minus broadcast weights, the
update as shared; labels are given where its notebook gives them (a weight update), else left to its own
iDLG rule (a gradient of one image).
"""

import sys

import torch
from reference_io import Run, gradient_gap


def main(request_path: str, answer_path: str) -> None:
    run = Run(request_path, answer_path)
    import inversefed

    request, settings = run.request, run.request["settings"]
    model = request["model"]
    gap = gradient_gap(model, run)
    mean, std = (torch.tensor(v)[:, None, None] for v in request["normalization"])
    config = dict(inversefed.reconstruction_algorithms.DEFAULT_CONFIG)
    config.update(settings["config"])
    shape = tuple(request["images"].shape[1:])
    count = len(request["images"])
    labels = request["true_labels"] if settings["labels_given"] else None
    if request["update"] is None:
        attacker = inversefed.GradientReconstructor(model, (mean, std), config, num_images=count)
        target = list(request["gradient"])
    else:
        local = request["local"]
        attacker = inversefed.FedAvgReconstructor(
            model, (mean, std), local["steps"], local["lr"], config, num_images=count, use_updates=True
        )
        target = list(request["update"])
    run.start()
    images, _ = attacker.reconstruct(target, labels, img_shape=shape)
    if labels is None and not attacker.reconstruct_label:  # its iDLG rule chose the label
        labels = torch.argmin(torch.sum(target[-2], dim=-1), dim=-1).reshape(1)
    run.finish(images, labels, "normalised", gradient_gap=gap, iterations=config["max_iterations"])


if __name__ == "__main__":
    main(*sys.argv[1:])
